import type { types } from 'mediasoup';

/**
 * What the SFU routes: Opus (in-band FEC, DTX), H.264 Constrained Baseline with
 * packetization-mode 1 (hardware decoders everywhere), and VP8 for senders without H.264.
 */
export const MEDIA_CODECS: types.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48_000, channels: 2, parameters: { useinbandfec: 1, usedtx: 1 } },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90_000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90_000 },
];
