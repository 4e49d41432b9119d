/**
 * Encrypts and decrypts encoded media frames (sframe.ts for the format). Holds our sending key
 * and every participant's receiving keys by KID, keeping the previous few so that a key change
 * never drops a frame that was sent just before it. Runs in the frame-transform worker, and in
 * Node for the tests: nothing here touches the DOM or WebRTC.
 *
 * What stays in the clear, by codec (so the SFU and the packetizers keep working):
 * - Opus (all audio): nothing.
 * - VP8: its payload header, 10 bytes of a keyframe, 3 of a delta frame.
 * - H.264: every NAL unit before the first coded slice, the slice's NAL header and one more byte;
 *   the rest is escaped against start-code emulation (h264.ts).
 */
import { escape, h264ClearBytes, trailingZeros, unescape } from './h264.ts';
import { decodeHeader, deriveKey, encodeHeader, nonce, TAG_BYTES, type SframeKey } from './sframe.ts';

export type FrameCodec = 'opus' | 'vp8' | 'h264' | 'other';

export interface FrameInfo {
  kind: 'audio' | 'video';
  /** From the frame's metadata (mimeType) when the browser gives it, else sniffed (`codecOf`). */
  codec: FrameCodec;
  keyframe: boolean;
}

/** Keys kept per participant: the current one and the ones just before it. */
const KEPT_KEYS = 3;
/** Counters stay below 2^48: one key never comes near wrapping (it changes with every join and leave). */
const MAX_CTR = 2 ** 48;

export type DecryptResult = { ok: true; data: Uint8Array } | { ok: false; reason: 'no-key' | 'malformed' | 'auth' };

export class FrameCrypto {
  #send: (SframeKey & { ctr: number }) | null = null;
  readonly #recv = new Map<string, SframeKey[]>();
  /** Decryptions waiting for a key that is on its way (`participant:kid`). */
  readonly #waiting = new Map<string, (() => void)[]>();

  /** Our new sending key: frames from now on use it. */
  async setSendKey(kid: number, baseKey: Uint8Array): Promise<void> {
    this.#send = { ...(await deriveKey(baseKey, kid)), ctr: 0 };
  }

  get sendKid(): number | null {
    return this.#send?.kid ?? null;
  }

