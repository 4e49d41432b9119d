/**
 * Frame encryption on its own (WebCrypto in Node): SFrame headers and key derivation as RFC 9605
 * specifies them, what each codec keeps in the clear, H.264 ciphertext free of start codes, and
 * keys that change without losing the frames sent just before.
 */
import { describe, expect, it } from 'vitest';
import { FrameCrypto, sniffVideoCodec, type FrameInfo } from './FrameCrypto.ts';
import { escape, h264ClearBytes, nalUnitStarts, unescape } from './h264.ts';
import { decodeHeader, deriveKey, encodeHeader, nonce } from './sframe.ts';

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
const opus: FrameInfo = { kind: 'audio', codec: 'opus', keyframe: false };
const h264Key: FrameInfo = { kind: 'video', codec: 'h264', keyframe: true };
const vp8Key: FrameInfo = { kind: 'video', codec: 'vp8', keyframe: true };
const baseKey = hex('000102030405060708090a0b0c0d0e0f');

/** An IDR access unit as Chromium's encoder emits it: SPS, PPS, then the slice, with 4-byte start codes. */
function h264Frame(payload: Uint8Array): Uint8Array {
  const sps = hex('000000016742c01fda0140');
  const pps = hex('0000000168ce3c80');
  const slice = new Uint8Array([0, 0, 0, 1, 0x65, 0x88, ...payload]);
  return new Uint8Array([...sps, ...pps, ...slice]);
}

describe('SFrame (RFC 9605)', () => {
  it('encodes headers the RFC way: short KID and CTR in the config byte, longer ones after it', () => {
    expect(toHex(encodeHeader({ kid: 0, ctr: 0 }))).toBe('00');
    expect(toHex(encodeHeader({ kid: 7, ctr: 7 }))).toBe('77');
    expect(toHex(encodeHeader({ kid: 8, ctr: 0 }))).toBe('8008');
    expect(toHex(encodeHeader({ kid: 1, ctr: 0x1234 }))).toBe('191234');
    for (const h of [
      { kid: 0, ctr: 0 },
      { kid: 300, ctr: 2 ** 40 + 5 },
      { kid: 65535, ctr: 9 },
    ])
      expect(decodeHeader(encodeHeader(h))).toEqual({ ...h, length: encodeHeader(h).length });
  });

  it('matches the RFC 9605 test vector of AES_128_GCM_SHA256_128 (key schedule, nonce, AEAD)', async () => {
    // RFC 9605 Appendix C.4, cipher suite 0x0004.
    const k = await deriveKey(baseKey, 0x123);
    expect(toHex(k.salt)).toBe('75234edefe07819026751816');
    expect(toHex(nonce(k.salt, 0x4567))).toBe('75234edefe07819026755d71');
    const header = encodeHeader({ kid: 0x123, ctr: 0x4567 });
    expect(toHex(header)).toBe('9901234567');
    const aad = hex('99012345674945544620534672616d65205747');
    const pt = hex('64726166742d696574662d736672616d652d656e63');
    const ct = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv: nonce(k.salt, 0x4567) as BufferSource, additionalData: aad as BufferSource },
      k.key,
      pt as BufferSource,
    );
    expect(toHex(header) + toHex(new Uint8Array(ct))).toBe('9901234567b7412c2513a1b66dbb48841bbaf17f598751176ad847681a69c6d0b091c07018ce4adb34eb');
  });
});

