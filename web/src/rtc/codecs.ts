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

/**
 * RED (RFC 2198) first when `red`: each packet then carries the previous Opus frame again, so a
 * single lost packet costs nothing (Opus FEC alone only covers part of it, at low quality). It is
 * negotiated only where both sides offer it (P2P between browsers); the SFU keeps plain Opus.
 */
function audioRank(c: Codec, red: boolean): number {
  if (red && isMime(c, 'audio/red')) return 0;
  if (isMime(c, 'audio/opus')) return 1;
  if (/\/(red|telephone-event|cn)$/i.test(c.mimeType)) return 3;
  return 2;
}

export interface CodecOptions {
  /** Send Opus inside RED (redundant audio) where the other side can receive it. Default on. */
  red?: boolean;
}

export function sortCodecs(kind: 'audio' | 'video', codecs: readonly Codec[], options: CodecOptions = {}): Codec[] {
  const red = options.red ?? true;
  const rank = kind === 'video' ? videoRank : (c: Codec) => audioRank(c, red);
  return [...codecs]
    .map((c, i) => ({ c, i }))
    .sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i)
    .map(({ c }) => c);
}

/** Applies the preference order to every transceiver that can still negotiate. */
export function applyCodecPreferences(pc: RTCPeerConnection, options: CodecOptions = {}): void {
  for (const t of pc.getTransceivers()) {
    if (t.currentDirection === 'stopped' || typeof t.setCodecPreferences !== 'function') continue;
    const kind = t.receiver.track.kind as 'audio' | 'video';
    const caps = RTCRtpReceiver.getCapabilities(kind);
    if (!caps) continue;
    try {
      t.setCodecPreferences(sortCodecs(kind, caps.codecs, options));
    } catch (err) {
      console.warn('setCodecPreferences failed; using the browser default order', err);
    }
  }
}
