/**
 * The shared store of a multi-node deployment (REDIS_URL): the same contract as SqliteStore,
 * on Redis 7 through ioredis. Every multi-key change is one Lua script, so it is atomic across
 * nodes. Durability is Redis's own: run it with AOF (`appendonly yes`; docs/storage.md).
 *
 * Keys (prefix `cw:`):
 *   user:{handle}        hash  key (sha256 of the device key), boundAt, name, lastSeen
 *   users:activity       zset  handle → last time bound or seen (for releasing idle handles)
 *   missed:{handle}      list  JSON missed-call records, oldest first
 *   missed:total         int   all queued missed calls (health)
 *   pcall:{id}           JSON  a pending (unanswered) call; pcalls:{node} set of its ids
 *   contacts:{handle}    zset  handle → when they last shared a call (whose presence it may follow)
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { MissedCall, UserInfo } from '../protocol/index.ts';
import { MissedCallRow, PendingCallRow, StoreError, parseRow, type ClaimResult, type PendingCall, type StateStore, type StoredPresence } from './StateStore.ts';

const P = 'cw:';

const CLAIM = `
local k = redis.call('HGET', KEYS[1], 'key')
if k and k ~= ARGV[1] then return 'taken' end
redis.call('HSET', KEYS[1], 'key', ARGV[1], 'boundAt', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
if k then return 'same' end
return 'new'`;

const ADD_MISSED = `
local n = redis.call('RPUSH', KEYS[1], ARGV[1])
local max = tonumber(ARGV[2])
local added = 1
if n > max then
  redis.call('LTRIM', KEYS[1], n - max, -1)
  added = 1 - (n - max)
end
redis.call('INCRBY', KEYS[2], added)
return n`;

const ACK_MISSED = `
local drop = {}
for i = 2, #ARGV do drop[ARGV[i]] = true end
local kept = {}
local removed = 0
for _, raw in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local ok, rec = pcall(cjson.decode, raw)
  if ok and type(rec) == 'table' and drop[rec['id']] then removed = removed + 1 else table.insert(kept, raw) end
end
if removed > 0 then
  redis.call('DEL', KEYS[1])
  for i = 1, #kept, 1000 do redis.call('RPUSH', KEYS[1], unpack(kept, i, math.min(i + 999, #kept))) end
  redis.call('DECRBY', KEYS[2], removed)
end
return #kept`;

const TAKE_PENDING = `
local ids = redis.call('SMEMBERS', KEYS[1])
local out = {}
for _, id in ipairs(ids) do
  local v = redis.call('GET', ARGV[1] .. id)
  if v then table.insert(out, v) end
  redis.call('DEL', ARGV[1] .. id)
end
redis.call('DEL', KEYS[1])
return out`;

const DELETE_PENDING = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ok, rec = pcall(cjson.decode, v)
if ok and type(rec) == 'table' and rec['node'] then redis.call('SREM', ARGV[1] .. rec['node'], ARGV[2]) end
redis.call('DEL', KEYS[1])
return 1`;

export class RedisStore implements StateStore {
  readonly kind = 'redis';

  constructor(
    private readonly redis: Redis,
    private readonly report: (e: StoreError) => void = () => {},
  ) {}

  get healthy(): boolean {
    return this.redis.status === 'ready';
  }

  async #run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreError('unavailable', `${what}: Redis: ${(err as Error).message}`);
    }
  }

  claimHandle(handle: string, keyDigest: string, now: number): Promise<ClaimResult> {
    return this.#run('claimHandle', async () => {
      const r = await this.redis.eval(CLAIM, 2, `${P}user:${handle}`, `${P}users:activity`, keyDigest, String(now), handle);
      if (r === 'new' || r === 'same' || r === 'taken') return r;
      throw new StoreError('corrupt', `claimHandle: unexpected answer ${String(r)}`);
    });
  }

  handleExists(handle: string): Promise<boolean> {
    return this.#run('handleExists', async () => (await this.redis.hexists(`${P}user:${handle}`, 'key')) === 1);
  }

  releaseIdleHandles(olderThan: number, limit: number, isOnline: (handle: string) => boolean | Promise<boolean>): Promise<string[]> {
    return this.#run('releaseIdleHandles', async () => {
      const idle = await this.redis.zrangebyscore(`${P}users:activity`, '-inf', `(${olderThan}`, 'LIMIT', 0, limit);
      const gone: string[] = [];
      for (const h of idle) if (!(await isOnline(h))) gone.push(h);
      if (gone.length === 0) return [];
      const m = this.redis.multi();
      for (const h of gone) {
        // Whoever binds the handle next is someone else: nobody follows them from before.
        for (const peer of await this.redis.zrange(`${P}contacts:${h}`, 0, -1)) m.zrem(`${P}contacts:${peer}`, h);
        m.del(`${P}user:${h}`, `${P}contacts:${h}`).zrem(`${P}users:activity`, h);
      }
      await m.exec();
      return gone;
    });
  }

  addContacts(owner: string, peers: readonly string[], now: number, maxPerUser: number): Promise<void> {
    return this.#run('addContacts', async () => {
      const others = peers.filter((p) => p !== owner);
      if (others.length === 0) return;
      const key = `${P}contacts:${owner}`;
      await this.redis
        .multi()
        .zadd(key, ...others.flatMap((p) => [now, p]))
        .zremrangebyrank(key, 0, -maxPerUser - 1)
        .exec();
    });
  }

  contactsAmong(owner: string, candidates: readonly string[]): Promise<string[]> {
    return this.#run('contactsAmong', async () => {
      if (candidates.length === 0) return [];
      const scores = await this.redis.zmscore(`${P}contacts:${owner}`, ...candidates);
      return candidates.filter((_, i) => scores[i] !== null);
    });
  }

  touchUser(user: UserInfo, lastSeen: number | null): Promise<void> {
    return this.#run('touchUser', async () => {
      const key = `${P}user:${user.handle}`;
      const m = this.redis.multi().hset(key, 'name', user.name);
      if (lastSeen === null) m.hdel(key, 'lastSeen');
      else m.hset(key, 'lastSeen', String(lastSeen));
      // Only bound handles are released when idle: activity is tracked for them alone.
      if (lastSeen !== null) m.zadd(`${P}users:activity`, 'XX', lastSeen, user.handle);
      await m.exec();
    });
  }

  presence(handle: string): Promise<StoredPresence | null> {
    return this.#run('presence', async () => {
      const [name, lastSeen] = await this.redis.hmget(`${P}user:${handle}`, 'name', 'lastSeen');
      if (name === null && lastSeen === null) return null;
      const at = lastSeen === null ? null : Number(lastSeen);
      return { name: name ?? handle, lastSeen: at !== null && Number.isFinite(at) ? at : null };
    });
  }

  addMissedCall(handle: string, record: MissedCall, maxPerUser: number): Promise<void> {
    return this.#run('addMissedCall', async () => {
      await this.redis.eval(ADD_MISSED, 2, `${P}missed:${handle}`, `${P}missed:total`, JSON.stringify(record), String(maxPerUser));
    });
  }

  missedCalls(handle: string): Promise<MissedCall[]> {
    return this.#run('missedCalls', async () => {
      const rows = await this.redis.lrange(`${P}missed:${handle}`, 0, -1);
      return rows.flatMap((raw, i) => parseRow(MissedCallRow, raw, `missed call ${handle}[${i}]`, this.report) ?? []);
    });
  }

  ackMissedCalls(handle: string, ids: readonly string[]): Promise<number> {
    return this.#run('ackMissedCalls', async () => Number(await this.redis.eval(ACK_MISSED, 2, `${P}missed:${handle}`, `${P}missed:total`, '', ...ids)));
  }

  pendingMissedCalls(): Promise<number> {
    return this.#run('pendingMissedCalls', async () => Math.max(0, Number((await this.redis.get(`${P}missed:total`)) ?? 0)));
  }

  putPendingCall(call: PendingCall): Promise<void> {
    return this.#run('putPendingCall', async () => {
      await this.redis.multi().set(`${P}pcall:${call.id}`, JSON.stringify(call)).sadd(`${P}pcalls:${call.node}`, call.id).exec();
    });
  }

  deletePendingCall(id: string): Promise<void> {
    return this.#run('deletePendingCall', async () => {
      await this.redis.eval(DELETE_PENDING, 1, `${P}pcall:${id}`, `${P}pcalls:`, id);
    });
  }

  takePendingCalls(node: string): Promise<PendingCall[]> {
    return this.#run('takePendingCalls', async () => {
      const rows = (await this.redis.eval(TAKE_PENDING, 1, `${P}pcalls:${node}`, `${P}pcall:`)) as string[];
      return rows.flatMap((raw, i) => parseRow(PendingCallRow, raw, `pending call ${node}[${i}]`, this.report) ?? []);
    });
  }

  sharedSecret(name: string): Promise<string> {
    return this.#run('sharedSecret', async () => {
      await this.redis.set(`${P}secret:${name}`, randomBytes(32).toString('base64url'), 'NX');
      const value = await this.redis.get(`${P}secret:${name}`);
      if (!value) throw new StoreError('corrupt', `secret ${name} vanished`);
      return value;
    });
  }

  /** Tests: writes a raw row, as an older or broken version might have left it. */
  async insertRawMissedCall(handle: string, _id: string, record: string): Promise<void> {
    await this.redis.multi().rpush(`${P}missed:${handle}`, record).incr(`${P}missed:total`).exec();
  }

  /** The connection belongs to whoever created it (RedisConnection); nothing to release here. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
