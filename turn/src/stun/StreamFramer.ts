// Splits a TCP/TLS byte stream into STUN messages and ChannelData messages
// (RFC 5766 section 2.1 / 11.5: over streams ChannelData is padded to 4 bytes).
import { HEADER_LENGTH, MAGIC_COOKIE } from './constants.ts';

/** Largest frame accepted: a STUN length field tops out at 65535 + header. */
const MAX_FRAME = HEADER_LENGTH + 0xffff;

export class StreamFramer {
  private buffer: Buffer = Buffer.alloc(0);
  private failed = false;

  /**
   * Appends `chunk` and returns the complete frames now available.
   * Throws once the stream is not STUN/ChannelData framed (the caller closes the connection).
   */
  push(chunk: Buffer): Buffer[] {
    if (this.failed) throw new Error('stream framing already failed');
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const frames: Buffer[] = [];
    while (this.buffer.length >= 4) {
      const first = this.buffer[0] ?? 0;
      let frameLength: number;
      let consumed: number;
      if ((first & 0xc0) === 0x00) {
        if (this.buffer.length < 8) break;
        // a TLS ClientHello on the plain TCP port (or other junk) fails here
        if (this.buffer.readUInt32BE(4) !== MAGIC_COOKIE) {
          this.failed = true;
          throw new Error('not a STUN/ChannelData stream (bad magic cookie)');
        }
        frameLength = HEADER_LENGTH + this.buffer.readUInt16BE(2);
        consumed = frameLength;
      } else if ((first & 0xc0) === 0x40) {
        const dataLength = this.buffer.readUInt16BE(2);
        frameLength = 4 + dataLength;
        consumed = frameLength + ((4 - (dataLength % 4)) % 4);
      } else {
        this.failed = true;
        throw new Error('not a STUN/ChannelData stream');
      }
      if (consumed > MAX_FRAME + 3) {
        this.failed = true;
        throw new Error('frame too large');
      }
      if (this.buffer.length < consumed) break;
      frames.push(this.buffer.subarray(0, frameLength));
      this.buffer = this.buffer.subarray(consumed);
    }
    return frames;
  }

  /** Bytes buffered waiting for the rest of a frame. */
  get pending(): number {
    return this.buffer.length;
  }
}
