import { randomBytes, timingSafeEqual } from 'node:crypto';

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

/** A secret to hand out (resume secrets, host secrets, admission tickets): 144 random bits. */
export function randomSecret(): string {
  return randomBytes(18).toString('base64url');
}

/** Compares a secret someone presented with ours in constant time. */
export function sameSecret(given: string, ours: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(ours);
  return a.length === b.length && timingSafeEqual(a, b);
}
