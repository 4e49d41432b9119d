/**
 * Bad networks for tests and benchmarks, made with nftables in the loopback-only namespace
 * (`scripts/netns.sh`): random loss and per-flow bandwidth caps on UDP (media, ICE, TURN).
 * Signaling (TCP) is left alone, as on a real lossy radio link where TCP retransmits.
 *
 * The rules sit on the `output` hook, which every loopback packet passes once per hop: in a P2P
 * call a packet is exposed once; through the SFU or a TURN relay, once per hop (sender → SFU,
 * SFU → receiver), as on two real access links.
 *
 * Delay and jitter need a userspace hop (netem is not in this kernel): see `ImpairedRelay`.
 * Refuses to run outside the namespace, so it can never impair the machine's own network.
 */
import { execFileSync } from 'node:child_process';

const TABLE = 'callwire_impair';

export class NetworkImpairment {
  #applied = false;

  constructor() {
    if (process.env['CALLWIRE_IN_NETNS'] !== '1') {
      throw new Error('NetworkImpairment only runs inside the loopback-only namespace (run through scripts/netns.sh)');
    }
  }

  /**
   * Replaces any impairment with this one. `lossPercent`: share of UDP datagrams dropped at
   * random on every hop (0–100). `rateKbps`: a cap per UDP flow (source and destination port
   * pair, i.e. per direction of each link); datagrams over it are dropped like a full queue.
   */
  apply(opts: { lossPercent?: number; rateKbps?: number; toPort?: number; fromPort?: number }): void {
    const loss = opts.lossPercent ?? 0;
    const rate = opts.rateKbps ?? 0;
    if (!Number.isInteger(loss) || loss < 0 || loss > 100) throw new RangeError(`lossPercent must be an integer 0–100, got ${loss}`);
    if (!Number.isInteger(rate) || rate < 0 || rate > 1_000_000) throw new RangeError(`rateKbps must be an integer 0–1000000, got ${rate}`);
    const rules: string[] = [];
    // Only one leg: datagrams to (or from) one port, e.g. the SFU's uplink or downlink.
    for (const p of [opts.toPort, opts.fromPort]) if (p !== undefined && (!Number.isInteger(p) || p < 1 || p > 65535)) throw new RangeError(`bad port ${p}`);
    const leg = opts.toPort ? `udp dport ${opts.toPort} ` : opts.fromPort ? `udp sport ${opts.fromPort} ` : 'meta l4proto udp ';
    if (loss > 0) rules.push(`add rule inet ${TABLE} out ${leg}numgen random mod 100 < ${loss} counter drop`);
    if (rate > 0) {
      // Per flow (a meter keyed by the port pair). The bucket holds 250 ms of traffic, like the
      // queue of a real bottleneck (which would delay rather than drop; nftables cannot delay).
      const bytesPerSecond = Math.max(1, Math.round((rate * 1000) / 8));
      const burst = Math.max(3_000, Math.round(bytesPerSecond / 4));
      rules.push(
        `add rule inet ${TABLE} out ${leg}meter ${TABLE}_rate size 4096 { udp sport . udp dport limit rate over ${bytesPerSecond} bytes/second burst ${burst} bytes } drop`,
      );
    }
    this.clear();
    if (rules.length === 0) return;
    this.#nft([`add table inet ${TABLE}`, `add chain inet ${TABLE} out { type filter hook output priority 0 ; policy accept ; }`, ...rules]);
    this.#applied = true;
  }

  /** Removes every rule this made (the network is clean again). */
  clear(): void {
    try {
      this.#nft([`delete table inet ${TABLE}`]);
    } catch {
      // There was no table.
    }
    this.#applied = false;
  }

  get applied(): boolean {
    return this.#applied;
  }

  #nft(lines: string[]): void {
    execFileSync('nft', ['-f', '-'], { input: lines.join('\n') + '\n', stdio: ['pipe', 'ignore', 'pipe'], timeout: 10_000 });
  }
}
