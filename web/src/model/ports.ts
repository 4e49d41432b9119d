/**
 * What the call model needs from the outside, as small interfaces (LiveKit-style): signaling,
 * this device's tracks, and media paths (a peer-to-peer link per person, or one SFU session).
 * The browser implements them with socket.io, getUserMedia, RTCPeerConnection and
 * mediasoup-client (`browserMediaPaths`); the model's unit tests with fakes. The model itself
 * touches no browser global.
 */
import type { IceServerInfo, RequestName, RequestOf, ResponseMap, ServerEventMap } from '@protocol';
import type { OutgoingSignal, PeerLinkOptions } from '../rtc/PeerLink.ts';

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

/** One peer-to-peer media path to one person (PeerLink in the browser). */
export interface PeerLinkPort {
  readonly state: RTCPeerConnectionState;
  readonly stats: StatsSource;
  receive(signal: Pick<ServerEventMap['rtc.signal'], 'description' | 'candidate'>): Promise<void>;
  setLocalTracks(audio: MediaStreamTrack | null, video: MediaStreamTrack | null, stream: MediaStream): void;
  /** The receiver a remote track arrived on (for audio levels and the P2P → SFU switch). */
  receiverOf(track: MediaStreamTrack): RTCRtpReceiver | null;
  restartIce(): void;
  close(): void;
  on(event: 'track', fn: (track: MediaStreamTrack) => void): () => void;
  on(event: 'state', fn: (state: RTCPeerConnectionState) => void): () => void;
}

/** A stream received through the SFU. */
export interface SfuStream extends StatsSource {
  readonly track: MediaStreamTrack;
}

/** This device's side of a group call on the SFU (SfuSession in the browser). */
export interface SfuSessionPort {
  readonly state: RTCPeerConnectionState;
  start(): Promise<void>;
  /** After a reconnection with the same seat: ask for every consumer we should have. */
  resync(): Promise<void>;
  /** A new seat or a new SFU session: set up again from scratch. */
  restart(): Promise<void>;
  syncProducers(): Promise<void>;
  consumersOf(participantId: string): SfuStream[];
  setPreferredHeight(participantId: string, height: number): void;
  close(): void;
  on(event: 'track', fn: (participantId: string, track: MediaStreamTrack, receiver: RTCRtpReceiver | null) => void): () => void;
  on(event: 'trackEnded', fn: (participantId: string, track: MediaStreamTrack) => void): () => void;
  on(event: 'activeSpeaker', fn: (participantId: string | null) => void): () => void;
  on(event: 'state', fn: (state: RTCPeerConnectionState) => void): () => void;
}

export interface IceConfig {
  iceServers: IceServerInfo[];
  iceTransportPolicy: RTCIceTransportPolicy | undefined;
}

/** Makes the media paths and streams the model uses. */
export interface MediaPaths {
  peerLink(options: PeerLinkOptions): PeerLinkPort;
  sfuSession(signaling: SignalingPort, roomId: string, media: LocalTracks, ice: IceConfig): SfuSessionPort;
  /** An empty stream that a remote participant's tracks are collected in. */
  stream(): MediaStream;
}

export type { OutgoingSignal, PeerLinkOptions };