describe('FrameCrypto', () => {
  it('Opus: the whole frame is ciphertext; the receiver with the key gets the frame back, one without it gets nothing', async () => {
    const alice = new FrameCrypto();
    await alice.setSendKey(1, baseKey);
    const bob = new FrameCrypto();
    await bob.addReceiveKey('alice', 1, baseKey);
    const frame = new TextEncoder().encode('a frame of opus audio, 20 ms of it');
    const sealed = (await alice.encrypt(frame, opus))!;
    expect(toHex(sealed)).not.toContain(toHex(frame.subarray(0, 8)));
    expect(await bob.decrypt('alice', sealed, opus)).toEqual({ ok: true, data: frame });
    expect(await new FrameCrypto().decrypt('alice', sealed, opus)).toEqual({ ok: false, reason: 'no-key' });
    const tampered = sealed.slice();
    tampered[0]! ^= 1;
    expect(await bob.decrypt('alice', tampered, opus)).toEqual({ ok: false, reason: 'auth' });
  });

  it('never sends a frame in the clear: without a key, encrypt refuses', async () => {
    expect(await new FrameCrypto().encrypt(new Uint8Array(10), opus)).toBeNull();
  });

  it('H.264: parameter sets and the slice NAL header stay readable, and the ciphertext holds no start code', async () => {
    const alice = new FrameCrypto();
    await alice.setSendKey(3, baseKey);
    const bob = new FrameCrypto();
    await bob.addReceiveKey('alice', 3, baseKey);
    // A payload full of zeros: the ciphertext and the header must still not form 00 00 0x.
    const frame = h264Frame(new Uint8Array(2_000));
    for (let i = 0; i < 50; i++) {
      const sealed = (await alice.encrypt(frame, h264Key))!;
      const clear = h264ClearBytes(frame);
      expect(sealed.subarray(0, clear)).toEqual(frame.subarray(0, clear));
      // Same NAL units as the plain frame: SPS, PPS, IDR slice — and no start code inside the ciphertext.
      expect(nalUnitStarts(sealed).map((s) => sealed[s]! & 0x1f)).toEqual([7, 8, 5]);
      expect(await bob.decrypt('alice', sealed, h264Key)).toEqual({ ok: true, data: frame });
    }
  });

  it('H.264 survives repacketization: the receiver may see 3-byte start codes where the sender had 4', async () => {
    const alice = new FrameCrypto();
    await alice.setSendKey(3, baseKey);
    const bob = new FrameCrypto();
    await bob.addReceiveKey('alice', 3, baseKey);
    const frame = h264Frame(Uint8Array.from({ length: 300 }, (_, i) => i % 7));
    const sealed = (await alice.encrypt(frame, h264Key))!;
    const shortCodes = sealed.slice(1); // the first 00 00 00 01 becomes 00 00 01
    const opened = await bob.decrypt('alice', shortCodes, h264Key);
    expect(opened.ok && toHex(opened.data)).toBe(toHex(frame.slice(1)));
  });

  it('VP8: the payload header stays in the clear (10 bytes of a keyframe, 3 of a delta frame)', async () => {
    const alice = new FrameCrypto();
    await alice.setSendKey(0, baseKey);
    const bob = new FrameCrypto();
    await bob.addReceiveKey('alice', 0, baseKey);
    const frame = Uint8Array.from({ length: 500 }, (_, i) => (i * 31) % 251);
    const sealed = (await alice.encrypt(frame, vp8Key))!;
    expect(sealed.subarray(0, 10)).toEqual(frame.subarray(0, 10));
    expect(sealed.subarray(10, 20)).not.toEqual(frame.subarray(10, 20));
    expect(await bob.decrypt('alice', sealed, vp8Key)).toEqual({ ok: true, data: frame });
    const delta = (await alice.encrypt(frame, { ...vp8Key, keyframe: false }))!;
    expect(delta.subarray(0, 3)).toEqual(frame.subarray(0, 3));
    expect(sniffVideoCodec(frame)).toBe('vp8');
    expect(sniffVideoCodec(h264Frame(new Uint8Array(4)))).toBe('h264');
  });

  it('a new key does not strand frames sent just before it; a participant removed has no keys left', async () => {
    const alice = new FrameCrypto();
    const bob = new FrameCrypto();
    const key2 = hex('ffeeddccbbaa99887766554433221100');
    await alice.setSendKey(1, baseKey);
    await bob.addReceiveKey('alice', 1, baseKey);
    const before = (await alice.encrypt(new Uint8Array([1, 2, 3]), opus))!;
    await alice.setSendKey(2, key2);
    await bob.addReceiveKey('alice', 2, key2);
    const after = (await alice.encrypt(new Uint8Array([4, 5, 6]), opus))!;
    // Out of order: the new key's frame first, then one sent before the change.
    expect((await bob.decrypt('alice', after, opus)).ok).toBe(true);
    expect((await bob.decrypt('alice', before, opus)).ok).toBe(true);
    bob.removeParticipant('alice');
    expect(await bob.decrypt('alice', after, opus)).toEqual({ ok: false, reason: 'no-key' });
  });

  it('a frame that overtakes its key waits for it (up to a bound) instead of being lost', async () => {
    const alice = new FrameCrypto();
    const bob = new FrameCrypto();
    await alice.setSendKey(9, baseKey);
    const sealed = (await alice.encrypt(new Uint8Array([7, 7, 7]), opus))!;
    expect(bob.kidOf(sealed, opus)).toBe(9);
    expect(await bob.decrypt('alice', sealed, opus)).toEqual({ ok: false, reason: 'no-key' });
    const waiting = bob.waitForKey('alice', 9, 2_000);
    setTimeout(() => void bob.addReceiveKey('alice', 9, baseKey), 30);
    expect(await waiting).toBe(true);
    expect((await bob.decrypt('alice', sealed, opus)).ok).toBe(true);
    expect(await bob.waitForKey('alice', 10, 20), 'a key that never comes: the wait ends').toBe(false);
  });

  it('emulation prevention round-trips any bytes, also across the seam with the clear part', () => {
    for (let n = 0; n < 200; n++) {
      const data = Uint8Array.from({ length: 64 }, () => [0, 0, 0, 1, 2, 3, 0xff][Math.floor(Math.random() * 7)]!);
      for (const zeros of [0, 1, 2]) {
        const e = escape(data, zeros);
        const seam = new Uint8Array([...new Array<number>(zeros).fill(0), ...e]);
        expect(nalUnitStarts(seam)).toEqual([]);
        expect(unescape(e, zeros)).toEqual(data);
      }
    }
  });
});
