/**
 * SFU overhead (issue 7, benchmark 2): server CPU per forwarded packet for a 32-person voice call
 * and an 8-person video call, callwire's SFU against a bare mediasoup relay (bench/bare-relay/)
 * loaded by the same bots in the same run, so callwire's own cost is a ratio; then how many audio
 * consumers a core forwards while the server loses < 0.5 % of packets.
 *
 *   sh scripts/netns.sh npx tsx bench/sfu-overhead.ts
 *   sh scripts/netns.sh npx tsx bench/sfu-overhead.ts --duration 20 --capacity 8,16,24,32,2x32 --json
 *
 * Both servers run in this process, one after the other, on one mediasoup worker each (the same
 * binary, the same router codecs); callwire with top-K off (SFU_TOP_K_THRESHOLD=1000) so both
 * forward every stream to everyone. The bots run in child processes (bench/bots/, niced), decode
 * no audio (the server's work is the same; wrtc cannot decode ~1000 streams on two cores), and
 * join 100 ms apart. Measured over the window (after everyone is consuming and 2 s of settling):
 * the worker's CPU (getResourceUsage), this process's CPU (the server's Node side; the bench's
 * own work in the window is a timer), and from mediasoup's statistics the packets every consumer
 * sent and every producer received. Server-side loss is what the server lost itself: RTP
 * sequence gaps the producers saw (on loopback a sender's packets can only be lost in the
 * server's receive buffer: the kernel's drop counter on the worker's UDP socket is shown beside
 * it, RTCP included) plus packets a consumer failed to forward that its siblings (other consumers
 * of the same producer) did forward. Not loss: the ~1 % padding-only RTP packets libwebrtc sends
 * and mediasoup never forwards. Each pair of runs is repeated (--rounds) in alternating order.
 * Loopback only (run it inside scripts/netns.sh); at most 64 bots; each run ≤ 60 s.
 */
import { randomInt } from 'node:crypto';
import { CallwireServer } from '../server/src/CallwireServer.ts';
import { loadConfig } from '../server/src/config.ts';
import type { BotSpec, FleetStartResult } from './bots/BotFleet.ts';
import { ProcSampler } from './bots/ProcSampler.ts';
import { BareRelay } from './bare-relay/BareRelay.ts';
import { BotProcesses } from './bots/BotProcesses.ts';
import { loadMediasoup } from './bare-relay/loadMediasoup.ts';
import { MediasoupCensus, type CensusDelta } from './bare-relay/MediasoupCensus.ts';

const LIMITS = { bots: 64, roomBots: 32, videoBots: 8, durationS: [5, 45], rampMs: 1_000 } as const;
const VIDEO = { width: 320, height: 240, fps: 15 };
/** After every consumer exists: video keyframes, transport-cc and the join burst settle. */
const SETTLE_MS = 2_000;
/** How long the consumers may take to appear after the bots report publishing. */
const CONSUMERS_WAIT_MS = 10_000;
/** The loss bound of the capacity search. */
const MAX_LOSS = 0.005;
/** Hard stop for the whole bench, whatever happens. */
const DEADLINE_MS = 12 * 60_000;

type Target = 'callwire' | 'bare';

interface Step {
  rooms: number;
  bots: number;
}

interface Options {
  voice: number;
  video: number;
  durationS: number;
  rampMs: number;
  /** Rounds of the callwire/bare pairs, alternating which goes first; 0: no comparison. */
  rounds: number;
  /** Voice-room sizes of the capacity search (rooms × bots), in order; empty: skip it. */
  capacity: Step[];
  capacityServer: Target;
  json: boolean;
}

