/**
 * What the call model needs from the outside, as small interfaces (LiveKit-style): signaling,
 * this device's tracks, and media paths (a peer-to-peer link per person, or one SFU session).
 * The browser and the bots implement them with socket.io, getUserMedia (bots: generated tracks),
 * RTCPeerConnection and mediasoup-client (`browserMediaPaths`, bots on wrtc); the model's unit
 * tests with fakes. The model itself
 * touches no browser global.
 */
import type { IceServerInfo, RequestName, RequestOf, ResponseMap, ServerEventMap } from '@protocol';
import type { OutgoingSignal, PeerLinkOptions } from '../rtc/PeerLink.ts';
import type { StatsEntry } from '../rtc/stats.ts';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'failed';

/** Typed requests (reject with a SignalingError) and server events. */
export interface SignalingPort {
  request<E extends RequestName>(event: E, payload: RequestOf<E>): Promise<ResponseMap[E]>;
  /** Subscribes to a server event; returns the unsubscribe function. */
  onEvent<E extends keyof ServerEventMap>(event: E, fn: (payload: ServerEventMap[E]) => void): () => void;
  on(event: 'state', fn: (state: ConnectionState) => void): () => void;
  /** After every (re)connection, once the server's `session` arrived. */
  on(event: 'session', fn: (session: ServerEventMap['session'], info: { reconnected: boolean }) => void): () => void;
}

/** This device's microphone and camera. */
export interface LocalTracks {
  readonly audio: MediaStreamTrack | null;
  readonly video: MediaStreamTrack | null;
  readonly stream: MediaStream;
  readonly audioMuted: boolean;
  setAudioMuted(muted: boolean): void;
  setVideoEnabled(on: boolean): Promise<void>;
  on(event: 'changed', fn: () => void): () => void;
  off(event: 'changed', fn: () => void): void;
}

export interface StatsSource {
  getStats(): Promise<RTCStatsReport>;
}

/** One stream we receive, on either media path. */
export interface ReceivedStream {
  /** The SFU consumer id, or `p2p:<participant>:<kind>` on a peer-to-peer link. */
  id: string;
  participantId: string;
  kind: 'audio' | 'video';
  source: 'mic' | 'camera';
  track: MediaStreamTrack;
  /** The SFU paused it (the sender paused, or top-K audio left it out); always false on P2P. */
  serverPaused: boolean;
}

export type MediaPathEvents = {
  /** A remote track arrived (`receiver`: for audio levels and for knowing when media flows). */
  track: [participantId: string, track: MediaStreamTrack, receiver: RTCRtpReceiver | null];
  trackEnded: [participantId: string, track: MediaStreamTrack];
  /** The connection to one participant (P2P), or to everyone at once (SFU: `null`). */
  connection: [participantId: string | null, state: RTCPeerConnectionState];
  /** Group calls: the dominant speaker as the SFU hears it. */
  activeSpeaker: [participantId: string | null];
  /** A transport or link failed (an ICE restart follows), or background work went wrong. */
  failure: [error: Error];
};

/**
 * How media travels between us and the others in a room: a peer-to-peer link per person
 * (`P2PPath`) or one session on the SFU (`SfuSession`). The model's CallMedia runs one or both
 * (while a call moves to the SFU) and is the only one that listens to them.
 */
export interface MediaPath {
  readonly kind: 'p2p' | 'sfu';
  /** ICE restarts after a failed or lingering disconnected connection. */
  readonly iceRestarts: number;
  /** Sets the path up (SFU: transports and producers; P2P: nothing to wait for). */
  start(): Promise<void>;
  /** Someone to exchange media with. P2P opens a link (`initiator`: we offer); the SFU consumes what the server offers. */
  addParticipant(participantId: string, initiator: boolean): void;
  removeParticipant(participantId: string): void;
  /** Whether media from this participant travels this path. */
  has(participantId: string): boolean;
  /** A participant's offer, answer or candidate (P2P). */
  receiveSignal(signal: Pick<ServerEventMap['rtc.signal'], 'from' | 'description' | 'candidate'>): void;
  /** Our tracks changed (mute, camera, device): send the new ones. */
  syncLocalTracks(): void;
  connectionOf(participantId: string): RTCPeerConnectionState;
  /** Statistics of what we receive from a participant (their streams and the transport). */
  statsOf(participantId: string): StatsSource;
  /** The tracks we receive from a participant on this path now. */
  tracksOf(participantId: string): MediaStreamTrack[];
  /** Every stream received now. */
  received(): ReceivedStream[];
  /** The full getStats() entries of each connection of the path that receives (or sends). */
  reports(direction: 'send' | 'recv'): Promise<StatsEntry[][]>;
  /** The network changed, or a connection looks stuck: restart ICE (one participant's, or all). */
  restartIce(participantId?: string): void;
  /** After a reconnection with the same seat: catch up on what was missed. */
  resync(): Promise<void>;
  /** A new seat or a new SFU session: set up again from scratch. */
  restart(): Promise<void>;
  /** The video of a participant is shown this tall (SFU: picks the simulcast layer). */
  setPreferredHeight(participantId: string, height: number): void;
  close(): void;
  on<E extends keyof MediaPathEvents>(event: E, fn: (...args: MediaPathEvents[E]) => void): () => void;
}

