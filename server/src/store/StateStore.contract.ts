/**
 * The one contract every StateStore passes (SqliteStore.test.ts and RedisStore.test.ts run it
 * against a real SQLite file and a real redis-server).
 */
import { describe, expect, it } from 'vitest';
import type { MissedCall } from '../protocol/index.ts';
import type { PendingCall, StateStore, StoreError } from './StateStore.ts';

export interface StoreFixture {
  store: StateStore;
  /** Writes a raw missed-call row as an old or broken version might have left it. */
  insertRaw(handle: string, id: string, record: string): Promise<void> | void;
  /** Errors the store reported while reading (corrupt rows). */
  reported: StoreError[];
}

const missed = (id: string, at = 1_000): MissedCall => ({
  id,
  callId: `call${id}`,
  from: { handle: 'ann', name: 'Ann' },
  video: true,
  at,
  reason: 'no-answer',
});
const pending = (id: string, node: string): PendingCall => ({ id, caller: { handle: 'ann', name: 'Ann' }, callee: 'ben', video: false, at: 5, node });

export function stateStoreContract(
  name: string,
  open: () => Promise<StoreFixture>,
  reopen: (f: StoreFixture) => Promise<StoreFixture>,
  close: (f: StoreFixture) => Promise<void>,
): void {
  describe(`${name} (StateStore contract)`, () => {
    it('binds a handle to the first device key and refuses every other key', async () => {
      const f = await open();
      try {
        expect(await f.store.handleExists('ben')).toBe(false);
        expect(await f.store.claimHandle('ben', 'digest-1', 10)).toBe('new');
        expect(await f.store.claimHandle('ben', 'digest-1', 11)).toBe('same');
        expect(await f.store.claimHandle('ben', 'digest-2', 12)).toBe('taken');
        expect(await f.store.handleExists('ben')).toBe(true);
      } finally {
        await close(f);
      }
    });

    it('claims of one handle from many callers at once: exactly one device wins', async () => {
      const f = await open();
      try {
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => f.store.claimHandle('cat', `digest-${i}`, i)));
        expect(results.filter((r) => r === 'new')).toHaveLength(1);
        expect(results.filter((r) => r === 'taken')).toHaveLength(19);
      } finally {
        await close(f);
      }
    });

    it('keeps missed calls in order, bounded per person, until they are acknowledged', async () => {
      const f = await open();
      try {
        for (const id of ['m1', 'm2', 'm3', 'm4']) await f.store.addMissedCall('ben', missed(id), 3);
        expect((await f.store.missedCalls('ben')).map((m) => m.id)).toEqual(['m2', 'm3', 'm4']);
        expect(await f.store.missedCalls('ben')).toEqual([missed('m2'), missed('m3'), missed('m4')]);
        expect(await f.store.pendingMissedCalls()).toBe(3);
        expect(await f.store.ackMissedCalls('ben', ['m3', 'nope'])).toBe(2);
        expect(await f.store.ackMissedCalls('ben', ['m3'])).toBe(2);
        expect((await f.store.missedCalls('ben')).map((m) => m.id)).toEqual(['m2', 'm4']);
        expect(await f.store.missedCalls('cat')).toEqual([]);
        expect(await f.store.pendingMissedCalls()).toBe(2);
      } finally {
        await close(f);
      }
    });

    it('remembers names and last seen', async () => {
      const f = await open();
      try {
        expect(await f.store.presence('ben')).toBeNull();
        await f.store.touchUser({ handle: 'ben', name: 'Ben' }, null);
        expect(await f.store.presence('ben')).toEqual({ name: 'Ben', lastSeen: null });
        await f.store.touchUser({ handle: 'ben', name: 'Benjamin' }, 12_345);
        expect(await f.store.presence('ben')).toEqual({ name: 'Benjamin', lastSeen: 12_345 });
      } finally {
        await close(f);
      }
    });

    it('keeps contacts one way, the most recent ones, and forgets them with a released handle', async () => {
      const f = await open();
      try {
        expect(await f.store.contactsAmong('ann', ['ben', 'cat'])).toEqual([]);
        await f.store.addContacts('ann', ['ben', 'ann'], 1, 3);
        expect(await f.store.contactsAmong('ann', ['ben', 'cat', 'ann'])).toEqual(['ben']);
        expect(await f.store.contactsAmong('ben', ['ann']), 'one way only').toEqual([]);
        await f.store.addContacts('ann', ['cat', 'dan', 'eve'], 2, 3);
        expect(await f.store.contactsAmong('ann', ['ben', 'cat', 'dan', 'eve']), 'the oldest goes past the cap').toEqual(['cat', 'dan', 'eve']);
        await f.store.addContacts('ann', ['ben'], 3, 3);
        expect(await f.store.contactsAmong('ann', ['ben']), 'a new call renews a contact').toEqual(['ben']);
        expect(await f.store.contactsAmong('ann', ['ben', 'cat', 'dan', 'eve'])).toHaveLength(3);

        await f.store.claimHandle('zed', 'z'.repeat(64), 10);
        await f.store.addContacts('zed', ['ann'], 10, 5);
        await f.store.addContacts('ann', ['zed'], 10, 5);
        await f.store.releaseIdleHandles(100, 10, () => false);
        expect(await f.store.contactsAmong('ann', ['zed'])).toEqual([]);
        expect(await f.store.contactsAmong('zed', ['ann'])).toEqual([]);
      } finally {
        await close(f);
      }
    });

    it('releases handles idle since before the cut-off, never one seen later or online now', async () => {
      const f = await open();
      try {
        await f.store.claimHandle('old', 'd-old', 100);
        await f.store.touchUser({ handle: 'old', name: 'Old' }, 200);
        await f.store.claimHandle('online', 'd-on', 100);
        await f.store.claimHandle('recent', 'd-rec', 100);
        await f.store.touchUser({ handle: 'recent', name: 'Recent' }, 5_000);
        const gone = await f.store.releaseIdleHandles(1_000, 100, (h) => h === 'online');
        expect(gone).toEqual(['old']);
        expect(await f.store.handleExists('old')).toBe(false);
        expect(await f.store.handleExists('recent')).toBe(true);
        expect(await f.store.claimHandle('old', 'd-new', 6_000)).toBe('new');
      } finally {
        await close(f);
      }
    });

    it('hands each pending call of a node to exactly one taker', async () => {
      const f = await open();
      try {
        await f.store.putPendingCall(pending('c1', 'node-a'));
        await f.store.putPendingCall(pending('c2', 'node-a'));
        await f.store.putPendingCall(pending('c3', 'node-b'));
        await f.store.deletePendingCall('c2');
        await f.store.deletePendingCall('never-there');
        const [a1, a2] = await Promise.all([f.store.takePendingCalls('node-a'), f.store.takePendingCalls('node-a')]);
        expect([...a1, ...a2]).toEqual([pending('c1', 'node-a')]);
        expect(await f.store.takePendingCalls('node-b')).toEqual([pending('c3', 'node-b')]);
        expect(await f.store.takePendingCalls('node-b')).toEqual([]);
      } finally {
        await close(f);
      }
    });

    it('survives a restart: bindings, missed calls, last seen and pending calls are still there', async () => {
      let f = await open();
      try {
        await f.store.claimHandle('ben', 'digest-1', 10);
        await f.store.addMissedCall('ben', missed('m1'), 10);
        await f.store.touchUser({ handle: 'ben', name: 'Ben' }, 777);
        await f.store.putPendingCall(pending('c1', 'node-a'));
        f = await reopen(f);
        expect(await f.store.claimHandle('ben', 'digest-2', 20)).toBe('taken');
        expect(await f.store.missedCalls('ben')).toEqual([missed('m1')]);
        expect(await f.store.presence('ben')).toEqual({ name: 'Ben', lastSeen: 777 });
        expect(await f.store.takePendingCalls('node-a')).toEqual([pending('c1', 'node-a')]);
      } finally {
        await close(f);
      }
    });

    it('makes a shared secret once: the same for every caller and after a restart', async () => {
      let f = await open();
      try {
        const [a, b] = await Promise.all([f.store.sharedSecret('session'), f.store.sharedSecret('session')]);
        expect(a).toBe(b);
        expect(a.length).toBeGreaterThanOrEqual(40);
        expect(await f.store.sharedSecret('other')).not.toBe(a);
        f = await reopen(f);
        expect(await f.store.sharedSecret('session')).toBe(a);
      } finally {
        await close(f);
      }
    });

    it('a corrupt or old-format row is reported and skipped, the good ones still served', async () => {
      const f = await open();
      try {
        await f.store.addMissedCall('ben', missed('m1'), 10);
        await f.insertRaw('ben', 'bad1', '{not json');
        await f.insertRaw('ben', 'bad2', JSON.stringify({ id: 'bad2', from: 'ann' }));
        await f.store.addMissedCall('ben', missed('m2'), 10);
        expect((await f.store.missedCalls('ben')).map((m) => m.id)).toEqual(['m1', 'm2']);
        expect(f.reported.map((e) => e.code)).toEqual(['corrupt', 'corrupt']);
        expect(f.reported[1]!.message).toMatch(/callId|from/);
      } finally {
        await close(f);
      }
    });
  });
}