const USAGE = `Usage: sh scripts/netns.sh npx tsx bench/sfu-overhead.ts [options]

  --voice N            people in the voice call, 3–${LIMITS.roomBots} (default 32)
  --video N            people in the video call (all with a VP8 ${VIDEO.width}x${VIDEO.height}@${VIDEO.fps} camera), 3–${LIMITS.videoBots} (default 8)
  --duration S         seconds measured per run, ${LIMITS.durationS[0]}–${LIMITS.durationS[1]} (default 20)
  --ramp MS            delay between two joins, 0–${LIMITS.rampMs} (default 100)
  --rounds N           callwire/bare pairs per call, 0–3, alternating which goes first (default 2;
                       0 skips the comparison and runs only the capacity search)
  --capacity LIST      voice configurations of the capacity search, smallest first, as N or RxN
                       (R rooms of N; R×N ≤ ${LIMITS.bots}), or "none" (default 8,16,24,32,2x24,2x32);
                       it stops after the first one at or above ${MAX_LOSS * 100} % server-side loss
  --capacity-server S  callwire (top-K off) or bare (default callwire)
  --json               print one JSON document (the tables go to stderr)
`;

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    voice: 32,
    video: 8,
    durationS: 20,
    rampMs: 100,
    rounds: 2,
    capacity: [8, 16, 24, 32]
      .map((bots) => ({ rooms: 1, bots }))
      .concat([
        { rooms: 2, bots: 24 },
        { rooms: 2, bots: 32 },
      ]),
    capacityServer: 'callwire',
    json: false,
  };
  const int = (name: string, v: string | undefined, min: number, max: number): number => {
    if (v === undefined || !/^\d+$/.test(v)) throw new UsageError(`${name} needs a whole number (got ${v ?? 'nothing'})`);
    const n = Number(v);
    if (n < min || n > max) throw new UsageError(`${name} must be ${min}–${max} (got ${n})`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--voice':
        o.voice = int(flag, value(), 3, LIMITS.roomBots);
        break;
      case '--video':
        o.video = int(flag, value(), 3, LIMITS.videoBots);
        break;
      case '--duration':
        o.durationS = int(flag, value(), LIMITS.durationS[0], LIMITS.durationS[1]);
        break;
      case '--ramp':
        o.rampMs = int(flag, value(), 0, LIMITS.rampMs);
        break;
      case '--rounds':
        o.rounds = int(flag, value(), 0, 3);
        break;
      case '--capacity':
        o.capacity = parseSteps(value());
        break;
      case '--capacity-server': {
        const v = value();
        if (v !== 'callwire' && v !== 'bare') throw new UsageError(`--capacity-server must be callwire or bare (got ${v ?? 'nothing'})`);
        o.capacityServer = v;
        break;
      }
      case '--json':
        o.json = true;
        break;
      case '-h':
      case '--help':
        console.log(USAGE);
        return process.exit(0);
      default:
        throw new UsageError(`unknown option ${a}`);
    }
  }
  return o;
}

function parseSteps(v: string | undefined): Step[] {
  if (v === 'none') return [];
  if (!v) throw new UsageError('--capacity needs a list such as 8,16,24,32,2x32, or none');
  return v.split(',').map((item) => {
    const m = /^(?:(\d+)x)?(\d+)$/.exec(item.trim());
    if (!m) throw new UsageError(`--capacity: "${item}" is not N or RxN`);
    const step = { rooms: Number(m[1] ?? 1), bots: Number(m[2]) };
    if (step.bots < 3 || step.bots > LIMITS.roomBots) throw new UsageError(`--capacity: rooms hold 3–${LIMITS.roomBots} bots (got ${step.bots})`);
    if (step.rooms < 1 || step.rooms * step.bots > LIMITS.bots) throw new UsageError(`--capacity: ${item} is more than ${LIMITS.bots} bots`);
    return step;
  });
}

interface RunPlan {
  label: string;
  target: Target;
  rooms: number;
  /** Bots per room; the first `video` of each room also send a camera. */
  bots: number;
  video: number;
}

interface RunResult {
  /** Order of the run in the bench. */
  index: number;
  plan: RunPlan;
  rtcPort: number;
  start: FleetStartResult;
  consumersExpected: number;
  consumersFound: number;
  delta: CensusDelta;
  /** Peak of the worker's per-second CPU in the window, % of a core. */
  workerMaxPct: number;
  /** The bot processes' CPU in the window, % of a core each. */
  botCpuPct: number[];
  botErrors: string[];
  derived: Derived;
}

