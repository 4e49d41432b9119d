/**
 * Many callwire nodes as one service, coordinated through Redis (REDIS_URL).
 *
 * Keys (prefix `cw:`):
 *   nodes                 set    every registered node
 *   node:{id}             string heartbeat, expires HEARTBEAT_TTL_MS after the last beat
 *   online:{handle}       hash   socketId → node (the routing table)
 *   online                set    handles with at least one device online
 *   nodesocks:{node}      set    "handle|socketId" registered by that node (cleaned when it dies)
 *   busy:{handle}         hash   marker → node;  nodebusy:{node} set "handle|marker"
 *   own:{room:id|call:id} string owning node;     owned:{node} set of keys
 *   room:{id}             JSON   RoomSnapshot of a room (for take-over)
 *   reap:{node}           lock   the one survivor cleaning up after a dead node
 * Pub/sub channels: cw:rpc:{node} (requests to and replies for that node), cw:bcast.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { SignalingError, type UserInfo } from '../protocol/index.ts';
import { RoomSnapshot } from '../rooms/RoomSnapshot.ts';
import type { Logger } from '../logger.ts';
import type { BroadcastHandler, Cluster, ClusterEvents, OwnedKey, Owner, RequestHandler } from './Cluster.ts';

const P = 'cw:';
const HEARTBEAT_MS = 500;
const HEARTBEAT_TTL_MS = 2_500;
const REQUEST_TIMEOUT_MS = 4_000;

const ADD_SOCKET = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3] .. '|' .. ARGV[1])
if redis.call('HLEN', KEYS[1]) == 1 then redis.call('SADD', KEYS[3], ARGV[3]) return 1 end
return 0`;

const REMOVE_SOCKET = `
local node = redis.call('HGET', KEYS[1], ARGV[1])
if not node then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', ARGV[3] .. node, ARGV[2] .. '|' .. ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) return 1 end
return 0`;

const CLAIM = `
local cur = redis.call('GET', KEYS[1])
if (not cur) or (ARGV[2] ~= '' and cur == ARGV[2]) then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('SADD', ARGV[3] .. ARGV[1], ARGV[4])
  if cur then redis.call('SREM', ARGV[3] .. cur, ARGV[4]) end
  return ARGV[1]
end
return cur`;

/** Removes a dead node's sockets and busy markers; returns the handles that went offline. */
const REAP = `
local offline = {}
for _, entry in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local sep = string.find(entry, '|', 1, true)
  local handle = string.sub(entry, 1, sep - 1)
  local sid = string.sub(entry, sep + 1)
  redis.call('HDEL', ARGV[1] .. 'online:' .. handle, sid)
  if redis.call('HLEN', ARGV[1] .. 'online:' .. handle) == 0 then
    if redis.call('SREM', ARGV[1] .. 'online', handle) == 1 then table.insert(offline, handle) end
  end
end
for _, entry in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local sep = string.find(entry, '|', 1, true)
  redis.call('HDEL', ARGV[1] .. 'busy:' .. string.sub(entry, 1, sep - 1), string.sub(entry, sep + 1))
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SREM', ARGV[1] .. 'nodes', ARGV[2])
return offline`;

interface Envelope {
  kind: 'req' | 'res' | 'bcast';
  id?: string;
  from: string;
  method?: string;
  payload?: unknown;
  error?: { code: string; message: string };
}

export class RedisCluster extends EventEmitter<ClusterEvents> implements Cluster {
  readonly shared = true;
  readonly deadAfterMs = HEARTBEAT_TTL_MS;
  readonly nodeId: string;
  readonly #handlers = new Map<string, RequestHandler>();
  readonly #broadcastHandlers = new Map<string, BroadcastHandler>();
  readonly #pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #beat: NodeJS.Timeout | null = null;
  #closed = false;

  private constructor(
    private readonly redis: Redis,
    private readonly sub: Redis,
    private readonly logger: Logger,
    nodeId: string,
  ) {
    super();
    this.nodeId = nodeId;
  }

  /** Joins the cluster: subscribes, registers, and starts heartbeating and watching the others. */
  static async join(redis: Redis, sub: Redis, logger: Logger, nodeId = `n${randomBytes(5).toString('hex')}`): Promise<RedisCluster> {
    const c = new RedisCluster(redis, sub, logger, nodeId);
    sub.on('messageBuffer', (channel: Buffer, message: Buffer) => c.#onMessage(channel.toString(), message.toString()));
    await sub.subscribe(`${P}rpc:${nodeId}`, `${P}bcast`);
    await c.#heartbeat();
    await redis.sadd(`${P}nodes`, nodeId);
    c.#beat = setInterval(() => void c.#tick(), HEARTBEAT_MS);
    c.#beat.unref();
    return c;
  }

  get healthy(): boolean {
    return !this.#closed && this.redis.status === 'ready' && this.sub.status === 'ready';
  }

  async #heartbeat(): Promise<void> {
    await this.redis.set(`${P}node:${this.nodeId}`, String(Date.now()), 'PX', HEARTBEAT_TTL_MS);
  }

