import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisProcess } from '../testing/RedisProcess.ts';
import { RedisStore } from './RedisStore.ts';
import { StoreError } from './StateStore.ts';
import { stateStoreContract, type StoreFixture } from './StateStore.contract.ts';
import { connectRedis } from './redis.ts';

let server: RedisProcess;
const clients = new Map<StoreFixture, Redis>();

beforeAll(async () => {
  server = await RedisProcess.start();
});
afterAll(async () => {
  await server?.close();
});

async function fixture(): Promise<StoreFixture> {
  const redis = await connectRedis(server.url);
  const reported: StoreError[] = [];
  const store = new RedisStore(redis, (e) => reported.push(e));
  const f: StoreFixture = { store, reported, insertRaw: (h, id, rec) => store.insertRawMissedCall(h, id, rec) };
  clients.set(f, redis);
  return f;
}

async function release(f: StoreFixture): Promise<void> {
  await f.store.close();
  clients.get(f)?.disconnect();
}

stateStoreContract(
  'RedisStore',
  async () => {
    const f = await fixture();
    await clients.get(f)!.flushall();
    return f;
  },
  // A full restart: the Redis server itself stops (AOF flushed) and comes back, with new clients.
  async (f) => {
    await release(f);
    await server.stop();
    await server.resume();
    return fixture();
  },
  release,
);

describe('RedisStore faults', () => {
  it('an unreachable Redis at start is a clear error', async () => {
    await expect(connectRedis('redis://127.0.0.1:1', { connectTimeoutMs: 1_000 })).rejects.toThrow(/cannot reach Redis at 127.0.0.1:1/);
    await expect(connectRedis('http://example')).rejects.toThrow(/redis:\/\//);
  });

  it('while Redis is down every call fails fast with a typed error, and works again once it is back', async () => {
    const f = await fixture();
    try {
      await server.stop();
      const started = Date.now();
      const err = await f.store.missedCalls('dan').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).code).toBe('unavailable');
      expect(f.store.healthy).toBe(false);
      expect(Date.now() - started).toBeLessThan(5_000);
      await server.resume();
      const until = Date.now() + 10_000;
      while (!f.store.healthy && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect(f.store.healthy).toBe(true);
      expect(await f.store.missedCalls('dan')).toEqual([]);
    } finally {
      if (!server.running) await server.resume();
      await release(f);
    }
  });
});