/** One peer-to-peer link to one person (PeerLink in the browser and the bots). */
export interface PeerLinkPort {
  readonly state: RTCPeerConnectionState;
  readonly stats: StatsSource;
  readonly iceRestarts: number;
  receive(signal: Pick<ServerEventMap['rtc.signal'], 'description' | 'candidate'>): Promise<void>;
  setLocalTracks(audio: MediaStreamTrack | null, video: MediaStreamTrack | null, stream: MediaStream): void;
  receiverOf(track: MediaStreamTrack): RTCRtpReceiver | null;
  restartIce(): void;
  close(): void;
  on(event: 'track', fn: (track: MediaStreamTrack) => void): () => void;
  on(event: 'state', fn: (state: RTCPeerConnectionState) => void): () => void;
}

/**
 * Where end-to-end encryption keys go and frames are transformed: the frame-transform worker in
 * the browser (e2ee/FrameTransforms.ts). The model decides keys; this applies them.
 */
export interface FrameKeys {
  /** Encrypt what we send and decrypt what we receive (true), or pass frames through (a room that is not encrypted). */
  setEnabled(on: boolean): void;
  /** Our media key: frames from now on are sent under `kid`. */
  setSendKey(kid: number, key: Uint8Array): void;
  /** A participant's media key (ours too: the echo room sends our frames back to us). */
  addReceiveKey(participantId: string, kid: number, key: Uint8Array): void;
  /** They left: forget their keys. */
  removeParticipant(participantId: string): void;
  /** What happened to frames so far (the "encrypted" indicator, tests). */
  counts(): Promise<FrameCounts>;
  /** The call is over: stop the worker. */
  close(): void;
}

/**
 * Frames handled so far. `encrypted` by kind; `decrypted` by `participant:kind`; `dropped` by
 * `kind` (send: no key yet) or `participant:kind:reason` (receive: no-key, auth, malformed).
 */
export interface FrameCounts {
  encrypted: Record<string, number>;
  decrypted: Record<string, number>;
  dropped: Record<string, number>;
  /** Transforms started on senders and on receivers. */
  senders: number;
  receivers: number;
}

/** The frame transforms the media paths put on every sender and receiver. */
export interface FrameTransforms extends FrameKeys {
  attachSender(sender: RTCRtpSender, kind: 'audio' | 'video'): void;
  attachReceiver(receiver: RTCRtpReceiver, participantId: string, kind: 'audio' | 'video'): void;
}

/** This device's identity key, for wrapping media keys to others (e2ee/Identity.ts). */
export interface KeyAgreement {
  readonly publicKey: string;
  wrap(mediaKey: Uint8Array, recipient: string, roomId: string, keyId: number): Promise<string>;
  unwrap(wrapped: string, sender: string, roomId: string, keyId: number): Promise<Uint8Array>;
}

export interface IceConfig {
  iceServers: IceServerInfo[];
  iceTransportPolicy: RTCIceTransportPolicy | undefined;
}

/** Makes the media paths and streams the model uses. */
export interface MediaPaths {
  /** End-to-end encryption of this call's frames (null: not encrypting). */
  readonly frames?: FrameTransforms | null;
  p2p(signaling: SignalingPort, roomId: string, media: LocalTracks, ice: IceConfig): MediaPath;
  sfu(signaling: SignalingPort, roomId: string, media: LocalTracks, ice: IceConfig): MediaPath;
  /** An empty stream that a remote participant's tracks are collected in. */
  stream(): MediaStream;
}

export type { OutgoingSignal, PeerLinkOptions, StatsEntry };
