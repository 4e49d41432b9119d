/**
 * The peer-to-peer side of a bot, done exactly as the web app does it: one PeerLink per remote
 * participant — the browser's own perfect-negotiation code (web/src/rtc/PeerLink.ts), run on
 * wrtc — with offers, answers and trickled candidates relayed by the server's `rtc.signal`.
 * The newcomer creates the transceivers and offers (impolite); the one already there answers.
 * `close()` closes every link.
 */
import type { IceServerInfo, ServerEventMap } from '../../server/src/protocol/index.ts';
import { PeerLink } from '../../web/src/rtc/PeerLink.ts';
import type { SignalingClient } from '../../web/src/signaling/SignalingClient.ts';
import {
  entriesOf,
  inboundCounts,
  outboundOf,
  rtpKind,
  rtpReceived,
  selectedPath,
  transportTotals,
  type InboundStats,
  type MediaPath,
  type OutboundStats,
  type StatsEntry,
} from './rtpStats.ts';

export interface P2PSessionHooks {
  /** A remote track arrived on the link to `remoteId`. */
  onTrack(remoteId: string, track: MediaStreamTrack): void;
  /** The link to `remoteId` reached `connected` (ICE and DTLS are up). */
  onConnected(remoteId: string): void;
  onFailure(error: Error): void;
}

/** ICE settings of every link: none (loopback host candidates), or relay-only through TURN. */
export interface P2PIceConfig {
  iceServers: IceServerInfo[];
  iceTransportPolicy?: RTCIceTransportPolicy;
}

interface Link {
  peer: PeerLink;
  /** The kinds the remote side sends us (one stream each on a P2P link). */
  kinds: Set<'audio' | 'video'>;
}

export class P2PSession implements MediaPath {
  readonly #links = new Map<string, Link>();
  readonly #stream: MediaStream;
  #closed = false;

  constructor(
    private readonly signaling: SignalingClient,
    private readonly roomId: string,
    private readonly tracks: { audio: MediaStreamTrack; video: MediaStreamTrack | null },
    private readonly ice: P2PIceConfig,
    private readonly hooks: P2PSessionHooks,
  ) {
    this.#stream = new MediaStream([tracks.audio, ...(tracks.video ? [tracks.video] : [])]);
  }

  get iceRestarts(): number {
    let n = 0;
    for (const { peer } of this.#links.values()) n += peer.iceRestarts;
    return n;
  }

  /** Remote participants with a link. */
  get remotes(): string[] {
    return [...this.#links.keys()];
  }

  /** Opens the link to a participant; `initiator` (we are the newcomer) makes the first offer. */
  connect(remoteId: string, initiator: boolean): void {
    if (this.#closed || this.#links.has(remoteId)) return;
    const peer = new PeerLink({
      remoteId,
      initiator,
      polite: !initiator,
      ...this.ice,
      send: (signal) => this.signaling.request('rtc.signal', { roomId: this.roomId, to: remoteId, ...signal }).then(() => undefined),
    });
    const link: Link = { peer, kinds: new Set() };
    this.#links.set(remoteId, link);
    peer.on('track', (track) => {
      link.kinds.add(track.kind as 'audio' | 'video');
      this.hooks.onTrack(remoteId, track);
    });
    peer.on('state', (state) => {
      if (state === 'connected') this.hooks.onConnected(remoteId);
      // PeerLink restarts ICE by itself; the bot records that it had to.
      else if (state === 'failed') this.hooks.onFailure(new Error(`P2P link to ${remoteId} failed; restarting ICE`));
    });
    peer.setLocalTracks(this.tracks.audio, this.tracks.video, this.#stream);
  }

  disconnect(remoteId: string): void {
    this.#links.get(remoteId)?.peer.close();
    this.#links.delete(remoteId);
  }

  /** An `rtc.signal` from the server; signals from someone without a link are dropped. */
  receive(signal: ServerEventMap['rtc.signal']): void {
    void this.#links.get(signal.from)?.peer.receive(signal);
  }

  async path(): Promise<string | null> {
    const paths = (await this.#reports()).map(({ entries }) => selectedPath(entries));
    return paths.filter((p) => p !== null).join('; ') || null;
  }

  async packetsReceived(): Promise<number> {
    return (await this.#reports()).reduce((n, { entries }) => n + rtpReceived(entries), 0);
  }

  async transportReceived(): Promise<{ packets: number; bytes: number }> {
    const total = { packets: 0, bytes: 0 };
    for (const { entries } of await this.#reports()) {
      const t = transportTotals(entries);
      total.packets += t.packets;
      total.bytes += t.bytes;
    }
    return total;
  }

  async inbound(): Promise<InboundStats[]> {
    return (await this.#reports()).flatMap(({ remoteId, kinds, entries }) =>
      [...kinds].map((kind) => ({
        consumerId: `p2p:${remoteId}:${kind}`,
        participantId: remoteId,
        kind,
        source: kind === 'audio' ? ('mic' as const) : ('camera' as const),
        ...inboundCounts(
          entries,
          entries.find((e) => e.type === 'inbound-rtp' && rtpKind(e) === kind),
        ),
        serverPaused: false,
      })),
    );
  }

  async outbound(): Promise<OutboundStats[]> {
    return (await this.#reports()).flatMap(({ entries }) => outboundOf(entries));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const { peer } of this.#links.values()) peer.close();
    this.#links.clear();
  }
  /** One getStats report per link. */
  #reports(): Promise<{ remoteId: string; kinds: Set<'audio' | 'video'>; entries: StatsEntry[] }[]> {
    return Promise.all([...this.#links].map(async ([remoteId, { peer, kinds }]) => ({ remoteId, kinds, entries: entriesOf(await peer.pc.getStats()) })));
  }
}
