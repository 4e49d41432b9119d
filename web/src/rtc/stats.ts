/** Turns getStats() reports into the few numbers a person (and a test) cares about. */
import { selectedPair, type StatsEntry } from './selectedPair.ts';

export interface DirectionStats {
  codec: string | null;
  kbps: number;
  packets: number;
  packetsLost: number;
  /** Fraction lost since the previous sample, 0–1. */
  loss: number;
}
export interface LinkStats {
  at: number;
  audio: { out: DirectionStats; in: DirectionStats; jitterMs: number | null };
  video: {
    out: DirectionStats;
    in: DirectionStats;
    framesDecoded: number;
    framesSent: number;
    width: number | null;
    height: number | null;
    fps: number | null;
  };
  rttMs: number | null;
  /** host / srflx / relay, and udp / tcp, of the selected candidate pair. */
  path: { local: string | null; remote: string | null; protocol: string | null; relayProtocol: string | null };
}

interface Raw {
  at: number;
  bytes: Map<string, number>;
  packets: Map<string, { received: number; lost: number }>;
}

/** Keeps the previous sample so bitrates and loss are rates, not totals. */
export class StatsSampler {
  #prev: Raw | null = null;

  /** `source`: a peer connection, or anything else with getStats() (an SFU participant's consumers). */
  async sample(source: { getStats(): Promise<RTCStatsReport> }): Promise<LinkStats> {
    const report = await source.getStats();
    const byId = new Map<string, Record<string, unknown>>();
    report.forEach((s: Record<string, unknown>) => byId.set(s['id'] as string, s));
    const now = performance.now();
    const raw: Raw = { at: now, bytes: new Map(), packets: new Map() };
    const empty = (): DirectionStats => ({ codec: null, kbps: 0, packets: 0, packetsLost: 0, loss: 0 });
    const out: LinkStats = {
      at: Date.now(),
      audio: { out: empty(), in: empty(), jitterMs: null },
      video: { out: empty(), in: empty(), framesDecoded: 0, framesSent: 0, width: null, height: null, fps: null },
      rttMs: null,
      path: { local: null, remote: null, protocol: null, relayProtocol: null },
    };
    const codecOf = (s: Record<string, unknown>) => {
      const c = byId.get(s['codecId'] as string);
      return c ? (c['mimeType'] as string) : null;
    };
    const rate = (key: string, bytes: number) => {
      raw.bytes.set(key, bytes);
      const prev = this.#prev?.bytes.get(key);
      const dt = this.#prev ? (now - this.#prev.at) / 1000 : 0;
      return prev !== undefined && dt > 0 ? Math.max(0, ((bytes - prev) * 8) / 1000 / dt) : 0;
    };

    for (const s of byId.values()) {
      const kind = s['kind'] as 'audio' | 'video' | undefined;
      if (s['type'] === 'outbound-rtp' && kind) {
        const d = out[kind].out;
        d.codec = codecOf(s) ?? d.codec;
        d.kbps += rate(`o${s['id']}`, Number(s['bytesSent'] ?? 0));
        d.packets += Number(s['packetsSent'] ?? 0);
        if (kind === 'video') out.video.framesSent += Number(s['framesSent'] ?? 0);
      } else if (s['type'] === 'inbound-rtp' && kind) {
        const d = out[kind].in;
        d.codec = codecOf(s) ?? d.codec;
        d.kbps += rate(`i${s['id']}`, Number(s['bytesReceived'] ?? 0));
        const received = Number(s['packetsReceived'] ?? 0);
        const lost = Math.max(0, Number(s['packetsLost'] ?? 0));
        d.packets += received;
        d.packetsLost += lost;
        raw.packets.set(s['id'] as string, { received, lost });
        const prev = this.#prev?.packets.get(s['id'] as string);
        const dr = received - (prev?.received ?? 0);
        const dl = lost - (prev?.lost ?? 0);
        d.loss = dr + dl > 0 ? dl / (dr + dl) : 0;
        if (kind === 'audio' && typeof s['jitter'] === 'number') out.audio.jitterMs = (s['jitter'] as number) * 1000;
        if (kind === 'video') {
          out.video.framesDecoded += Number(s['framesDecoded'] ?? 0);
          out.video.width = (s['frameWidth'] as number) ?? out.video.width;
          out.video.height = (s['frameHeight'] as number) ?? out.video.height;
          out.video.fps = (s['framesPerSecond'] as number) ?? out.video.fps;
        }
      }
    }
    const pair = selectedPair([...byId.values()] as StatsEntry[]);
    if (pair) {
      if (pair.rttMs !== null) out.rttMs = pair.rttMs;
      out.path = { local: pair.localType, remote: pair.remoteType, protocol: pair.protocol, relayProtocol: pair.relayProtocol };
    }
    this.#prev = raw;
    return out;
  }
}
