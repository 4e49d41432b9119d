/**
 * Reading a peer connection's standard statistics (getStats) the same way for both media paths of
 * a bot: the SFU session's transports and the P2P session's links are all RTCPeerConnections.
 */
import { selectedPair } from '../../web/src/rtc/selectedPair.ts';
export type StatsEntry = Record<string, unknown> & { type: string; id: string };

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

export function entriesOf(report: RTCStatsReport): StatsEntry[] {
  return [...(report.values() as Iterable<StatsEntry>)];
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

/** What a bot measures on either of its media paths (SfuSession, P2PSession). */
export interface MediaPath {
  /** ICE restarts after a failed connection (the web app restarts ICE the same way). */
  readonly iceRestarts: number;
  /** The ICE path media arrives on (the P2P link, or the SFU recv transport); null until chosen. */
  path(): Promise<string | null>;
  /** RTP packets in so far; cheap enough to poll while waiting for the first one. */
  packetsReceived(): Promise<number>;
  /** Packets and bytes received by the path's transports (every stream, RTP and RTCP). */
  transportReceived(): Promise<{ packets: number; bytes: number }>;
  inbound(): Promise<InboundStats[]>;
  outbound(): Promise<OutboundStats[]>;
  close(): void;
}
