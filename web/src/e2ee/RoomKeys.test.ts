/**
 * The key schedule with real cryptography (WebCrypto identities, FrameCrypto as the worker) and a
 * relay in place of the server: who can decrypt what as people join and leave, keys a relay
 * tampers with, and the safety code.
 */
import { describe, expect, it } from 'vitest';
import type { ParticipantInfo } from '@protocol';
import type { FrameCounts, FrameKeys } from '../model/ports.ts';
import { FakeSignaling, participant } from '../model/testing/fakes.ts';
import { FrameCrypto, type FrameInfo } from './FrameCrypto.ts';
import { Identity } from './Identity.ts';
import { RoomKeys } from './RoomKeys.ts';

const opus: FrameInfo = { kind: 'audio', codec: 'opus', keyframe: false };
const settle = () => new Promise((r) => setTimeout(r, 60));

/** The worker, in-process: FrameCrypto behind the FrameKeys port. */
class CryptoFrames implements FrameKeys {
  readonly crypto = new FrameCrypto();
  enabled = false;
  #queue: Promise<void> = Promise.resolve();
  setEnabled(on: boolean): void {
    this.enabled = on;
  }
  setSendKey(kid: number, key: Uint8Array): void {
    this.#queue = this.#queue.then(() => this.crypto.setSendKey(kid, key));
  }
  addReceiveKey(participantId: string, kid: number, key: Uint8Array): void {
    this.#queue = this.#queue.then(() => this.crypto.addReceiveKey(participantId, kid, key));
  }
  removeParticipant(participantId: string): void {
    this.#queue = this.#queue.then(() => this.crypto.removeParticipant(participantId));
  }
  async counts(): Promise<FrameCounts> {
    return { encrypted: {}, decrypted: {}, dropped: {}, senders: 0, receivers: 0 };
  }
  close(): void {}
  idle(): Promise<void> {
    return this.#queue;
  }
}

interface Person {
  info: ParticipantInfo;
  signaling: FakeSignaling;
  frames: CryptoFrames;
  keys: RoomKeys;
  identity: Identity;
}

/** A room on a relay that forwards `e2ee.key` as the server does (or tampers, with `relay`). */
function room(relay: (m: { to: string; from: string; keyId: number; wrapped: string }) => string | null = (m) => m.wrapped) {
  const people = new Map<string, Person>();
  async function join(name: string, identity?: Identity): Promise<Person> {
    const id = identity ?? (await Identity.generate());
    const info = participant(name, { publicKey: id.publicKey });
    const signaling = new FakeSignaling();
    const frames = new CryptoFrames();
    const keys = new RoomKeys(signaling, 'team', id, frames);
    signaling.handle('e2ee.key', (req) => {
      const wrapped = relay({ to: req.to, from: info.id, keyId: req.keyId, wrapped: req.wrapped });
      if (wrapped) people.get(req.to)?.signaling.push('e2ee.key', { roomId: 'team', from: info.id, keyId: req.keyId, wrapped });
      return {};
    });
    const me: Person = { info, signaling, frames, keys, identity: id };
    keys.start(
      info,
      [...people.values()].map((p) => p.info),
      true,
    );
    for (const p of people.values()) p.keys.joined(info);
    people.set(info.id, me);
    await settle();
    return me;
  }
  function leave(p: Person): void {
    people.delete(p.info.id);
    p.keys.close();
    for (const other of people.values()) other.keys.left(p.info.id);
  }
  return { join, leave, people };
}

/** Whether `receiver` can open a frame `sender` encrypts now. */
async function canDecrypt(sender: Person, receiver: Person): Promise<boolean> {
  await sender.frames.idle();
  await receiver.frames.idle();
  const sealed = await sender.frames.crypto.encrypt(new TextEncoder().encode('hello'), opus);
  if (!sealed) return false;
  return (await receiver.frames.crypto.decrypt(sender.info.id, sealed, opus)).ok;
}

