/**
 * This device's end-to-end encryption identity: an ECDH P-256 key pair made with WebCrypto. The
 * private key is created non-extractable and kept in IndexedDB (`identityStore.ts`): script can
 * use it but never read it, and it never leaves the browser. The public key is published through
 * signaling (`room.join` `publicKey`).
 *
 * What it is used for:
 * - wrapping: each sender's media key travels to each participant encrypted under a key both
 *   derive from ECDH(sender, recipient) with HKDF — only that recipient can open it, and opening
 *   it proves it came from the holder of the sender's identity key;
 * - the safety code: a digest of everyone's public keys, equal on every device in the call.
 *
 * The guest device key (`key` in the handshake) is a different secret on purpose: the server
 * sees it (it binds a handle to a device), so it cannot protect anything from the server.
 */

const te = new TextEncoder();
const P256 = { name: 'ECDH', namedCurve: 'P-256' } as const;

export function toBase64Url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64Url(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export class Identity {
  private constructor(
    readonly keyPair: CryptoKeyPair,
    /** The raw public key (65 bytes, uncompressed P-256), base64url. */
    readonly publicKey: string,
  ) {}

  /** A new identity; the private key cannot be exported. */
  static async generate(): Promise<Identity> {
    const pair = (await crypto.subtle.generateKey(P256, false, ['deriveBits'])) as CryptoKeyPair;
    return Identity.from(pair);
  }

  static async from(pair: CryptoKeyPair): Promise<Identity> {
    const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
    return new Identity(pair, toBase64Url(raw));
  }

  /**
   * The key that wraps media keys between us and `peer`, for one room. Both sides derive the
   * same one: ECDH, then HKDF with the room as salt and both public keys, in sending order, in
   * the info — a key wrapped from A to B opens only as from A to B.
   */
  async #wrappingKey(peer: string, roomId: string, from: string, to: string): Promise<CryptoKey> {
    const peerKey = await crypto.subtle.importKey('raw', fromBase64Url(peer) as BufferSource, P256, false, []);
    const shared = await crypto.subtle.deriveBits({ name: 'ECDH', public: peerKey }, this.keyPair.privateKey, 256);
    const hkdf = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
    return crypto.subtle.deriveKey(
      { name: 'HKDF', hash: 'SHA-256', salt: te.encode(roomId), info: te.encode(`callwire e2ee key wrap v1|${from}|${to}`) },
      hkdf,
      { name: 'AES-GCM', length: 256 },
      false,
      ['encrypt', 'decrypt'],
    );
  }

  /** Our media key `keyId`, for the holder of `recipient`: IV (12) + ciphertext + tag, base64url. */
  async wrap(mediaKey: Uint8Array, recipient: string, roomId: string, keyId: number): Promise<string> {
    const key = await this.#wrappingKey(recipient, roomId, this.publicKey, recipient);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: te.encode(`${roomId}|${keyId}`) }, key, mediaKey as BufferSource);
    const out = new Uint8Array(12 + ct.byteLength);
    out.set(iv);
    out.set(new Uint8Array(ct), 12);
    return toBase64Url(out);
  }

  /** Opens a media key that the holder of `sender` wrapped for us; throws if it was not (or was altered). */
  async unwrap(wrapped: string, sender: string, roomId: string, keyId: number): Promise<Uint8Array> {
    const key = await this.#wrappingKey(sender, roomId, sender, this.publicKey);
    const bytes = fromBase64Url(wrapped);
    const pt = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: bytes.subarray(0, 12) as BufferSource, additionalData: te.encode(`${roomId}|${keyId}`) },
      key,
      bytes.subarray(12) as BufferSource,
    );
    return new Uint8Array(pt);
  }
}

/**
 * The call's safety code: 60 digits in 12 groups of 5, from SHA-512 over the sorted identity
 * keys of everyone in the call. Everyone who sees the same keys gets the same code; a server that
 * handed anyone a different key (to read their media) changes it on that device.
 */
export async function safetyCode(publicKeys: string[]): Promise<string> {
  const sorted = [...new Set(publicKeys)].sort();
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-512', te.encode(`callwire safety code v1|${sorted.join('|')}`)));
  const groups: string[] = [];
  for (let i = 0; i < 12; i++) {
    let v = 0;
    for (let j = 0; j < 5; j++) v = v * 256 + digest[i * 5 + j]!;
    groups.push(String(v % 100_000).padStart(5, '0'));
  }
  return groups.join(' ');
}
