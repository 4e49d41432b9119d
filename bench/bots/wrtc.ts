/**
 * The headless WebRTC stack of the bots: @roamhq/wrtc (libwebrtc compiled for Node: Opus and
 * VP8/VP9 encoders, live sources through its `nonstandard` API). mediasoup-client's Chrome111
 * handler only needs `RTCPeerConnection` and `MediaStream` as globals, and the web app's PeerLink
 * also `RTCRtpReceiver` (codec preferences), so we install wrtc's there.
 *
 * Receiving without decoding: wrtc's one audio device pulls and decodes every received audio
 * stream of the process every 10 ms (32 bots × 31 streams is ~1000 Opus decoders: more than two
 * cores). A recv transport created with `additionalSettings: { [NO_DECODE]: true }` answers its
 * audio m-sections `inactive` instead of `recvonly`: libwebrtc then neither decodes nor counts
 * those streams per SSRC, but the packets still arrive, are decrypted and are counted by the
 * transport. The SFU never sees that SDP (mediasoup signals with parameters, not SDP), so it
 * forwards to such a bot exactly as to a browser: the server's load is the same.
 */
import wrtc from '@roamhq/wrtc';

export interface AudioFrame {
  samples: Int16Array;
  sampleRate: number;
  bitsPerSample?: number;
  channelCount?: number;
  numberOfFrames?: number;
}
export interface VideoFrame {
  width: number;
  height: number;
  /** I420: width*height luma bytes, then two quarter-size chroma planes. */
  data: Uint8Array;
}
export interface WrtcAudioSource {
  createTrack(): MediaStreamTrack;
  onData(frame: AudioFrame): void;
}
export interface WrtcVideoSource {
  createTrack(): MediaStreamTrack;
  onFrame(frame: VideoFrame): void;
}
export interface WrtcAudioSink {
  ondata: ((frame: AudioFrame & { type: 'data' }) => void) | null;
  stop(): void;
}

interface Nonstandard {
  RTCAudioSource: new () => WrtcAudioSource;
  RTCVideoSource: new (init?: { isScreencast?: boolean }) => WrtcVideoSource;
  RTCAudioSink: new (track: MediaStreamTrack) => WrtcAudioSink;
}

const lib = wrtc as unknown as {
  RTCPeerConnection: typeof RTCPeerConnection;
  RTCRtpReceiver: typeof RTCRtpReceiver;
  MediaStream: typeof MediaStream;
  nonstandard: Nonstandard;
};

export const nonstandard: Nonstandard = lib.nonstandard;

/** The RTCConfiguration key (passed through mediasoup-client's `additionalSettings`) that turns decoding off. */
export const NO_DECODE = 'callwireNoDecode';

let installed = false;

/** Makes wrtc's classes the process's WebRTC globals (idempotent; a browser-like Node process). */
export function installWrtcGlobals(): void {
  if (installed) return;
  installed = true;
  const g = globalThis as Record<string, unknown>;
  g['MediaStream'] = lib.MediaStream;
  g['RTCRtpReceiver'] = lib.RTCRtpReceiver;
  g['RTCPeerConnection'] = class BotPeerConnection extends lib.RTCPeerConnection {
    readonly #decode: boolean;
    constructor(config?: RTCConfiguration & { [NO_DECODE]?: boolean }) {
      const { [NO_DECODE]: noDecode, ...rest } = config ?? {};
      super(rest);
      this.#decode = !noDecode;
    }
    override async setLocalDescription(description?: RTCLocalSessionDescriptionInit): Promise<void> {
      // wrtc predates the implicit form (no SDP: the browser creates the offer or answer the
      // signaling state calls for), which the web app's PeerLink uses; do what a browser does.
      if (description?.type !== 'rollback' && !description?.sdp) {
        const answering = this.signalingState === 'have-remote-offer' || this.signalingState === 'have-local-pranswer';
        description = answering ? await this.createAnswer() : await this.createOffer();
      }
      if (!this.#decode && description.type === 'answer' && description.sdp) description = { type: 'answer', sdp: inactiveAudio(description.sdp) };
      return super.setLocalDescription(description);
    }
  };
}

/** `a=recvonly` → `a=inactive` in the audio m-sections of an SDP. */
function inactiveAudio(sdp: string): string {
  return sdp
    .split(/(?=^m=)/m)
    .map((section) => (section.startsWith('m=audio') ? section.replace(/^a=recvonly(?=\r?$)/m, 'a=inactive') : section))
    .join('');
}