interface Derived {
  /** Consumers (audio + video) found in both snapshots. */
  consumers: number;
  forwardedPerS: number;
  /** Forwarded kilobytes per second (RTP, as mediasoup counts them). */
  forwardedKBps: number;
  workerPct: number;
  nodePct: number;
  workerUsPerPacket: number;
  nodeUsPerPacket: number;
  totalUsPerPacket: number;
  /** Packets per second the kernel dropped on the server's UDP socket (RTP and RTCP). */
  socketDropsPerS: number;
  /** Share of the forwarded packets by which consumers fell behind their siblings (MediasoupCensus). */
  forwardShortfallPct: number;
  /** Share of the producers' packets mediasoup did not forward by design (padding-only RTP). */
  notForwardedPct: number;
  /** RTP sequence gaps the producers saw: lost before mediasoup read them (loopback: in the server's socket). */
  inboundGapPct: number;
  /** Server-side loss: inbound gaps, then forwarding shortfall. */
  serverLossPct: number;
}

function derive(d: CensusDelta): Derived {
  const forwarded = (d.audio.forwarded + d.video.forwarded) * d.packetScale;
  const sent = d.audio.forwarded + d.video.forwarded;
  const expected = d.audio.expected + d.video.expected;
  const shortfall = sent > 0 ? (d.audio.shortfall + d.video.shortfall) / (sent + d.audio.shortfall + d.video.shortfall) : 0;
  const gaps = d.received + d.lost > 0 ? Math.max(0, d.lost) / (d.received + d.lost) : 0;
  const per = (us: number) => (forwarded > 0 ? us / forwarded : NaN);
  return {
    consumers: d.audio.consumers + d.video.consumers,
    forwardedPerS: forwarded / d.cpuSeconds,
    forwardedKBps: ((d.audio.bytes + d.video.bytes) * d.packetScale) / 1000 / d.cpuSeconds,
    workerPct: (100 * d.workerCpuUs) / 1e6 / d.cpuSeconds,
    nodePct: (100 * d.nodeCpuUs) / 1e6 / d.cpuSeconds,
    workerUsPerPacket: per(d.workerCpuUs),
    nodeUsPerPacket: per(d.nodeCpuUs),
    totalUsPerPacket: per(d.workerCpuUs + d.nodeCpuUs),
    socketDropsPerS: d.udpDrops / d.cpuSeconds,
    forwardShortfallPct: 100 * shortfall,
    notForwardedPct: expected > 0 ? 100 * Math.max(0, 1 - sent / expected) : 0,
    inboundGapPct: 100 * gaps,
    serverLossPct: 100 * (1 - (1 - gaps) * (1 - shortfall)),
  };
}

/** Distinct media ports per run (a fresh server each time): callwire ≥ 45000, the bare relay ≥ 46000. */
const portBase = 2 * randomInt(0, 400);
let runCounter = 0;

