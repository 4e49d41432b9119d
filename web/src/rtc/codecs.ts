/**
 * Codec preferences: H.264 Constrained Baseline (42e01f, packetization-mode=1) first because
 * every browser and phone decodes it in hardware; VP8 only for a peer without H.264; Opus for audio.
 */
type Codec = RTCRtpCodec & { sdpFmtpLine?: string };

const fmtp = (c: Codec) => (c.sdpFmtpLine ?? '').toLowerCase();
const isMime = (c: Codec, mime: string) => c.mimeType.toLowerCase() === mime;

function videoRank(c: Codec): number {
  if (isMime(c, 'video/h264')) {
    const baseline = fmtp(c).includes('profile-level-id=42e01f');
    const mode1 = fmtp(c).includes('packetization-mode=1');
    return baseline && mode1 ? 0 : baseline ? 1 : 2;
  }
  if (isMime(c, 'video/vp8')) return 3;
  // rtx, red, ulpfec and flexfec must stay in the list or Chromium drops retransmission/FEC.
  if (/\/(rtx|red|ulpfec|flexfec-03)$/i.test(c.mimeType)) return 5;
  return 4;
}

function audioRank(c: Codec): number {
  if (isMime(c, 'audio/opus')) return 0;
  if (/\/(red|telephone-event|cn)$/i.test(c.mimeType)) return 2;
  return 1;
}

export function sortCodecs(kind: 'audio' | 'video', codecs: readonly Codec[]): Codec[] {
  const rank = kind === 'video' ? videoRank : audioRank;
  return [...codecs]
    .map((c, i) => ({ c, i }))
    .sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i)
    .map(({ c }) => c);
}

/** Applies the preference order to every transceiver that can still negotiate. */
export function applyCodecPreferences(pc: RTCPeerConnection): void {
  for (const t of pc.getTransceivers()) {
    if (t.currentDirection === 'stopped' || typeof t.setCodecPreferences !== 'function') continue;
    const kind = t.receiver.track.kind as 'audio' | 'video';
    const caps = RTCRtpReceiver.getCapabilities(kind);
    if (!caps) continue;
    try {
      t.setCodecPreferences(sortCodecs(kind, caps.codecs));
    } catch (err) {
      console.warn('setCodecPreferences failed; using the browser default order', err);
    }
  }
}
