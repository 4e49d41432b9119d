// Minimal STUN message codec (RFC 5389 section 6/15) used by the Node TURN client and tests.
import crypto from 'node:crypto';
import { HEADER_LENGTH, MAGIC_COOKIE, StunAttr, type StunClass } from './constants.ts';

export interface StunAttribute {
  type: number;
  value: Buffer;
}

export interface EncodeOptions {
  /** Long-term (or short-term) credential key: adds MESSAGE-INTEGRITY. */
  integrityKey?: Buffer;
  /** Adds FINGERPRINT (after MESSAGE-INTEGRITY). */
  fingerprint?: boolean;
}

const FINGERPRINT_XOR = 0x5354554e;

let crcTable: Uint32Array | undefined;
function crc32(buf: Buffer): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of buf) crc = (crcTable[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Key of the long-term credential mechanism: MD5(username ":" realm ":" password). */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return crypto.createHash('md5').update(`${username}:${realm}:${password}`).digest();
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

export class StunMessage {
  readonly method: number;
  readonly cls: StunClass;
  readonly transactionId: Buffer;
  readonly attributes: StunAttribute[];
  /** Raw bytes this message was decoded from (for integrity checks). */
  private raw: Buffer | undefined;

  constructor(method: number, cls: StunClass, transactionId: Buffer = crypto.randomBytes(12), attributes: StunAttribute[] = []) {
    this.method = method;
    this.cls = cls;
    this.transactionId = transactionId;
    this.attributes = attributes;
  }

  /** True when the buffer starts like a STUN message (top bits 00 and the magic cookie). */
  static isStun(buf: Buffer): boolean {
    return buf.length >= HEADER_LENGTH && ((buf[0] ?? 0xff) & 0xc0) === 0 && buf.readUInt32BE(4) === MAGIC_COOKIE;
  }

  /** Decodes one message; returns null when it is not valid STUN. */
  static decode(buf: Buffer): StunMessage | null {
    if (!StunMessage.isStun(buf)) return null;
    const length = buf.readUInt16BE(2);
    if (length % 4 !== 0 || HEADER_LENGTH + length > buf.length) return null;
    const type = buf.readUInt16BE(0);
    const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
    const cls = (((type & 0x0100) >> 7) | ((type & 0x0010) >> 4)) as StunClass;
    const attributes: StunAttribute[] = [];
    let offset = HEADER_LENGTH;
    const end = HEADER_LENGTH + length;
    while (offset + 4 <= end) {
      const attrType = buf.readUInt16BE(offset);
      const attrLen = buf.readUInt16BE(offset + 2);
      if (offset + 4 + attrLen > end) return null;
      attributes.push({ type: attrType, value: Buffer.from(buf.subarray(offset + 4, offset + 4 + attrLen)) });
      offset += 4 + attrLen + pad4(attrLen);
    }
    const msg = new StunMessage(method, cls, Buffer.from(buf.subarray(8, 20)), attributes);
    msg.raw = Buffer.from(buf.subarray(0, end));
    return msg;
  }

  add(type: number, value: Buffer): this {
    this.attributes.push({ type, value });
    return this;
  }

  get(type: number): Buffer | undefined {
    return this.attributes.find((a) => a.type === type)?.value;
  }

  getAll(type: number): Buffer[] {
    return this.attributes.filter((a) => a.type === type).map((a) => a.value);
  }

  encode(options: EncodeOptions = {}): Buffer {
    const parts: Buffer[] = [];
    for (const attr of this.attributes) {
      if (attr.type === StunAttr.MessageIntegrity || attr.type === StunAttr.Fingerprint) continue;
      const header = Buffer.alloc(4);
      header.writeUInt16BE(attr.type, 0);
      header.writeUInt16BE(attr.value.length, 2);
      parts.push(header, attr.value, Buffer.alloc(pad4(attr.value.length)));
    }
    const type = (this.method & 0x000f) | ((this.method & 0x0070) << 1) | ((this.method & 0x0f80) << 2) | ((this.cls & 0b01) << 4) | ((this.cls & 0b10) << 7);
    const header = Buffer.alloc(HEADER_LENGTH);
    header.writeUInt16BE(type, 0);
    header.writeUInt32BE(MAGIC_COOKIE, 4);
    this.transactionId.copy(header, 8);
    let body = Buffer.concat(parts);
    if (options.integrityKey) {
      // the length field covers MESSAGE-INTEGRITY itself when the HMAC is computed
      header.writeUInt16BE(body.length + 24, 2);
      const hmac = crypto.createHmac('sha1', options.integrityKey).update(header).update(body).digest();
      const attr = Buffer.alloc(4);
      attr.writeUInt16BE(StunAttr.MessageIntegrity, 0);
      attr.writeUInt16BE(20, 2);
      body = Buffer.concat([body, attr, hmac]);
    }
    if (options.fingerprint) {
      header.writeUInt16BE(body.length + 8, 2);
      const crc = (crc32(Buffer.concat([header, body])) ^ FINGERPRINT_XOR) >>> 0;
      const attr = Buffer.alloc(8);
      attr.writeUInt16BE(StunAttr.Fingerprint, 0);
      attr.writeUInt16BE(4, 2);
      attr.writeUInt32BE(crc, 4);
      body = Buffer.concat([body, attr]);
    }
    header.writeUInt16BE(body.length, 2);
    return Buffer.concat([header, body]);
  }

  /** Verifies MESSAGE-INTEGRITY of a decoded message with `key`. */
  verifyIntegrity(key: Buffer): boolean {
    const raw = this.raw;
    if (!raw) return false;
    let offset = HEADER_LENGTH;
    while (offset + 4 <= raw.length) {
      const type = raw.readUInt16BE(offset);
      const len = raw.readUInt16BE(offset + 2);
      if (type === StunAttr.MessageIntegrity) {
        if (len !== 20 || offset + 24 > raw.length) return false;
        const covered = Buffer.from(raw.subarray(0, offset));
        covered.writeUInt16BE(offset - HEADER_LENGTH + 24, 2);
        const expected = crypto.createHmac('sha1', key).update(covered).digest();
        return crypto.timingSafeEqual(expected, raw.subarray(offset + 4, offset + 24));
      }
      offset += 4 + len + pad4(len);
    }
    return false;
  }
}
