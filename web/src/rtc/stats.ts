/**
 * Reading getStats() the same way everywhere: the app's stats panel and network-quality
 * indicator, the connectivity page and CLI, and the load-test bots.
 *
 * - `selectedPair`: the ICE candidate pair a connection uses. One rule: the pair the `transport`
 *   entry names; without one (Firefox has no transport stats) the pair marked `selected`, else
 *   the nominated pair that succeeded.
 * - `StatsSampler`: the few numbers a person (and a test) cares about, as rates between samples.
 * - Counters of received and sent RTP per stream and per transport (bots, probes).
 */
export type StatsEntry = Record<string, unknown> & { type: string; id: string };

export interface SelectedPair {
  /** Local and remote candidate types: host, srflx, prflx, relay. */
  localType: string | null;
  remoteType: string | null;
  localAddress: string | null;
  remoteAddress: string | null;
  /** The local candidate's protocol (udp, tcp). */
  protocol: string | null;
  /** For a relay candidate, the protocol to the TURN server (udp, tcp, tls). */
  relayProtocol: string | null;
  /** What the media travels over as far as latency goes: TURN over TLS is TCP. */
  transport: 'udp' | 'tcp' | null;
  rttMs: number | null;
  /** The send side's bandwidth estimate on this pair, kbit/s (null where the browser does not say). */
  availableOutKbps: number | null;
}

/** The stats of a report (RTCStatsReport or a plain list) as entries. */
export function statsEntries(report: RTCStatsReport | Iterable<StatsEntry>): StatsEntry[] {
  const values = 'values' in report && typeof report.values === 'function' ? report.values() : report;
  return [...(values as Iterable<StatsEntry>)];
}

export function selectedPair(report: RTCStatsReport | Iterable<StatsEntry>): SelectedPair | null {
  const entries = statsEntries(report);
  const byId = new Map(entries.map((e) => [e.id, e]));
  const transport = entries.find((e) => e.type === 'transport' && e['selectedCandidatePairId']);
  const pair =
    (transport && byId.get(String(transport['selectedCandidatePairId']))) ??
    entries.find((e) => e.type === 'candidate-pair' && (e['selected'] === true || (e['nominated'] === true && e['state'] === 'succeeded')));
  if (!pair) return null;
  const local = byId.get(String(pair['localCandidateId']));
  const remote = byId.get(String(pair['remoteCandidateId']));
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  const relayProtocol = str(local?.['relayProtocol'])?.toLowerCase() ?? null;
  const protocol = str(local?.['protocol'])?.toLowerCase() ?? null;
  const carried = relayProtocol ?? protocol;
  return {
    localType: str(local?.['candidateType']),
    remoteType: str(remote?.['candidateType']),
    localAddress: str(local?.['address']) ?? str(local?.['ip']),
    remoteAddress: str(remote?.['address']) ?? str(remote?.['ip']),
    protocol,
    relayProtocol,
    transport: carried === 'udp' ? 'udp' : carried === 'tcp' || carried === 'tls' ? 'tcp' : null,
    rttMs: typeof pair['currentRoundTripTime'] === 'number' ? pair['currentRoundTripTime'] * 1000 : null,
    availableOutKbps: typeof pair['availableOutgoingBitrate'] === 'number' ? pair['availableOutgoingBitrate'] / 1000 : null,
  };
}

export interface DirectionStats {
  codec: string | null;
  kbps: number;
  packets: number;
  packetsLost: number;
  /**
   * Fraction the network lost since the previous sample, 0–1: packets lost for good plus those
   * that had to be retransmitted (NACK/RTX repaired them). What the link did, not what the
   * person noticed (see concealment and frozen for that).
   */
  loss: number;
}
export interface LinkStats {
  at: number;
  audio: {
    out: DirectionStats;
    in: DirectionStats;
    jitterMs: number | null;
    /** Share of the played samples the receiver had to conceal (invent) since the previous sample, 0–1; null with none played. */
    concealment: number | null;
  };
  video: {
    out: DirectionStats;
    in: DirectionStats;
    framesDecoded: number;
    framesSent: number;
    width: number | null;
    height: number | null;
    fps: number | null;
    /** Share of the time since the previous sample a received video was frozen, 0–1 (worst stream); null with no video. */
    frozen: number | null;
  };
  rttMs: number | null;
  /** The send side's estimate of the bandwidth it may use, kbit/s (null where the browser does not say). */
  availableOutKbps: number | null;
  /** Why the browser holds back our video: none, bandwidth, cpu or other (null if it does not say). */
  limitation: string | null;
  /** host / srflx / relay, and udp / tcp, of the selected candidate pair. */
  path: { local: string | null; remote: string | null; protocol: string | null; relayProtocol: string | null };
}

