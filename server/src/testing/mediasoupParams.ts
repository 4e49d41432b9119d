/**
 * Parameters a real browser would send, for protocol-level SFU tests: valid for mediasoup, no
 * media behind them. Used by the SFU, echo-room and churn tests.
 */
import type { types } from 'mediasoup-client';

export const FAKE_DTLS: types.DtlsParameters = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AF:'.repeat(31) + 'AF' }] };

export const opusParams = (ssrc: number) => ({
  mid: '0',
  codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 }, rtcpFeedback: [] }],
  headerExtensions: [],
  encodings: [{ ssrc }],
  rtcp: { cname: `c${ssrc}`, reducedSize: true },
});

export const h264Params = (ssrc: number) => ({
  mid: '1',
  codecs: [
    {
      mimeType: 'video/H264',
      payloadType: 102,
      clockRate: 90000,
      parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
      rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
    },
  ],
  headerExtensions: [],
  encodings: [{ ssrc }],
  rtcp: { cname: `c${ssrc}`, reducedSize: true },
});
