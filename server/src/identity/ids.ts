import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789'; // no 0/o, 1/l: links are read aloud and typed

/** An unguessable id from a 32-letter alphabet (5 bits per character). */
export function randomId(length = 16): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[bytes[i]! & 31];
  return out;
}

/**
 * A call-link room name like `kfwpq-zmtnd-8rx2c-a9bke-hw3qs-n` (26 characters, 130 bits): a link
 * is the key to the call, so it must not be guessable however many tries are made; the dashes
 * only help reading it aloud.
 */
export function randomRoomName(): string {
  const id = randomId(26);
  return `${id.slice(0, 5)}-${id.slice(5, 10)}-${id.slice(10, 15)}-${id.slice(15, 20)}-${id.slice(20, 25)}-${id.slice(25)}`;
}
