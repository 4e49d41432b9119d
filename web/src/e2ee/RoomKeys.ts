/**
 * The key schedule of one end-to-end encrypted room. Each participant encrypts what it sends
 * under a random media key of its own (SFrame base key, 128 bits) and sends that key to every
 * other participant, wrapped to their identity key (`e2ee.key`); the server relays it without
 * being able to open it.
 *
 * A new media key on every change of who is in the room, used at once:
 * - someone joins: they get only the new key, so they cannot decrypt what was sent before;
 * - someone leaves: they never get the new key, so they cannot decrypt what follows.
 * The others get the new key too. Frames under it can reach them before the key does (signaling
 * and media take different paths): their frame worker holds such frames until the key arrives
 * (up to a second) rather than drop them, and keeps the previous keys for frames sent just before
 * the change — so a change of keys costs no frame (freezes measured in docs/benchmarks.md).
 *
 * Runs with ports only (signaling, identity, frame keys), so its tests use fakes.
 */
import { SignalingError, type ParticipantInfo } from '@protocol';
import { Emitter } from '../lib/Emitter.ts';
import type { FrameKeys, KeyAgreement, SignalingPort } from '../model/ports.ts';
import { safetyCode } from './Identity.ts';

const KEY_BYTES = 16;
/** Key ids run 0..65535 (the protocol's range), then wrap: old ones are long gone by then. */
const KID_RANGE = 0x10000;
/** A key to someone who is reconnecting: tried again a few times, a second apart. */
const DELIVERY_ATTEMPTS = 5;
/**
 * Keys from someone we do not know yet are kept (a few per sender, for a while): a key can arrive
 * just before the join answer or the `participantJoined` that tells us who sent it.
 */
const PENDING_PER_SENDER = 4;
const PENDING_MS = 30_000;

export type RoomKeysEvents = {
  /** The people (and so the safety code) changed. */
  changed: [];
  /** A key could not be delivered or opened. */
  error: [Error];
};

export class RoomKeys extends Emitter<RoomKeysEvents> {
  #selfId: string | null = null;
  /** Participants' identity keys, by participant id. */
  readonly #keys = new Map<string, string>();
  #kid = Math.floor(Math.random() * KID_RANGE);
  #current: { kid: number; key: Uint8Array } | null = null;
  readonly #pending = new Map<string, { kid: number; wrapped: string; at: number }[]>();
  #off: (() => void)[] = [];
  #closed = false;

  constructor(
    private readonly signaling: SignalingPort,
    private readonly roomId: string,
    private readonly identity: KeyAgreement,
    private readonly frames: FrameKeys,
  ) {
    super();
    this.#off.push(
      signaling.onEvent('e2ee.key', (m) => {
        if (m.roomId === roomId && !this.#closed) void this.#receive(m.from, m.keyId, m.wrapped);
      }),
    );
  }

  get publicKey(): string {
    return this.identity.publicKey;
  }

  /** The current media key id we send under (tests). */
  get sendKid(): number | null {
    return this.#current?.kid ?? null;
  }

  /** After (re)joining: who is there, and whether the room is encrypted. A fresh key for all of them. */
  start(self: ParticipantInfo, participants: ParticipantInfo[], encrypted: boolean): void {
    this.#selfId = self.id;
    this.#keys.clear();
    for (const p of participants) if (p.publicKey) this.#keys.set(p.id, p.publicKey);
    this.frames.setEnabled(encrypted);
    this.#rekey();
    for (const p of participants) this.#drainPending(p.id);
    this.emit('changed');
  }

  setEncrypted(encrypted: boolean): void {
    this.frames.setEnabled(encrypted);
  }

  joined(p: ParticipantInfo): void {
    if (!p.publicKey || p.id === this.#selfId || this.#keys.get(p.id) === p.publicKey) return;
    this.#keys.set(p.id, p.publicKey);
    this.#rekey();
    this.#drainPending(p.id);
    this.emit('changed');
  }

  /** Their identity key changed (it should not): the safety code shows it. */
  updated(p: ParticipantInfo): void {
    if (!p.publicKey || this.#keys.get(p.id) === p.publicKey) return;
    this.#keys.set(p.id, p.publicKey);
    this.#rekey();
    this.emit('changed');
  }

  left(participantId: string): void {
    if (!this.#keys.delete(participantId)) return;
    this.frames.removeParticipant(participantId);
    this.#rekey();
    this.emit('changed');
  }

  /** The call's safety code: ours and everyone's identity keys. */
  safetyCode(): Promise<string> {
    return safetyCode([this.identity.publicKey, ...this.#keys.values()]);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#off.splice(0)) off();
    this.removeAllListeners();
  }

  /** A new media key, handed to everyone and sent under at once. */
  #rekey(): void {
    if (this.#closed || !this.#selfId) return;
    this.#kid = (this.#kid + 1) % KID_RANGE;
    const next = { kid: this.#kid, key: crypto.getRandomValues(new Uint8Array(KEY_BYTES)) };
    // We receive our own frames in an echo room.
    this.frames.addReceiveKey(this.#selfId, next.kid, next.key);
    for (const [id, publicKey] of this.#keys) void this.#deliver(id, publicKey, next.kid, next.key);
    this.#current = next;
    this.frames.setSendKey(next.kid, next.key);
  }

  async #deliver(to: string, publicKey: string, kid: number, key: Uint8Array): Promise<void> {
    try {
      const wrapped = await this.identity.wrap(key, publicKey, this.roomId, kid);
      for (let attempt = 1; ; attempt++) {
        if (this.#closed || this.#keys.get(to) !== publicKey) return;
        try {
          await this.signaling.request('e2ee.key', { roomId: this.roomId, to, keyId: kid, wrapped });
          return;
        } catch (err) {
          if (!(err instanceof SignalingError) || err.code !== 'invalid-state' || attempt >= DELIVERY_ATTEMPTS) throw err;
          await new Promise((r) => setTimeout(r, 1_000));
        }
      }
    } catch (err) {
      this.emit('error', new Error(`could not give ${to} our media key: ${(err as Error).message}`));
    }
  }

  /** Keys that came from `from` before we knew them. */
  #drainPending(from: string): void {
    const list = this.#pending.get(from);
    this.#pending.delete(from);
    for (const k of list ?? []) if (performance.now() - k.at < PENDING_MS) void this.#receive(from, k.kid, k.wrapped);
  }

  async #receive(from: string, kid: number, wrapped: string): Promise<void> {
    const publicKey = this.#keys.get(from);
    if (!publicKey) {
      const list = [...(this.#pending.get(from) ?? []), { kid, wrapped, at: performance.now() }];
      this.#pending.set(from, list.slice(-PENDING_PER_SENDER));
      // Bounded in senders too: whoever sends keys in our name cannot grow this without end.
      if (this.#pending.size > 64) this.#pending.delete(this.#pending.keys().next().value!);
      return;
    }
    try {
      const key = await this.identity.unwrap(wrapped, publicKey, this.roomId, kid);
      if (!this.#closed && this.#keys.get(from) === publicKey) this.frames.addReceiveKey(from, kid, key);
    } catch {
      // Someone (the server?) sent a key that was not wrapped for us by that participant.
      this.emit('error', new Error(`a media key said to be from ${from} did not open with their identity key: ignored`));
    }
  }
}
