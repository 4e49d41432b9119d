import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789'; // no 0/o, 1/l: links are read aloud and typed

/** An unguessable id from a 32-letter alphabet (5 bits per character). */
export function randomId(length = 16): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[bytes[i]! & 31];
  return out;
}

/** A call-link room name like `kfw-pqzm-tnd` (50 bits): short enough to read, long enough not to guess. */
export function randomRoomName(): string {
  return `${randomId(3)}-${randomId(4)}-${randomId(3)}`;
}
