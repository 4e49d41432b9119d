/**
 * One RTCPeerConnection to one remote participant, with the "perfect negotiation" pattern
 * (either side may renegotiate at any time; collisions resolve by politeness), trickle ICE,
 * and ICE restart when the path fails or the network changes.
 */
import type { IceServerInfo, ServerEventMap } from '@protocol';
import { Emitter } from '../lib/Emitter.ts';
import type { FrameTransforms } from '../model/ports.ts';
import { applyCodecPreferences, type CodecOptions } from './codecs.ts';

export type OutgoingSignal =
  | { description: { type: 'offer' | 'answer'; sdp: string } }
  | { candidate: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null; usernameFragment?: string | null } | null };

export interface PeerLinkOptions {
  remoteId: string;
  /** The polite side yields when both offer at once. */
  polite: boolean;
  /** The side that creates transceivers and sends the first offer. */
  initiator: boolean;
  iceServers: IceServerInfo[];
  iceTransportPolicy?: RTCIceTransportPolicy;
  send: (signal: OutgoingSignal) => Promise<void>;
  /** End-to-end encryption: a frame transform on every sender and receiver, set before any media flows. */
  frames?: FrameTransforms | undefined;
  /** Codec choices beyond the fixed preference order (RED for audio). */
  codecs?: CodecOptions;
}

export type PeerLinkEvents = {
  track: [MediaStreamTrack];
  state: [RTCPeerConnectionState];
};

/** How long a `disconnected` ICE state may last before we restart ICE ourselves. */
const DISCONNECTED_RESTART_MS = 2_500;

