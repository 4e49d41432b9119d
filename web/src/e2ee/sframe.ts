/**
 * SFrame (RFC 9605) with cipher suite AES_128_GCM_SHA256_128 (0x0004): the header encoding
 * (§4.3), the key and salt derivation from a base key (§4.4.2), and the per-frame nonce (§4.4.3).
 *
 * Where the header goes is callwire's one difference from the RFC's layout: RTP packetizers and
 * the SFU must still read a codec's own first bytes (an H.264 NAL header, a VP8 payload header),
 * so those stay in the clear at the front and the SFrame header travels at the end instead:
 *
 *     frame  = clear || body
 *     body   = ciphertext+tag || header || u8(header length)      (H.264: body escaped, see h264.ts)
 *     aad    = header || clear bytes that arrive unchanged (VP8 payload header; H.264 slice NAL header)
 *
 * The AEAD, key schedule and nonce are the RFC's unchanged.
 */

export const CIPHER_SUITE = 0x0004;
const KEY_BYTES = 16;
const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

const te = new TextEncoder();

export interface SframeHeader {
  kid: number;
  ctr: number;
}

/** Minimal big-endian bytes of n (at least one), for n < 2^53. */
function beBytes(n: number): number[] {
  const out: number[] = [];
  let v = n;
  do {
    out.unshift(v % 256);
    v = Math.floor(v / 256);
  } while (v > 0);
  return out;
}

/** §4.3: one config byte `X KKK Y CCC`, then the extended KID and CTR, if any. */
export function encodeHeader({ kid, ctr }: SframeHeader): Uint8Array {
  const out: number[] = [0];
  let config = 0;
  if (kid < 8) config |= kid << 4;
  else {
    const k = beBytes(kid);
    config |= 0x80 | ((k.length - 1) << 4);
    out.push(...k);
  }
  if (ctr < 8) config |= ctr;
  else {
    const c = beBytes(ctr);
    config |= 0x08 | (c.length - 1);
    out.push(...c);
  }
  out[0] = config;
  return Uint8Array.from(out);
}

/** Parses a header from its first byte on; null if truncated. */
export function decodeHeader(data: Uint8Array): (SframeHeader & { length: number }) | null {
  if (data.length < 1) return null;
  const config = data[0]!;
  let at = 1;
  const read = (len: number): number | null => {
    if (at + len > data.length) return null;
    let v = 0;
    for (let i = 0; i < len; i++) v = v * 256 + data[at + i]!;
    at += len;
    return v;
  };
  const kid = config & 0x80 ? read(((config >> 4) & 0x07) + 1) : (config >> 4) & 0x07;
  const ctr = config & 0x08 ? read((config & 0x07) + 1) : config & 0x07;
  if (kid === null || ctr === null) return null;
  return { kid, ctr, length: at };
}

/** The AEAD key and salt of one KID, derived from its base key (§4.4.2). */
export interface SframeKey {
  kid: number;
  key: CryptoKey;
  salt: Uint8Array;
}

function label(kind: 'key' | 'salt', kid: number): Uint8Array {
  const prefix = te.encode(`SFrame 1.0 Secret ${kind} `);
  const out = new Uint8Array(prefix.length + 8 + 2);
  out.set(prefix);
  const view = new DataView(out.buffer);
  view.setBigUint64(prefix.length, BigInt(kid));
  view.setUint16(prefix.length + 8, CIPHER_SUITE);
  return out;
}

/** sframe_key and sframe_salt: HKDF-SHA256 with an empty salt, as the RFC's Extract then Expand. */
export async function deriveKey(baseKey: Uint8Array, kid: number): Promise<SframeKey> {
  const ikm = await crypto.subtle.importKey('raw', baseKey as BufferSource, 'HKDF', false, ['deriveBits']);
  const hkdf = (info: Uint8Array, bytes: number) =>
    crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: info as BufferSource }, ikm, bytes * 8);
  const [keyBits, saltBits] = await Promise.all([hkdf(label('key', kid), KEY_BYTES), hkdf(label('salt', kid), NONCE_BYTES)]);
  const key = await crypto.subtle.importKey('raw', keyBits, 'AES-GCM', false, ['encrypt', 'decrypt']);
  return { kid, key, salt: new Uint8Array(saltBits) };
}

/** §4.4.3: the counter, big-endian in 12 bytes, XOR the salt. */
export function nonce(salt: Uint8Array, ctr: number): Uint8Array {
  const out = new Uint8Array(salt);
  let v = ctr;
  for (let i = NONCE_BYTES - 1; i >= 0 && v > 0; i--) {
    out[i]! ^= v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}