async function run(plan: RunPlan, options: Options, census: MediasoupCensus, log: (m: string) => void): Promise<RunResult> {
  const n = runCounter++;
  const rtcPort = (plan.target === 'callwire' ? 45_000 : 46_000) + portBase + n;
  const server = await startServer(plan.target, rtcPort);
  let bots: BotProcesses | null = null;
  let sampler: ProcSampler | null = null;
  try {
    const specs: BotSpec[] = [];
    for (let r = 0; r < plan.rooms; r++) {
      const roomId = `ovh-${n}-${r + 1}-${randomInt(1e6)}`;
      for (let i = 0; i < plan.bots; i++) {
        specs.push({
          roomId,
          name: `Bot ${r + 1}-${i + 1}`,
          seed: specs.length + 1,
          mode: 'sfu',
          relay: null,
          video: i < plan.video,
          decode: false,
          startAtMs: specs.length * options.rampMs,
        });
      }
    }
    const procs = Math.min(4, Math.max(2, Math.ceil(specs.length / 16)));
    bots = new BotProcesses(server.url, specs, procs, VIDEO, 30_000 + specs.length * options.rampMs);
    const b = bots;
    const workerPids = () => [...census.workers].map((w) => w.pid);
    sampler = new ProcSampler(() => ({ worker: workerPids()[0] ?? null, ...Object.fromEntries(b.pids.map((pid, i) => [`bots ${i + 1}`, pid])) }));
    log(`${plan.label} on ${plan.target}: ${specs.length} bots joining …`);
    const start = await bots.start();
    const consumersExpected = plan.rooms * (plan.bots * (plan.bots - 1) + plan.video * (plan.bots - 1));
    const deadline = performance.now() + CONSUMERS_WAIT_MS;
    while (census.consumers.size < consumersExpected && performance.now() < deadline) await sleep(100);
    const consumersFound = census.consumers.size;
    await sleep(SETTLE_MS);
    sampler.start(1_000);
    const from = sampler.now();
    const a = await census.snapshot([rtcPort]);
    await sleep(options.durationS * 1000);
    const z = await census.snapshot([rtcPort]);
    sampler.sample();
    const summary = sampler.summary(from, sampler.now() + 1);
    const stats = await bots.stop();
    const delta = MediasoupCensus.delta(a, z);
    const result: RunResult = {
      index: n,
      plan,
      rtcPort,
      start,
      consumersExpected,
      consumersFound,
      delta,
      workerMaxPct: summary.find((s) => s.label === 'worker')?.cpuMaxPct ?? 0,
      botCpuPct: summary.filter((s) => s.label.startsWith('bots')).map((s) => s.cpuAvgPct),
      botErrors: stats.flatMap((s) => s.errors.map((e) => `${s.name}: ${e}`)),
      derived: derive(delta),
    };
    const d = result.derived;
    log(
      `  ${d.consumers} consumers, ${Math.round(d.forwardedPerS)} pkt/s, worker ${d.workerPct.toFixed(1)} %, node ${d.nodePct.toFixed(1)} %, ` +
        `${d.workerUsPerPacket.toFixed(2)} + ${d.nodeUsPerPacket.toFixed(2)} µs/pkt, server loss ${d.serverLossPct.toFixed(3)} %`,
    );
    return result;
  } finally {
    sampler?.close();
    await bots?.close();
    await server.close();
    // Let the closed worker go before the next server's is counted.
    await sleep(500);
  }
}

async function startServer(target: Target, rtcPort: number): Promise<{ url: string; close(): Promise<void> }> {
  if (target === 'bare') return BareRelay.start({ rtcPort });
  const server = new CallwireServer(
    loadConfig({
      LOG_LEVEL: 'warn',
      DATA_DIR: ':memory:',
      PORT: '0',
      HOST: '127.0.0.1',
      TURN_ENABLED: 'false',
      SFU_ENABLED: 'true',
      SFU_WORKERS: '1',
      SFU_RTC_PORT: String(rtcPort),
      // wrtc bots cannot encrypt frames; the SFU forwards ciphertext at the same cost (docs/e2ee.md).
      E2EE: 'off',
      // Top-K off: forward every voice to everyone, as the bare relay does.
      SFU_TOP_K_THRESHOLD: '1000',
    }),
  );
  await server.start();
  if (!server.sfu) {
    await server.close();
    throw new Error('callwire: the SFU did not start');
  }
  return server;
}

/** Several runs of one server taken together: CPU and packets summed before dividing. */
interface Pooled {
  forwardedPerS: number;
  workerPct: number;
  nodePct: number;
  workerUsPerPacket: number;
  nodeUsPerPacket: number;
  totalUsPerPacket: number;
}

function pool(runs: RunResult[]): Pooled {
  let seconds = 0;
  let worker = 0;
  let node = 0;
  let packets = 0;
  for (const { delta: d } of runs) {
    seconds += d.cpuSeconds;
    worker += d.workerCpuUs;
    node += d.nodeCpuUs;
    packets += (d.audio.forwarded + d.video.forwarded) * d.packetScale;
  }
  return {
    forwardedPerS: packets / seconds,
    workerPct: (100 * worker) / 1e6 / seconds,
    nodePct: (100 * node) / 1e6 / seconds,
    workerUsPerPacket: worker / packets,
    nodeUsPerPacket: node / packets,
    totalUsPerPacket: (worker + node) / packets,
  };
}