  /** A participant's key (ours too, for the echo room). */
  async addReceiveKey(participantId: string, kid: number, baseKey: Uint8Array): Promise<void> {
    const key = await deriveKey(baseKey, kid);
    const list = (this.#recv.get(participantId) ?? []).filter((k) => k.kid !== kid);
    list.unshift(key);
    this.#recv.set(participantId, list.slice(0, KEPT_KEYS));
    const waiters = this.#waiting.get(`${participantId}:${kid}`) ?? [];
    this.#waiting.delete(`${participantId}:${kid}`);
    for (const wake of waiters) wake();
  }

  /**
   * Waits up to `ms` for a participant's key `kid` (frames under a new key can overtake the key:
   * a sender switches at once when someone leaves). True once it is there.
   */
  waitForKey(participantId: string, kid: number, ms: number): Promise<boolean> {
    if (this.#recv.get(participantId)?.some((k) => k.kid === kid)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const key = `${participantId}:${kid}`;
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const list = (this.#waiting.get(key) ?? []).filter((w) => w !== wake);
        if (list.length) this.#waiting.set(key, list);
        else this.#waiting.delete(key);
        resolve(false);
      }, ms);
      this.#waiting.set(key, [...(this.#waiting.get(key) ?? []), wake]);
    });
  }

  /** The KID a frame says it was sent under (null if it has no SFrame header). */
  kidOf(data: Uint8Array, info: FrameInfo): number | null {
    const clear = clearBytes(data, info);
    if (clear < 0) return null;
    const tail = data.subarray(Math.max(clear, data.length - 40));
    const body = info.codec === 'h264' ? unescape(tail) : tail;
    const length = body[body.length - 1] ?? 0;
    if (length < 1 || body.length < length + 1) return null;
    return decodeHeader(body.subarray(body.length - 1 - length, body.length - 1))?.kid ?? null;
  }

  removeParticipant(participantId: string): void {
    this.#recv.delete(participantId);
  }

  /** null: no sending key yet (the frame must not leave in the clear) or a frame we cannot protect. */
  async encrypt(data: Uint8Array, info: FrameInfo): Promise<Uint8Array | null> {
    const send = this.#send;
    if (!send || send.ctr >= MAX_CTR) return null;
    const clear = clearBytes(data, info);
    if (clear < 0) return null;
    const header = encodeHeader({ kid: send.kid, ctr: send.ctr });
    const iv = nonce(send.salt, send.ctr++);
    const aad = concat(header, authenticatedClear(data, clear, info));
    const ct = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv: iv as BufferSource, additionalData: aad as BufferSource, tagLength: TAG_BYTES * 8 },
        send.key,
        data.subarray(clear) as BufferSource,
      ),
    );
    const body = concat(ct, header, Uint8Array.of(header.length));
    return concat(data.subarray(0, clear), info.codec === 'h264' ? escape(body, trailingZeros(data, clear)) : body);
  }

  async decrypt(participantId: string, data: Uint8Array, info: FrameInfo): Promise<DecryptResult> {
    const clear = clearBytes(data, info);
    if (clear < 0) return { ok: false, reason: 'malformed' };
    const body = info.codec === 'h264' ? unescape(data.subarray(clear), trailingZeros(data, clear)) : data.subarray(clear);
    const headerLength = body[body.length - 1] ?? 0;
    if (headerLength < 1 || body.length < headerLength + 1 + TAG_BYTES) return { ok: false, reason: 'malformed' };
    const headerBytes = body.subarray(body.length - 1 - headerLength, body.length - 1);
    const header = decodeHeader(headerBytes);
    if (!header || header.length !== headerLength) return { ok: false, reason: 'malformed' };
    const key = this.#recv.get(participantId)?.find((k) => k.kid === header.kid);
    if (!key) return { ok: false, reason: 'no-key' };
    const aad = concat(headerBytes, authenticatedClear(data, clear, info));
    try {
      const pt = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: nonce(key.salt, header.ctr) as BufferSource, additionalData: aad as BufferSource, tagLength: TAG_BYTES * 8 },
        key.key,
        body.subarray(0, body.length - 1 - headerLength) as BufferSource,
      );
      return { ok: true, data: concat(data.subarray(0, clear), new Uint8Array(pt)) };
    } catch {
      return { ok: false, reason: 'auth' };
    }
  }
}

/** What a codec keeps in the clear (see the file comment); -1 if the frame cannot be protected. */
export function clearBytes(data: Uint8Array, info: FrameInfo): number {
  if (info.kind === 'audio') return 0;
  if (info.codec === 'vp8') return Math.min(data.length, info.keyframe ? 10 : 3);
  if (info.codec === 'h264') return h264ClearBytes(data);
  return 0;
}

/**
 * The clear bytes that reach the receiver exactly as sent go into the AAD: all of VP8's, and of
 * H.264 only the slice's two (the parameter sets before it may be repacketized: STAP-A, start
 * code length).
 */
function authenticatedClear(data: Uint8Array, clear: number, info: FrameInfo): Uint8Array {
  if (info.codec === 'h264') return data.subarray(Math.max(0, clear - 2), clear);
  return data.subarray(0, clear);
}

/** The codec of a video frame from its first bytes, when the browser does not say: Annex B start code → H.264. */
export function sniffVideoCodec(data: Uint8Array): FrameCodec {
  const startCode = data[0] === 0 && data[1] === 0 && (data[2] === 1 || (data[2] === 0 && data[3] === 1));
  return startCode ? 'h264' : 'vp8';
}

/** The codec from a mime type (`video/H264`, `audio/opus`…). */
export function codecOf(mimeType: string | undefined, kind: 'audio' | 'video', data: Uint8Array): FrameCodec {
  const m = mimeType?.toLowerCase() ?? '';
  if (kind === 'audio') return 'opus';
  if (m.endsWith('/h264')) return 'h264';
  if (m.endsWith('/vp8')) return 'vp8';
  if (m) return 'other';
  return sniffVideoCodec(data);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
