/**
 * The peer-to-peer media path: one PeerLink per remote participant, its offers, answers and
 * trickled candidates relayed by the server's `rtc.signal`. The newcomer creates the
 * transceivers and offers, and is impolite (its offer wins a collision); whoever was there
 * answers. Every link gets our current tracks. The same code runs in the browser and in the
 * load-test bots (on wrtc); the links come from `createLink` so the model's tests can use fakes.
 * `close()` closes every link.
 */
import type { ServerEventMap } from '@protocol';
import { Emitter } from '../lib/Emitter.ts';
import type {
  FrameTransforms,
  IceConfig,
  LocalTracks,
  MediaPath,
  MediaPathEvents,
  PeerLinkOptions,
  PeerLinkPort,
  ReceivedStream,
  SignalingPort,
  StatsSource,
} from '../model/ports.ts';
import { statsEntries, type StatsEntry } from './stats.ts';

interface Link {
  peer: PeerLinkPort;
  /** What the remote side sends us on this link, by kind (one stream each). */
  tracks: Map<'audio' | 'video', MediaStreamTrack>;
}

export class P2PPath extends Emitter<MediaPathEvents> implements MediaPath {
  readonly kind = 'p2p' as const;
  readonly #links = new Map<string, Link>();
  #closed = false;

  constructor(
    private readonly signaling: SignalingPort,
    private readonly roomId: string,
    private readonly media: LocalTracks,
    private readonly ice: IceConfig,
    private readonly createLink: (options: PeerLinkOptions) => PeerLinkPort,
    /** End-to-end encryption: frame transforms for every link. */
    private readonly frames?: FrameTransforms,
  ) {
    super();
  }

  get iceRestarts(): number {
    let n = 0;
    for (const { peer } of this.#links.values()) n += peer.iceRestarts;
    return n;
  }

  /** Nothing to set up: each link negotiates as it opens. */
  async start(): Promise<void> {}

  addParticipant(participantId: string, initiator: boolean): void {
    if (this.#closed || this.#links.has(participantId)) return;
    const peer = this.createLink({
      remoteId: participantId,
      initiator,
      polite: !initiator,
      iceServers: this.ice.iceServers,
      ...(this.ice.iceTransportPolicy ? { iceTransportPolicy: this.ice.iceTransportPolicy } : {}),
      send: (signal) => this.signaling.request('rtc.signal', { roomId: this.roomId, to: participantId, ...signal }).then(() => undefined),
      ...(this.frames ? { frames: this.frames } : {}),
    });
    const link: Link = { peer, tracks: new Map() };
    this.#links.set(participantId, link);
    peer.on('track', (track) => {
      const kind = track.kind as 'audio' | 'video';
      const old = link.tracks.get(kind);
      link.tracks.set(kind, track);
      if (old && old !== track) this.emit('trackEnded', participantId, old);
      this.emit('track', participantId, track, peer.receiverOf(track));
    });
    peer.on('state', (state) => {
      // PeerLink restarts ICE by itself; we report that it had to.
      if (state === 'failed') this.emit('failure', new Error(`P2P link to ${participantId} failed; restarting ICE`));
      this.emit('connection', participantId, state);
    });
    peer.setLocalTracks(this.media.audio, this.media.video, this.media.stream);
  }

  removeParticipant(participantId: string): void {
    const link = this.#links.get(participantId);
    if (!link) return;
    this.#links.delete(participantId);
    link.peer.close();
  }

  has(participantId: string): boolean {
    return this.#links.has(participantId);
  }

  /** Signals from someone without a link are dropped. */
  receiveSignal(signal: Pick<ServerEventMap['rtc.signal'], 'from' | 'description' | 'candidate'>): void {
    void this.#links.get(signal.from)?.peer.receive(signal);
  }

  syncLocalTracks(): void {
    for (const { peer } of this.#links.values()) peer.setLocalTracks(this.media.audio, this.media.video, this.media.stream);
  }

  connectionOf(participantId: string): RTCPeerConnectionState {
    return this.#links.get(participantId)?.peer.state ?? 'closed';
  }

  statsOf(participantId: string): StatsSource {
    return { getStats: () => this.#links.get(participantId)?.peer.stats.getStats() ?? Promise.resolve(new Map() as unknown as RTCStatsReport) };
  }

  tracksOf(participantId: string): MediaStreamTrack[] {
    return [...(this.#links.get(participantId)?.tracks.values() ?? [])];
  }

  received(): ReceivedStream[] {
    return [...this.#links].flatMap(([participantId, { tracks }]) =>
      [...tracks].map(([kind, track]) => ({
        id: `p2p:${participantId}:${kind}`,
        participantId,
        kind,
        source: kind === 'audio' ? ('mic' as const) : ('camera' as const),
        track,
        serverPaused: false,
      })),
    );
  }

  /** A link sends and receives: one report per link either way. */
  async reports(): Promise<StatsEntry[][]> {
    return Promise.all([...this.#links.values()].map(async ({ peer }) => statsEntries(await peer.stats.getStats())));
  }

  restartIce(participantId?: string): void {
    for (const [id, { peer }] of this.#links) if (participantId === undefined || id === participantId) peer.restartIce();
  }

  /** Links survive a signaling blip by themselves. */
  async resync(): Promise<void> {}

  /** A new seat: the others will open new links to it. */
  async restart(): Promise<void> {
    for (const id of [...this.#links.keys()]) this.removeParticipant(id);
  }

  setPreferredHeight(): void {}

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const { peer } of this.#links.values()) peer.close();
    this.#links.clear();
    this.removeAllListeners();
  }
}