describe('RoomKeys', () => {
  it('everyone in the room can decrypt everyone, and their own frames too (the echo room)', async () => {
    const r = room();
    const ann = await r.join('Ann');
    const ben = await r.join('Ben');
    const cat = await r.join('Cat');
    await settle();
    for (const s of [ann, ben, cat]) for (const d of [ann, ben, cat]) expect(await canDecrypt(s, d), `${s.info.name} → ${d.info.name}`).toBe(true);
  });

  it('someone who left cannot decrypt what is sent after they left', async () => {
    const r = room();
    const ann = await r.join('Ann');
    const ben = await r.join('Ben');
    const cat = await r.join('Cat');
    await settle();
    expect(await canDecrypt(ann, cat)).toBe(true);
    r.leave(cat);
    await settle();
    // Cat kept every key she ever had, and still cannot open Ann's or Ben's new frames.
    expect(await canDecrypt(ann, cat)).toBe(false);
    expect(await canDecrypt(ben, cat)).toBe(false);
    expect(await canDecrypt(ann, ben)).toBe(true);
  });

  it('a newcomer cannot decrypt what was sent before they joined', async () => {
    const r = room();
    const ann = await r.join('Ann');
    const ben = await r.join('Ben');
    await settle();
    const before = (await ann.frames.crypto.encrypt(new TextEncoder().encode('before'), opus))!;
    const dan = await r.join('Dan');
    await settle();
    expect((await dan.frames.crypto.decrypt(ann.info.id, before, opus)).ok).toBe(false);
    expect(await canDecrypt(ann, dan)).toBe(true);
    expect(await canDecrypt(ben, dan)).toBe(true);
  });

  it('a key the relay altered, or wrapped for someone else, is refused', async () => {
    const errors: string[] = [];
    const r = room((m) => (m.wrapped.startsWith('A') ? `B${m.wrapped.slice(1)}` : `A${m.wrapped.slice(1)}`));
    const ann = await r.join('Ann');
    const ben = await r.join('Ben');
    ann.keys.on('error', (e) => errors.push(e.message));
    ben.keys.on('error', (e) => errors.push(e.message));
    ben.keys.left(ann.info.id);
    ben.keys.joined(ann.info);
    await settle();
    expect(await canDecrypt(ben, ann)).toBe(false);
    expect(errors.some((e) => e.includes('did not open'))).toBe(true);
  });

  it('a key that arrives before we know who sent it is kept and used once we do', async () => {
    const ann = await Identity.generate();
    const ben = await Identity.generate();
    const annInfo = participant('Ann', { publicKey: ann.publicKey });
    const benInfo = participant('Ben', { publicKey: ben.publicKey });
    const signaling = new FakeSignaling();
    signaling.handle('e2ee.key', () => ({}));
    const frames = new CryptoFrames();
    const keys = new RoomKeys(signaling, 'team', ann, frames);
    keys.start(annInfo, [], true);
    // Ben's key overtakes the news that Ben joined.
    const benFrames = new FrameCrypto();
    const base = crypto.getRandomValues(new Uint8Array(16));
    await benFrames.setSendKey(5, base);
    signaling.push('e2ee.key', { roomId: 'team', from: benInfo.id, keyId: 5, wrapped: await ben.wrap(base, ann.publicKey, 'team', 5) });
    await settle();
    keys.joined(benInfo);
    await settle();
    await frames.idle();
    const sealed = (await benFrames.encrypt(new Uint8Array([1, 2, 3]), opus))!;
    expect((await frames.crypto.decrypt(benInfo.id, sealed, opus)).ok).toBe(true);
  });

  it('the safety code is the same for everyone, and changes when a participant’s key is replaced', async () => {
    const r = room();
    const ann = await r.join('Ann');
    const ben = await r.join('Ben');
    const cat = await r.join('Cat');
    const codes = await Promise.all([ann, ben, cat].map((p) => p.keys.safetyCode()));
    expect(codes[0]).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(new Set(codes).size).toBe(1);
    // A server that tells Ann that Cat's key is one of its own: Ann's code no longer matches.
    const mallory = await Identity.generate();
    ann.keys.updated({ ...cat.info, publicKey: mallory.publicKey });
    expect(await ann.keys.safetyCode()).not.toBe(codes[0]);
    expect(await ben.keys.safetyCode()).toBe(codes[0]);
  });
});