interface Report {
  options: Options;
  machine: { cpus: number };
  overhead: {
    call: string;
    callwire: RunResult[];
    bare: RunResult[];
    pooled: Record<Target, Pooled>;
    ratio: { worker: number; node: number; total: number };
  }[];
  capacity: {
    server: Target;
    runs: RunResult[];
    best: { label: string; consumers: number; workerPct: number; consumersPerCore: number; serverLossPct: number } | null;
  };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const log = (m: string) => console.error(m);
  const watchdog = setTimeout(() => {
    log(`sfu-overhead exceeded ${DEADLINE_MS / 60_000} min; stopping`);
    process.exit(1);
  }, DEADLINE_MS);
  watchdog.unref();

  const census = new MediasoupCensus(await loadMediasoup());
  try {
    const report: Report = {
      options,
      machine: { cpus: (await import('node:os')).availableParallelism() },
      overhead: [],
      capacity: { server: options.capacityServer, runs: [], best: null },
    };
    const calls: { call: string; bots: number; video: number }[] = [
      { call: `${options.voice}-person voice call`, bots: options.voice, video: 0 },
      { call: `${options.video}-person video call`, bots: options.video, video: options.video },
    ];
    for (const c of options.rounds > 0 ? calls : []) {
      const results: Record<Target, RunResult[]> = { callwire: [], bare: [] };
      for (let round = 0; round < options.rounds; round++) {
        // ABBA: a machine that gets busier or quieter during the bench favours neither server.
        const order: Target[] = round % 2 === 0 ? ['callwire', 'bare'] : ['bare', 'callwire'];
        for (const target of order) results[target].push(await run({ label: c.call, target, rooms: 1, bots: c.bots, video: c.video }, options, census, log));
      }
      const pooled = { callwire: pool(results.callwire), bare: pool(results.bare) };
      const cw = pooled.callwire;
      const bare = pooled.bare;
      report.overhead.push({
        call: c.call,
        ...results,
        pooled,
        ratio: {
          worker: cw.workerUsPerPacket / bare.workerUsPerPacket,
          node: cw.nodeUsPerPacket / bare.nodeUsPerPacket,
          total: cw.totalUsPerPacket / bare.totalUsPerPacket,
        },
      });
    }
    for (const step of options.capacity) {
      const label = step.rooms > 1 ? `${step.rooms}×${step.bots} voice` : `${step.bots} voice`;
      const r = await run({ label, target: options.capacityServer, rooms: step.rooms, bots: step.bots, video: 0 }, options, census, log);
      report.capacity.runs.push(r);
      const d = r.derived;
      if (d.serverLossPct >= MAX_LOSS * 100) break;
      report.capacity.best = {
        label,
        consumers: d.consumers,
        workerPct: d.workerPct,
        consumersPerCore: d.consumers / (d.workerPct / 100),
        serverLossPct: d.serverLossPct,
      };
    }
    if (options.json) {
      console.error(render(report));
      console.log(JSON.stringify(report, null, 2));
    } else {
      console.log(render(report));
    }
  } finally {
    census.close();
    clearTimeout(watchdog);
  }
}

