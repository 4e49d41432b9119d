/**
 * Fakes of the model's ports (model/ports.ts) for its unit tests: a scripted signaling server,
 * this device's tracks, and media paths that record what the model asks of them (the real
 * P2PPath over fake links; a fake SFU session). Never bundled.
 */
import { SignalingError, type ParticipantInfo, type RequestName, type RequestOf, type ResponseMap, type RoomInfo, type ServerEventMap } from '@protocol';
import { Emitter } from '../../lib/Emitter.ts';
import { P2PPath } from '../../rtc/P2PPath.ts';
import type {
  ConnectionState,
  LocalTracks,
  MediaPath,
  MediaPathEvents,
  MediaPaths,
  PeerLinkOptions,
  PeerLinkPort,
  ReceivedStream,
  SignalingPort,
  StatsSource,
} from '../ports.ts';

type Handler<E extends RequestName> = (payload: RequestOf<E>) => ResponseMap[E] | Promise<ResponseMap[E]>;

/** A signaling server in a box: answers requests with scripted handlers and pushes events. */
export class FakeSignaling
  extends Emitter<{ state: [ConnectionState]; session: [ServerEventMap['session'], { reconnected: boolean }] }>
  implements SignalingPort
{
  readonly sent: { event: RequestName; payload: unknown }[] = [];
  readonly #handlers = new Map<RequestName, (payload: never) => unknown>();
  readonly #listeners = new Map<string, Set<(payload: never) => void>>();

  handle<E extends RequestName>(event: E, fn: Handler<E>): void {
    this.#handlers.set(event, fn as (payload: never) => unknown);
  }

  async request<E extends RequestName>(event: E, payload: RequestOf<E>): Promise<ResponseMap[E]> {
    this.sent.push({ event, payload });
    const fn = this.#handlers.get(event);
    if (!fn) throw new SignalingError('unknown-event', `the fake server has no handler for ${event}`);
    return (await fn(payload as never)) as ResponseMap[E];
  }

  /** Requests of one kind the model sent, in order. */
  sentOf<E extends RequestName>(event: E): RequestOf<E>[] {
    return this.sent.filter((s) => s.event === event).map((s) => s.payload as RequestOf<E>);
  }

  onEvent<E extends keyof ServerEventMap>(event: E, fn: (payload: ServerEventMap[E]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(fn as (payload: never) => void);
    return () => set.delete(fn as (payload: never) => void);
  }

  /** The server sends an event. */
  push<E extends keyof ServerEventMap>(event: E, payload: ServerEventMap[E]): void {
    for (const fn of [...(this.#listeners.get(event) ?? [])]) fn(payload as never);
  }

  /** The connection dropped and came back (a new `session`). */
  reconnect(): void {
    this.emit('state', 'reconnecting');
    this.emit('state', 'connected');
    this.emit('session', { user: { handle: 'me', name: 'Me' }, iceServers: [], serverTime: Date.now(), token: 'cws1.fake' }, { reconnected: true });
  }
}

export class FakeTrack {
  enabled = true;
  readyState: 'live' | 'ended' = 'live';
  static #n = 0;
  readonly id = `track-${++FakeTrack.#n}`;
  constructor(readonly kind: 'audio' | 'video') {}
}

export class FakeStream {
  readonly #tracks: MediaStreamTrack[] = [];
  getTracks(): MediaStreamTrack[] {
    return [...this.#tracks];
  }
  getAudioTracks(): MediaStreamTrack[] {
    return this.#tracks.filter((t) => t.kind === 'audio');
  }
  getVideoTracks(): MediaStreamTrack[] {
    return this.#tracks.filter((t) => t.kind === 'video');
  }
  addTrack(t: MediaStreamTrack): void {
    if (!this.#tracks.includes(t)) this.#tracks.push(t);
  }
  removeTrack(t: MediaStreamTrack): void {
    const i = this.#tracks.indexOf(t);
    if (i >= 0) this.#tracks.splice(i, 1);
  }
}

export const track = (kind: 'audio' | 'video') => new FakeTrack(kind) as unknown as MediaStreamTrack;
const emptyStats = async () => new Map() as unknown as RTCStatsReport;

/** A receiver whose stats say media arrives (so the P2P → SFU switch goes ahead at once). */
export function flowingReceiver(kind: 'audio' | 'video'): RTCRtpReceiver {
  const stats = new Map([['in', { type: 'inbound-rtp', kind, packetsReceived: 50, framesDecoded: 20 }]]);
  return { getStats: async () => stats } as unknown as RTCRtpReceiver;
}

export class FakeTracks extends Emitter<{ changed: [] }> implements LocalTracks {
  audio: MediaStreamTrack | null = track('audio');
  video: MediaStreamTrack | null = null;
  readonly stream = new FakeStream() as unknown as MediaStream;
  audioMuted = false;
  setAudioMuted(muted: boolean): void {
    this.audioMuted = muted;
    this.emit('changed');
  }
  async setVideoEnabled(on: boolean): Promise<void> {
    this.video = on ? track('video') : null;
    this.emit('changed');
  }
}

export class FakeLink extends Emitter<{ track: [MediaStreamTrack]; state: [RTCPeerConnectionState] }> implements PeerLinkPort {
  state: RTCPeerConnectionState = 'connected';
  readonly stats = { getStats: emptyStats };
  readonly received: Parameters<PeerLinkPort['receive']>[0][] = [];
  local: { audio: MediaStreamTrack | null; video: MediaStreamTrack | null } = { audio: null, video: null };
  iceRestarts = 0;
  closed = false;
  constructor(readonly options: PeerLinkOptions) {
    super();
  }
  async receive(signal: Parameters<PeerLinkPort['receive']>[0]): Promise<void> {
    this.received.push(signal);
  }
  setLocalTracks(audio: MediaStreamTrack | null, video: MediaStreamTrack | null): void {
    this.local = { audio, video };
  }
  receiverOf(): RTCRtpReceiver | null {
    return null;
  }
  restartIce(): void {
    this.iceRestarts++;
  }
  close(): void {
    this.closed = true;
  }
  /** The remote side's media arrives on this link. */
  deliver(t: MediaStreamTrack): void {
    this.emit('track', t);
  }
  setState(s: RTCPeerConnectionState): void {
    this.state = s;
    this.emit('state', s);
  }
}

/** The SFU path of a group call, scripted: streams arrive when the test delivers them. */
export class FakeSession extends Emitter<MediaPathEvents> implements MediaPath {
  readonly kind = 'sfu' as const;
  state: RTCPeerConnectionState = 'connected';
  iceRestarts = 0;
  starts = 0;
  resyncs = 0;
  restarts = 0;
  producerSyncs = 0;
  closed = false;
  readonly #streams = new Map<string, MediaStreamTrack[]>();
  async start(): Promise<void> {
    this.starts++;
  }
  addParticipant(): void {}
  removeParticipant(): void {}
  has(): boolean {
    return true;
  }
  receiveSignal(): void {}
  syncLocalTracks(): void {
    this.producerSyncs++;
  }
  connectionOf(): RTCPeerConnectionState {
    return this.state;
  }
  statsOf(): StatsSource {
    return { getStats: emptyStats };
  }
  tracksOf(participantId: string): MediaStreamTrack[] {
    return this.#streams.get(participantId) ?? [];
  }
  received(): ReceivedStream[] {
    return [];
  }
  async reports(): Promise<never[]> {
    return [];
  }
  restartIce(): void {
    this.iceRestarts++;
  }
  async resync(): Promise<void> {
    this.resyncs++;
  }
  async restart(): Promise<void> {
    this.restarts++;
  }
  setPreferredHeight(): void {}
  close(): void {
    this.closed = true;
  }
  /** A participant's stream arrives through the SFU, already flowing. */
  deliver(participantId: string, t: MediaStreamTrack): void {
    const list = this.#streams.get(participantId) ?? [];
    list.push(t);
    this.#streams.set(participantId, list);
    this.emit('track', participantId, t, flowingReceiver(t.kind as 'audio' | 'video'));
  }
  setState(s: RTCPeerConnectionState): void {
    this.state = s;
    this.emit('connection', null, s);
  }
}

/** Media paths that hand out fakes and keep them for the test to inspect. */
export function fakeMediaPaths(): MediaPaths & { links: FakeLink[]; sessions: FakeSession[] } {
  const links: FakeLink[] = [];
  const sessions: FakeSession[] = [];
  return {
    links,
    sessions,
    p2p: (signaling, roomId, media, ice) =>
      new P2PPath(signaling, roomId, media, ice, (options) => {
        const l = new FakeLink(options);
        links.push(l);
        return l;
      }),
    sfu: () => {
      const s = new FakeSession();
      sessions.push(s);
      return s;
    },
    stream: () => new FakeStream() as unknown as MediaStream,
  };
}

let nextId = 0;
export function participant(name: string, over: Partial<ParticipantInfo> = {}): ParticipantInfo {
  return {
    id: `p-${name.toLowerCase()}-${++nextId}`,
    handle: name.toLowerCase(),
    name,
    audioMuted: false,
    videoEnabled: false,
    joinedAt: 0,
    host: false,
    publicKey: null,
    ...over,
  };
}

export function roomInfo(over: Partial<RoomInfo> = {}): RoomInfo {
  return { id: 'team', kind: 'link', media: 'audio', mode: 'p2p', maxParticipants: 32, locked: false, e2ee: false, ...over };
}
