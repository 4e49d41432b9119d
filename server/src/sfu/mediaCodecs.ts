import type { types } from 'mediasoup';

/**
 * What the SFU routes: Opus (in-band FEC, DTX), H.264 Constrained Baseline with
 * packetization-mode 1 (hardware decoders everywhere), and VP8 for senders without H.264.
 *
 * Audio is sent as RED (RFC 2198: each packet also carries the previous Opus frame) where the
 * browser can, listed first so mediasoup-client sends it; the worker passes it through
 * (scripts/mediasoup/worker-build.patch). A RED payload names its Opus payload type inside the
 * (end-to-end encrypted) payload, which the SFU cannot rewrite: so the router uses the payload
 * types browsers use themselves, 63 for RED and 111 for Opus (Chromium, Firefox, libwebrtc).
 */
export const MEDIA_CODECS: types.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/red', clockRate: 48_000, channels: 2, preferredPayloadType: 63 },
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48_000, channels: 2, preferredPayloadType: 111, parameters: { useinbandfec: 1, usedtx: 1 } },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90_000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90_000 },
];