interface Raw {
  at: number;
  bytes: Map<string, number>;
  packets: Map<string, { received: number; lost: number; repaired: number }>;
  /** Per audio stream: samples concealed and played; per video stream: seconds frozen. */
  concealed: Map<string, { concealed: number; total: number }>;
  freezes: Map<string, number>;
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
    const raw: Raw = { at: now, bytes: new Map(), packets: new Map(), concealed: new Map(), freezes: new Map() };
    const dtSeconds = this.#prev ? (now - this.#prev.at) / 1000 : 0;
    let concealed = 0;
    let played = 0;
    const empty = (): DirectionStats => ({ codec: null, kbps: 0, packets: 0, packetsLost: 0, loss: 0 });
    const out: LinkStats = {
      at: Date.now(),
      audio: { out: empty(), in: empty(), jitterMs: null, concealment: null },
      video: { out: empty(), in: empty(), framesDecoded: 0, framesSent: 0, width: null, height: null, fps: null, frozen: null },
      rttMs: null,
      availableOutKbps: null,
      limitation: null,
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
        if (kind === 'video') {
          out.video.framesSent += Number(s['framesSent'] ?? 0);
          if (typeof s['qualityLimitationReason'] === 'string') out.limitation = s['qualityLimitationReason'];
        }
      } else if (s['type'] === 'inbound-rtp' && kind) {
        const d = out[kind].in;
        d.codec = codecOf(s) ?? d.codec;
        d.kbps += rate(`i${s['id']}`, Number(s['bytesReceived'] ?? 0));
        const received = Number(s['packetsReceived'] ?? 0);
        const lost = Math.max(0, Number(s['packetsLost'] ?? 0));
        d.packets += received;
        d.packetsLost += lost;
        const repaired = Number(s['retransmittedPacketsReceived'] ?? 0);
        raw.packets.set(s['id'] as string, { received, lost, repaired });
        const prev = this.#prev?.packets.get(s['id'] as string);
        const dr = received - (prev?.received ?? 0);
        const dl = lost - (prev?.lost ?? 0);
        const dx = Math.max(0, repaired - (prev?.repaired ?? 0));
        d.loss = dr + dl > 0 ? Math.min(1, Math.max(0, dl + dx) / (dr + dl)) : 0;
        if (kind === 'audio' && typeof s['jitter'] === 'number') out.audio.jitterMs = (s['jitter'] as number) * 1000;
        if (kind === 'audio' && typeof s['totalSamplesReceived'] === 'number') {
          const c = { concealed: Number(s['concealedSamples'] ?? 0), total: s['totalSamplesReceived'] as number };
          raw.concealed.set(s['id'] as string, c);
          const was = this.#prev?.concealed.get(s['id'] as string) ?? { concealed: 0, total: 0 };
          concealed += Math.max(0, c.concealed - was.concealed);
          played += Math.max(0, c.total - was.total);
        }
        if (kind === 'video' && typeof s['totalFreezesDuration'] === 'number') {
          const f = s['totalFreezesDuration'] as number;
          raw.freezes.set(s['id'] as string, f);
          const was = this.#prev?.freezes.get(s['id'] as string);
          if (was !== undefined && dtSeconds > 0) out.video.frozen = Math.max(out.video.frozen ?? 0, Math.min(1, Math.max(0, f - was) / dtSeconds));
        }
        if (kind === 'video') {
          out.video.framesDecoded += Number(s['framesDecoded'] ?? 0);
          out.video.width = (s['frameWidth'] as number) ?? out.video.width;
          out.video.height = (s['frameHeight'] as number) ?? out.video.height;
          out.video.fps = (s['framesPerSecond'] as number) ?? out.video.fps;
        }
      }
    }
    if (played > 0) out.audio.concealment = Math.min(1, concealed / played);
    const pair = selectedPair([...byId.values()] as StatsEntry[]);
    if (pair) {
      if (pair.rttMs !== null) out.rttMs = pair.rttMs;
      out.availableOutKbps = pair.availableOutKbps;
      out.path = { local: pair.localType, remote: pair.remoteType, protocol: pair.protocol, relayProtocol: pair.relayProtocol };
    }
    this.#prev = raw;
    return out;
  }
}