export class PeerLink extends Emitter<PeerLinkEvents> {
  readonly pc: RTCPeerConnection;
  readonly remoteId: string;
  readonly #polite: boolean;
  readonly #send: PeerLinkOptions['send'];
  readonly #frames: FrameTransforms | undefined;
  readonly #codecs: CodecOptions;
  #local: { audio: MediaStreamTrack | null; video: MediaStreamTrack | null; stream: MediaStream } = {
    audio: null,
    video: null,
    stream: new MediaStream(),
  };
  #makingOffer = false;
  #ignoreOffer = false;
  #answerPending = false;
  #queue: Promise<void> = Promise.resolve();
  #disconnectTimer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;
  iceRestarts = 0;

  constructor(options: PeerLinkOptions) {
    super();
    this.remoteId = options.remoteId;
    this.#polite = options.polite;
    this.#send = options.send;
    this.#frames = options.frames;
    this.#codecs = options.codecs ?? {};
    this.pc = new RTCPeerConnection({
      iceServers: options.iceServers as RTCIceServer[],
      iceTransportPolicy: options.iceTransportPolicy ?? 'all',
      bundlePolicy: 'max-bundle',
      rtcpMuxPolicy: 'require',
    });
    this.pc.onnegotiationneeded = () => void this.#negotiate();
    this.pc.onicecandidate = ({ candidate }) => {
      const c = candidate?.toJSON();
      void this.#send({ candidate: c ? { ...c, candidate: c.candidate ?? '' } : null }).catch(() => {});
    };
    this.pc.ontrack = ({ track, transceiver }) => {
      this.#transform(transceiver);
      this.emit('track', track);
    };
    this.pc.onconnectionstatechange = () => this.#onConnectionState();
    if (options.initiator) {
      this.pc.addTransceiver('audio', { direction: 'sendrecv' });
      this.pc.addTransceiver('video', { direction: 'sendrecv' });
      applyCodecPreferences(this.pc, this.#codecs);
    }
  }

  /** Its statistics (the peer connection's). */
  get stats(): { getStats(): Promise<RTCStatsReport> } {
    return this.pc;
  }

  receiverOf(track: MediaStreamTrack): RTCRtpReceiver | null {
    return this.pc.getReceivers().find((r) => r.track === track) ?? null;
  }

  get state(): RTCPeerConnectionState {
    return this.pc.connectionState;
  }

  /** Sets what we send. A camera turned on where none was sent renegotiates; the rest is instant. */
  setLocalTracks(audio: MediaStreamTrack | null, video: MediaStreamTrack | null, stream: MediaStream): void {
    this.#local = { audio, video, stream };
    this.#syncSenders();
  }

  /** Handles one signal from the remote side; signals are processed strictly in arrival order. */
  receive(signal: Pick<ServerEventMap['rtc.signal'], 'description' | 'candidate'>): Promise<void> {
    this.#queue = this.#queue.then(() => this.#handle(signal)).catch((err) => console.warn('signal failed', err));
    return this.#queue;
  }

  restartIce(): void {
    if (this.#closed) return;
    this.iceRestarts++;
    this.pc.restartIce();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#disconnectTimer) clearTimeout(this.#disconnectTimer);
    this.pc.onnegotiationneeded = null;
    this.pc.onicecandidate = null;
    this.pc.ontrack = null;
    this.pc.onconnectionstatechange = null;
    this.pc.close();
    this.removeAllListeners();
  }

  async #negotiate(): Promise<void> {
    if (this.#closed) return;
    try {
      this.#makingOffer = true;
      applyCodecPreferences(this.pc, this.#codecs);
      await this.pc.setLocalDescription();
      const d = this.pc.localDescription!;
      await this.#send({ description: { type: d.type as 'offer', sdp: d.sdp } });
    } catch (err) {
      console.warn('negotiation failed', err);
    } finally {
      this.#makingOffer = false;
    }
  }

  async #handle({ description, candidate }: Pick<ServerEventMap['rtc.signal'], 'description' | 'candidate'>): Promise<void> {
    if (this.#closed) return;
    if (description) {
      const readyForOffer = !this.#makingOffer && (this.pc.signalingState === 'stable' || this.#answerPending);
      const collision = description.type === 'offer' && !readyForOffer;
      this.#ignoreOffer = !this.#polite && collision;
      if (this.#ignoreOffer) return;
      this.#answerPending = description.type === 'answer';
      await this.pc.setRemoteDescription(description);
      this.#answerPending = false;
      if (description.type === 'offer') {
        // Answer with our media on the transceivers the offer created (no second round trip).
        this.#syncSenders();
        applyCodecPreferences(this.pc, this.#codecs);
        await this.pc.setLocalDescription();
        const d = this.pc.localDescription!;
        await this.#send({ description: { type: 'answer', sdp: d.sdp } });
      }
    } else if (candidate !== undefined) {
      try {
        await this.pc.addIceCandidate(candidate ?? undefined);
      } catch (err) {
        if (!this.#ignoreOffer) throw err;
      }
    }
  }

  /** Frame encryption on both sides of a transceiver (once; before it carries media). */
  #transform(t: RTCRtpTransceiver): void {
    if (!this.#frames) return;
    const kind = t.receiver.track.kind as 'audio' | 'video';
    this.#frames.attachSender(t.sender, kind);
    this.#frames.attachReceiver(t.receiver, this.remoteId, kind);
  }

  #syncSenders(): void {
    for (const t of this.pc.getTransceivers()) {
      if (t.currentDirection === 'stopped' || t.direction === 'stopped') continue;
      this.#transform(t);
      const kind = t.receiver.track.kind as 'audio' | 'video';
      const track = this.#local[kind];
      if (t.sender.track !== track) void t.sender.replaceTrack(track).catch((err) => console.warn('replaceTrack failed', err));
      if (track) t.sender.setStreams(this.#local.stream);
      // Once we have sent on a transceiver we keep it sendrecv: turning the camera off is a
      // null track, not a renegotiation.
      if (track && t.direction !== 'sendrecv') t.direction = 'sendrecv';
      if (!track && t.direction === 'sendrecv' && !t.currentDirection) t.direction = 'recvonly';
    }
  }

  #onConnectionState(): void {
    const state = this.pc.connectionState;
    this.emit('state', state);
    if (this.#disconnectTimer) clearTimeout(this.#disconnectTimer);
    this.#disconnectTimer = null;
    if (state === 'failed') this.restartIce();
    else if (state === 'disconnected') {
      this.#disconnectTimer = setTimeout(() => {
        if (this.pc.connectionState === 'disconnected') this.restartIce();
      }, DISCONNECTED_RESTART_MS);
    }
  }
}