  async #tick(): Promise<void> {
    if (this.#closed || this.redis.status !== 'ready') return;
    try {
      await this.#heartbeat();
      // Our own registration may have been reaped while Redis was away from us: register again.
      await this.redis.sadd(`${P}nodes`, this.nodeId);
      const nodes = await this.redis.smembers(`${P}nodes`);
      for (const node of nodes) {
        if (node === this.nodeId) continue;
        if ((await this.redis.exists(`${P}node:${node}`)) === 1) continue;
        // Dead: one survivor cleans up (the lock outlives the clean-up).
        const won = await this.redis.set(`${P}reap:${node}`, this.nodeId, 'PX', 60_000, 'NX');
        if (won !== 'OK') continue;
        const offline = (await this.redis.eval(REAP, 2, `${P}nodesocks:${node}`, `${P}nodebusy:${node}`, P, node)) as string[];
        this.logger.warn(`node ${node} stopped heartbeating: taking over (${offline.length} people went offline)`);
        if (offline.length > 0) this.emit('wentOffline', offline);
        this.emit('nodeDown', node);
      }
    } catch (err) {
      this.logger.debug(`cluster tick failed: ${(err as Error).message}`);
    }
  }

  async #run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof SignalingError) throw err;
      throw new SignalingError('unavailable', `${what}: the shared store (Redis) is not reachable; try again shortly`);
    }
  }

  addSocket(user: UserInfo, socketId: string): Promise<boolean> {
    return this.#run(
      'connect',
      async () =>
        (await this.redis.eval(
          ADD_SOCKET,
          3,
          `${P}online:${user.handle}`,
          `${P}nodesocks:${this.nodeId}`,
          `${P}online`,
          socketId,
          this.nodeId,
          user.handle,
        )) === 1,
    );
  }

  removeSocket(handle: string, socketId: string): Promise<boolean> {
    return this.#run(
      'disconnect',
      async () => (await this.redis.eval(REMOVE_SOCKET, 2, `${P}online:${handle}`, `${P}online`, socketId, handle, `${P}nodesocks:`)) === 1,
    );
  }

  isOnline(handle: string): Promise<boolean> {
    return this.#run('presence', async () => (await this.redis.hlen(`${P}online:${handle}`)) > 0);
  }

  hasSocket(handle: string, socketId: string): Promise<boolean> {
    return this.#run('presence', async () => (await this.redis.hexists(`${P}online:${handle}`, socketId)) === 1);
  }

  onlineCount(): Promise<number> {
    return this.#run('presence', () => this.redis.scard(`${P}online`));
  }

  setBusy(handle: string, marker: string, on: boolean): Promise<void> {
    return this.#run('busy', async () => {
      const m = this.redis.multi();
      if (on) m.hset(`${P}busy:${handle}`, marker, this.nodeId).sadd(`${P}nodebusy:${this.nodeId}`, `${handle}|${marker}`);
      else m.hdel(`${P}busy:${handle}`, marker).srem(`${P}nodebusy:${this.nodeId}`, `${handle}|${marker}`);
      await m.exec();
    });
  }

  isBusy(handle: string): Promise<boolean> {
    return this.#run('busy', async () => (await this.redis.hlen(`${P}busy:${handle}`)) > 0);
  }

  ownerOf(key: OwnedKey): Promise<Owner | null> {
    return this.#run('directory', async () => {
      const node = await this.redis.get(`${P}own:${key}`);
      if (!node) return null;
      if (node === this.nodeId) return { node, alive: !this.#closed };
      return { node, alive: (await this.redis.exists(`${P}node:${node}`)) === 1 };
    });
  }

  claim(key: OwnedKey, replacing = ''): Promise<string> {
    return this.#run('directory', async () => String(await this.redis.eval(CLAIM, 1, `${P}own:${key}`, this.nodeId, replacing, `${P}owned:`, key)));
  }

  release(key: OwnedKey): Promise<void> {
    return this.#run('directory', async () => {
      // Only the owner releases: a late release from a node that lost the key must not undo a take-over.
      const owner = await this.redis.get(`${P}own:${key}`);
      if (owner !== this.nodeId) return;
      await this.redis.multi().del(`${P}own:${key}`).srem(`${P}owned:${this.nodeId}`, key).exec();
    });
  }

  ownedBy(node: string): Promise<OwnedKey[]> {
    return this.#run('directory', async () => (await this.redis.smembers(`${P}owned:${node}`)) as OwnedKey[]);
  }

  saveRoom(snapshot: RoomSnapshot): Promise<void> {
    return this.#run('room', async () => {
      await this.redis.set(`${P}room:${snapshot.id}`, JSON.stringify(snapshot));
    });
  }

  loadRoom(roomId: string): Promise<RoomSnapshot | null> {
    return this.#run('room', async () => {
      const raw = await this.redis.get(`${P}room:${roomId}`);
      if (raw === null) return null;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        value = undefined;
      }
      const r = RoomSnapshot.safeParse(value);
      if (r.success) return r.data;
      this.logger.error(`room ${roomId}: stored snapshot is corrupt or of an old format; the room starts afresh`);
      return null;
    });
  }

  deleteRoom(roomId: string): Promise<void> {
    return this.#run('room', async () => {
      await this.redis.del(`${P}room:${roomId}`);
    });
  }

  request(node: string, method: string, payload: unknown, timeoutMs = REQUEST_TIMEOUT_MS): Promise<unknown> {
    const id = randomBytes(8).toString('hex');
    const envelope: Envelope = { kind: 'req', id, from: this.nodeId, method, payload };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new SignalingError('unavailable', `node ${node} did not answer ${method} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      const fail = (message: string) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(new SignalingError('unavailable', message));
      };
      this.redis.publish(`${P}rpc:${node}`, JSON.stringify(envelope)).then(
        // Nobody subscribed: that node is gone, no need to wait for a time-out.
        (receivers) => receivers === 0 && fail(`node ${node} is not running`),
        () => fail('the shared store (Redis) is not reachable; try again shortly'),
      );
    });
  }

  serve(method: string, handler: RequestHandler): void {
    this.#handlers.set(method, handler);
  }

  async broadcast(topic: string, payload: unknown): Promise<void> {
    const envelope: Envelope = { kind: 'bcast', from: this.nodeId, method: topic, payload };
    await this.#run('broadcast', () => this.redis.publish(`${P}bcast`, JSON.stringify(envelope)));
  }

  onBroadcast(topic: string, handler: BroadcastHandler): void {
    this.#broadcastHandlers.set(topic, handler);
  }

  #onMessage(channel: string, raw: string): void {
    let msg: Envelope;
    try {
      msg = JSON.parse(raw) as Envelope;
    } catch {
      this.logger.warn(`cluster: unreadable message on ${channel}`);
      return;
    }
    if (msg.kind === 'bcast') {
      if (msg.from === this.nodeId) return;
      const h = this.#broadcastHandlers.get(msg.method ?? '');
      try {
        h?.(msg.payload, msg.from);
      } catch (err) {
        this.logger.error(`cluster broadcast ${msg.method} failed: ${(err as Error).message}`);
      }
      return;
    }
    if (msg.kind === 'res') {
      const p = this.#pending.get(msg.id ?? '');
      if (!p) return;
      this.#pending.delete(msg.id!);
      clearTimeout(p.timer);
      if (msg.error) p.reject(SignalingError.fromBody(msg.error as never));
      else p.resolve(msg.payload);
      return;
    }
    const handler = this.#handlers.get(msg.method ?? '');
    const reply = (body: Partial<Envelope>) => {
      const res: Envelope = { kind: 'res', id: msg.id, from: this.nodeId, ...body };
      this.redis.publish(`${P}rpc:${msg.from}`, JSON.stringify(res)).catch(() => {});
    };
    if (!handler) return reply({ error: { code: 'internal', message: `node ${this.nodeId} has no handler for ${msg.method}` } });
    handler(msg.payload, msg.from).then(
      (payload) => reply({ payload }),
      (err: unknown) => {
        if (!(err instanceof SignalingError))
          this.logger.error(`cluster request ${msg.method} failed`, { error: err instanceof Error ? err.stack : String(err) });
        reply({ error: err instanceof SignalingError ? err.toJSON() : { code: 'internal', message: 'internal error' } });
      },
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#beat) clearInterval(this.#beat);
    // A clean stop hands this node's rooms over at once instead of after the heartbeat lapses.
    await this.redis.del(`${P}node:${this.nodeId}`).catch(() => {});
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new SignalingError('unavailable', 'this node is shutting down'));
    }
    this.#pending.clear();
    this.removeAllListeners();
  }
}