function render(r: Report): string {
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
  const lines: string[] = [
    `SFU overhead: callwire (top-K off, 1 worker) vs a bare mediasoup relay, same bots, ${r.options.durationS} s each, ${r.machine.cpus} cores`,
    '',
  ];
  const row = (call: string, server: string, x: RunResult) => {
    const d = x.derived;
    return [
      call,
      server,
      `${d.consumers}/${x.consumersExpected}`,
      String(Math.round(d.forwardedPerS)),
      String(Math.round(d.forwardedKBps)),
      f(d.workerPct),
      f(d.nodePct),
      f(d.workerUsPerPacket, 2),
      f(d.nodeUsPerPacket, 2),
      f(d.totalUsPerPacket, 2),
      f(d.serverLossPct, 3),
      x.botCpuPct.map((p) => p.toFixed(0)).join('+'),
    ];
  };
  const rows: string[][] = [];
  const pooledRow = (call: string, server: string, p: Pooled) => [
    call,
    server,
    '',
    String(Math.round(p.forwardedPerS)),
    '',
    f(p.workerPct),
    f(p.nodePct),
    f(p.workerUsPerPacket, 2),
    f(p.nodeUsPerPacket, 2),
    f(p.totalUsPerPacket, 2),
    '',
    '',
  ];
  for (const o of r.overhead) {
    const runs = [...o.callwire.map((x) => ['callwire', x] as const), ...o.bare.map((x) => ['bare relay', x] as const)].sort((a, b) => a[1].index - b[1].index);
    for (const [name, x] of runs) rows.push(row(o.call, name, x));
    rows.push(pooledRow(o.call, 'callwire, all rounds', o.pooled.callwire), pooledRow(o.call, 'bare, all rounds', o.pooled.bare));
    rows.push([
      o.call,
      'callwire / bare',
      '',
      '',
      '',
      f(o.pooled.callwire.workerPct / o.pooled.bare.workerPct, 2) + '×',
      f(o.pooled.callwire.nodePct / o.pooled.bare.nodePct, 2) + '×',
      f(o.ratio.worker, 2) + '×',
      f(o.ratio.node, 2) + '×',
      f(o.ratio.total, 2) + '×',
      '',
      '',
    ]);
  }
  if (rows.length > 0)
    lines.push(
      ...table(
        [
          'call',
          'server',
          'consumers',
          'fwd pkt/s',
          'fwd kB/s',
          'worker CPU %',
          'Node CPU %',
          'worker µs/pkt',
          'Node µs/pkt',
          'total µs/pkt',
          'server loss %',
          'bots CPU %',
        ],
        rows,
      ),
      '',
    );
  if (r.capacity.runs.length > 0) {
    lines.push(`Audio consumers per core (${r.capacity.server}${r.capacity.server === 'callwire' ? ', top-K off' : ''}; loss bound ${MAX_LOSS * 100} %):`, '');
    lines.push(
      ...table(
        [
          'voice',
          'consumers',
          'fwd pkt/s',
          'worker CPU % avg/max',
          'Node CPU %',
          'inbound gaps %',
          'fwd shortfall %',
          'server loss %',
          'socket drops/s',
          'padding not fwd %',
          'consumers/core',
          'bots CPU %',
          'bot errors',
        ],
        r.capacity.runs.map((x) => {
          const d = x.derived;
          return [
            x.plan.rooms > 1 ? `${x.plan.rooms}×${x.plan.bots}` : String(x.plan.bots),
            `${d.consumers}/${x.consumersExpected}`,
            String(Math.round(d.forwardedPerS)),
            `${f(d.workerPct)} / ${f(x.workerMaxPct, 0)}`,
            f(d.nodePct),
            f(d.inboundGapPct, 3),
            f(d.forwardShortfallPct, 3),
            f(d.serverLossPct, 3),
            f(d.socketDropsPerS, 0),
            f(d.notForwardedPct, 2),
            String(Math.round(d.consumers / (d.workerPct / 100))),
            x.botCpuPct.map((p) => p.toFixed(0)).join('+'),
            String(x.botErrors.length),
          ];
        }),
      ),
      '',
    );
    const b = r.capacity.best;
    lines.push(
      b
        ? `largest configuration under ${MAX_LOSS * 100} % server-side loss: ${b.label}, ${b.consumers} audio consumers at ${f(b.workerPct)} % of a core → ~${Math.round(b.consumersPerCore)} audio consumers per core`
        : `no configuration stayed under ${MAX_LOSS * 100} % server-side loss`,
    );
  }
  const errors = [...r.overhead.flatMap((o) => [...o.callwire, ...o.bare].flatMap((x) => x.botErrors)), ...r.capacity.runs.flatMap((x) => x.botErrors)];
  if (errors.length) lines.push('', `bot errors (${errors.length}): ${errors.slice(0, 5).join('; ')}`);
  return lines.join('\n');
}

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

main().then(
  () => process.exit(0),
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`sfu-overhead: ${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    console.error(err);
    process.exit(1);
  },
);
