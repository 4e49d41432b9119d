/**
 * The bits of H.264 Annex B that frame encryption needs: where NAL units start, and emulation
 * prevention, so that ciphertext never contains a start code (00 00 01) that the sender's RTP
 * packetizer would split on, nor a run that a decoder reads as one.
 */

/** NAL unit types of coded slices: non-IDR (1) and IDR (5). */
const SLICE_TYPES = new Set([1, 5]);

/** Offsets of the NAL unit headers (the byte after each start code) of an Annex B frame. */
export function nalUnitStarts(data: Uint8Array): number[] {
  const starts: number[] = [];
  for (let i = 0; i + 2 < data.length; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      starts.push(i + 3);
      i += 2;
    }
  }
  return starts;
}

/**
 * How many leading bytes stay in the clear: every NAL unit before the first coded slice (SPS,
 * PPS, SEI, AUD) whole, then the slice's NAL header and one byte of its slice header. The SFU
 * and the receiver's depacketizer see the NAL types they need (keyframe detection, parameter
 * sets); everything after is the picture. -1 when the frame has no coded slice.
 */
/** Zero bytes at the end of `data[0, end)`, at most two. */
export function trailingZeros(data: Uint8Array, end: number): number {
  let n = 0;
  while (n < 2 && end - 1 - n >= 0 && data[end - 1 - n] === 0) n++;
  return n;
}

export function h264ClearBytes(data: Uint8Array): number {
  for (const start of nalUnitStarts(data)) {
    const type = (data[start] ?? 0) & 0x1f;
    if (SLICE_TYPES.has(type)) return Math.min(start + 2, data.length);
  }
  return -1;
}

/**
 * Inserts emulation-prevention bytes: after two zero bytes, a byte ≤ 3 gets a 0x03 before it.
 * `zeros`: zero bytes just before `data` in the frame (so no start code forms across the seam).
 */
export function escape(data: Uint8Array, zeros = 0): Uint8Array {
  const out = new Uint8Array(data.length + Math.ceil(data.length / 2) + 1);
  let n = 0;
  for (const b of data) {
    if (zeros >= 2 && b <= 3) {
      out[n++] = 3;
      zeros = 0;
    }
    out[n++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, n);
}

/** Removes emulation-prevention bytes (the 0x03 of each 00 00 03); `zeros` as for escape(). */
export function unescape(data: Uint8Array, zeros = 0): Uint8Array {
  const out = new Uint8Array(data.length);
  let n = 0;
  for (const b of data) {
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    out[n++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, n);
}