/** The received side of a stream and what was sent, as counters (bots and probes). */
export interface InboundStats {
  /** The SFU consumer, or for a P2P link `p2p:<remote participant>:<kind>`. */
  consumerId: string;
  participantId: string;
  kind: 'audio' | 'video';
  source: 'mic' | 'camera';
  /** The codec the packets arrived in, from the receiver's own statistics. */
  codec: string;
  packetsReceived: number;
  packetsLost: number;
  /** Interarrival jitter, ms (RFC 3550, as the receiver computes it). */
  jitterMs: number;
  bytesReceived: number;
  /** The SFU paused it (the sender paused, or top-K audio left it out); always false on P2P. */
  serverPaused: boolean;
}

export interface OutboundStats {
  kind: 'audio' | 'video';
  codec: string;
  packetsSent: number;
  bytesSent: number;
}

/** The mime type of the codec an `inbound-rtp` / `outbound-rtp` entry names ('' if unknown). */
export function codecOf(entries: StatsEntry[], rtp: StatsEntry | undefined): string {
  return String(entries.find((c) => c.type === 'codec' && c.id === rtp?.['codecId'])?.['mimeType'] ?? '');
}

export const rtpKind = (s: StatsEntry) => (s['kind'] ?? s['mediaType']) as 'audio' | 'video';

/** The received side of one `inbound-rtp` entry (zeros for a stream with no entry yet). */
export function inboundCounts(
  entries: StatsEntry[],
  s: StatsEntry | undefined,
): Pick<InboundStats, 'codec' | 'packetsReceived' | 'packetsLost' | 'jitterMs' | 'bytesReceived'> {
  return {
    codec: codecOf(entries, s),
    packetsReceived: Number(s?.['packetsReceived'] ?? 0),
    packetsLost: Number(s?.['packetsLost'] ?? 0),
    jitterMs: Number(s?.['jitter'] ?? 0) * 1000,
    bytesReceived: Number(s?.['bytesReceived'] ?? 0),
  };
}

export function outboundOf(entries: StatsEntry[]): OutboundStats[] {
  return entries
    .filter((s) => s.type === 'outbound-rtp')
    .map((s) => ({
      kind: rtpKind(s),
      codec: codecOf(entries, s),
      packetsSent: Number(s['packetsSent'] ?? 0),
      bytesSent: Number(s['bytesSent'] ?? 0),
    }));
}

/** Packets and bytes received by the ICE transports of a report (every stream, RTP and RTCP). */
export function transportTotals(entries: StatsEntry[]): { packets: number; bytes: number } {
  let packets = 0;
  let bytes = 0;
  for (const s of entries) {
    if (s.type !== 'transport') continue;
    packets += Number(s['packetsReceived'] ?? 0);
    bytes += Number(s['bytesReceived'] ?? 0);
  }
  return { packets, bytes };
}

/** RTP packets received over all `inbound-rtp` entries. */
export function rtpReceived(entries: StatsEntry[]): number {
  return entries.reduce((n, s) => n + (s.type === 'inbound-rtp' ? Number(s['packetsReceived'] ?? 0) : 0), 0);
}

/**
 * The ICE path in use, e.g. `host udp 127.0.0.1 → host 127.0.0.1` (local candidate type,
 * protocol, address → remote type, address; for a relay candidate the protocol is the one to the
 * TURN server); null before a candidate pair is selected.
 */
export function selectedPath(entries: StatsEntry[]): string | null {
  const p = selectedPair(entries);
  if (!p || p.localType === null || p.remoteType === null) return null;
  return `${p.localType} ${p.relayProtocol ?? p.protocol} ${p.localAddress ?? '?'} → ${p.remoteType} ${p.remoteAddress ?? '?'}`;
}

/**
 * Our sending side from a send report: the loss and round trip receivers (or the SFU) report
 * back in RTCP (`remote-inbound-rtp`), and the browser's bandwidth estimate for the selected
 * pair. Worst over the reports given (one per P2P link, or the SFU's send transport).
 */
export function uplinkOf(reports: StatsEntry[][]): { loss: number | null; rttMs: number | null; availableKbps: number | null } {
  let loss: number | null = null;
  let rttMs: number | null = null;
  let availableKbps: number | null = null;
  for (const entries of reports) {
    for (const s of entries) {
      if (s.type === 'remote-inbound-rtp') {
        if (typeof s['fractionLost'] === 'number') loss = Math.max(loss ?? 0, s['fractionLost']);
        if (typeof s['roundTripTime'] === 'number') rttMs = Math.max(rttMs ?? 0, s['roundTripTime'] * 1000);
      }
    }
    const kbps = selectedPair(entries)?.availableOutKbps ?? null;
    if (kbps !== null) availableKbps = availableKbps === null ? kbps : Math.min(availableKbps, kbps);
  }
  return { loss, rttMs, availableKbps };
}
