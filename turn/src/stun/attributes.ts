// Encoders/decoders for the attribute values the client needs.
import net from 'node:net';
import { FAMILY_IPV4, FAMILY_IPV6, MAGIC_COOKIE } from './constants.ts';

export interface TransportAddress {
  address: string;
  port: number;
}

export function ipv6ToBuffer(address: string): Buffer {
  let text = address.split('%')[0] ?? address;
  // embedded dotted IPv4 tail (e.g. ::ffff:1.2.3.4) -> two hex groups
  const dotted = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const b = dotted.slice(2).map(Number);
    text = `${dotted[1]}${(((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16)}:${(((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16)}`;
  }
  const halves = text.split('::');
  const left = halves[0] ? halves[0].split(':') : [];
  const right = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const groups = [...left, ...new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  const out = Buffer.alloc(16);
  groups.slice(0, 8).forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) & 0xffff, i * 2));
  return out;
}

function bufferToIpv6(buf: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(i).toString(16));
  // canonical compressed form via the URL parser
  return new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
}

/** XOR-MAPPED-ADDRESS / XOR-PEER-ADDRESS / XOR-RELAYED-ADDRESS value. */
export function encodeXorAddress(addr: TransportAddress, transactionId: Buffer): Buffer {
  const v6 = net.isIPv6(addr.address);
  const out = Buffer.alloc(v6 ? 20 : 8);
  out[1] = v6 ? FAMILY_IPV6 : FAMILY_IPV4;
  out.writeUInt16BE(addr.port ^ (MAGIC_COOKIE >>> 16), 2);
  const key = Buffer.alloc(16);
  key.writeUInt32BE(MAGIC_COOKIE, 0);
  transactionId.copy(key, 4);
  const raw = v6 ? ipv6ToBuffer(addr.address) : Buffer.from(addr.address.split('.').map(Number));
  for (let i = 0; i < raw.length; i++) out[4 + i] = (raw[i] ?? 0) ^ (key[i] ?? 0);
  return out;
}

export function decodeXorAddress(value: Buffer, transactionId: Buffer): TransportAddress {
  if (value.length < 8) throw new Error('address attribute too short');
  const family = value[1];
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  const key = Buffer.alloc(16);
  key.writeUInt32BE(MAGIC_COOKIE, 0);
  transactionId.copy(key, 4);
  const len = family === FAMILY_IPV6 ? 16 : 4;
  if (value.length < 4 + len) throw new Error('address attribute too short');
  const raw = Buffer.alloc(len);
  for (let i = 0; i < len; i++) raw[i] = (value[4 + i] ?? 0) ^ (key[i] ?? 0);
  return { address: family === FAMILY_IPV6 ? bufferToIpv6(raw) : [...raw].join('.'), port };
}

export interface ErrorCodeValue {
  code: number;
  reason: string;
}

export function encodeErrorCode({ code, reason }: ErrorCodeValue): Buffer {
  const text = Buffer.from(reason, 'utf8');
  const out = Buffer.alloc(4 + text.length);
  out[2] = Math.floor(code / 100) & 0x07;
  out[3] = code % 100;
  text.copy(out, 4);
  return out;
}

export function decodeErrorCode(value: Buffer): ErrorCodeValue {
  if (value.length < 4) throw new Error('ERROR-CODE too short');
  return { code: ((value[2] ?? 0) & 0x07) * 100 + (value[3] ?? 0), reason: value.toString('utf8', 4) };
}

export function encodeUInt32(n: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(n >>> 0, 0);
  return out;
}

/** CHANNEL-NUMBER: 16-bit number followed by 16 reserved bits. */
export function encodeChannelNumber(channel: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt16BE(channel, 0);
  return out;
}

/** REQUESTED-TRANSPORT / REQUESTED-ADDRESS-FAMILY: one byte followed by 3 reserved bytes. */
export function encodeByteAndReserved(value: number): Buffer {
  const out = Buffer.alloc(4);
  out[0] = value;
  return out;
}

export function decodeUnknownAttributes(value: Buffer): number[] {
  const types: number[] = [];
  for (let i = 0; i + 1 < value.length; i += 2) types.push(value.readUInt16BE(i));
  return types;
}
