/**
 * The one hook end-to-end tests read the call model through (`window.callwire`), typed, so tests
 * never cast into the model's internals. Everything else they do by role and text, like a person.
 */
import type { FrameCounts } from './model/ports.ts';
import type { Room } from './model/Room.ts';
import { StatsSampler, type LinkStats } from './rtc/stats.ts';

export interface CallwireTestHook {
  /** The call on screen, if any. */
  readonly room: Room | null;
  /** `p2p` or `sfu` (null outside a call). */
  mode(): 'p2p' | 'sfu' | null;
  /** Our participant id in the call (null outside one). */
  selfId(): string | null;
  /** Remote participants still on a peer-to-peer link (0 once a group call is all on the SFU). */
  p2pLinks(): number;
  /** Audio packets received so far from each remote participant, by display name. */
  audioPackets(): Promise<Record<string, number>>;
  /** End-to-end encryption of the call on screen: on or off, the safety code, and frame counts (`decrypted` keyed by display name). */
  e2ee(): Promise<{ encrypted: boolean; safetyCode: string | null; counts: FrameCounts | null }>;
  /**
   * What we receive from each remote participant (by display name) since the previous call of
   * this: loss, concealment, freezes, frame rate, bitrates (the first call only starts the clock).
   */
  sampleQuality(): Promise<Record<string, LinkStats>>;
}

declare global {
  interface Window {
    callwire?: CallwireTestHook;
  }
}

export function installTestHook(current: () => Room | null): void {
  const samplers = new Map<string, StatsSampler>();
  window.callwire = {
    get room() {
      return current();
    },
    mode: () => current()?.info?.mode ?? null,
    selfId: () => current()?.self?.id ?? null,
    p2pLinks: () => [...(current()?.participants.values() ?? [])].filter((p) => p.path === 'p2p').length,
    audioPackets: async () => {
      const out: Record<string, number> = {};
      for (const p of current()?.participants.values() ?? []) {
        let n = 0;
        (await p.statsSource?.getStats())?.forEach((s: Record<string, unknown>) => {
          if (s['type'] === 'inbound-rtp' && s['kind'] === 'audio') n += Number(s['packetsReceived'] ?? 0);
        });
        out[p.info.name] = n;
      }
      return out;
    },
    sampleQuality: async () => {
      const out: Record<string, LinkStats> = {};
      for (const p of current()?.participants.values() ?? []) {
        if (!p.statsSource) continue;
        let sampler = samplers.get(p.id);
        if (!sampler) samplers.set(p.id, (sampler = new StatsSampler()));
        out[p.info.name] = await sampler.sample(p.statsSource);
      }
      return out;
    },
    e2ee: async () => {
      const room = current();
      if (!room) return { encrypted: false, safetyCode: null, counts: null };
      const counts = await room.frameCounts();
      // Name the participants rather than their ids, as a person would.
      const names = new Map([...room.participants.values()].map((p) => [p.id, p.info.name]));
      if (room.self) names.set(room.self.id, room.self.name);
      const byName = (t: Record<string, number>) =>
        Object.fromEntries(Object.entries(t).map(([k, v]) => [k.replace(/^[^:]+/, (id) => names.get(id) ?? id), v]));
      return {
        encrypted: room.encrypted,
        safetyCode: await room.safetyCode(),
        counts: counts ? { ...counts, decrypted: byName(counts.decrypted), dropped: byName(counts.dropped) } : null,
      };
    },
  };
}
