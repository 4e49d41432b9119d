/**
 * The socket.io boundary: authenticates each connection, validates every message against the
 * shared contract, and routes it. Nothing a client sends can crash the process: every failure
 * becomes a typed error reply.
 *
 * Routing: a request about a room (`room.*`, `participant.update`, `video.*`, `rtc.signal`,
 * `sfu.*`) or a 1:1 call (`call.accept`/`decline`/`cancel`) runs on the node that owns that room
 * or call (Ownership); on one node that is always here. Everything else runs here.
 */
import type { Server, Socket } from 'socket.io';
import type { CallManager } from '../calls/CallManager.ts';
import type { Cluster, OwnedKey } from '../cluster/Cluster.ts';
import type { Ownership } from '../cluster/Ownership.ts';
import type { Authenticator } from '../identity/Authenticator.ts';
import type { QualityHistory } from '../quality/QualityHistory.ts';
import type { Logger } from '../logger.ts';
import {
  LIMITS,
  SignalingError,
  requestSchemas,
  type Ack,
  type ClientToServerEvents,
  type IceServerInfo,
  type PresenceInfo,
  type RequestName,
  type RequestOf,
  type ResponseMap,
  type ServerToClientEvents,
  type UserInfo,
} from '../protocol/index.ts';
import type { RoomManager } from '../rooms/RoomManager.ts';
import { orUnavailable, type StateStore } from '../store/StateStore.ts';
import { RateLimiter } from './RateLimiter.ts';
import type { AbuseLimits, HourlyBudget } from './AbuseLimits.ts';
import { userChannel } from './SocketNotifier.ts';
import type { Sfu, SfuRequest } from '../sfu/Sfu.ts';

export interface SocketData {
  user: UserInfo;
  watching: string[];
  limiter: RateLimiter;
  /** The client's address (X-Forwarded-For with TRUST_PROXY); null: loopback, not counted. */
  ip: string | null;
  roomCreates: HourlyBudget;
  unknownCallees: HourlyBudget;
}

/** Who sent a request: enough to run it on another node than the one holding the socket. */
export interface Caller {
  socketId: string;
  user: UserInfo;
  /** The Host header the client reached us by (names the TURN relay). */
  host: string | undefined;
  /** The node that holds the socket. */
  node: string;
}

type CallwireSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type Handler<E extends RequestName> = (caller: Caller, payload: RequestOf<E>) => ResponseMap[E] | Promise<ResponseMap[E]>;
type LocalRequest = Exclude<RequestName, 'presence.watch'>;

export interface SignalingDeps {
  auth: Authenticator;
  cluster: Cluster;
  ownership: Ownership;
  store: StateStore;
  rooms: RoomManager;
  calls: CallManager;
  /** The media server for group calls; null when it is not running. */
  sfu: () => Sfu | null;
  iceServersFor: (user: UserInfo, requestHost?: string) => IceServerInfo[];
  rateLimitPerSec: number;
  limits: AbuseLimits;
  trustProxy: boolean;
  /** Call-quality telemetry of the rooms this node owns. */
  quality: QualityHistory;
  /** Told the code of every request refused (metrics). */
  onError?: (code: string) => void;
  logger: Logger;
}

const presenceChannel = (handle: string) => `presence:${handle}`;

/** The room or call a request is about, or null when it runs wherever it arrives. */
function ownedKeyOf(event: RequestName, payload: Record<string, unknown>): OwnedKey | null {
  if (event === 'call.accept' || event === 'call.decline' || event === 'call.cancel') return `call:${String(payload['callId'])}`;
  return typeof payload['roomId'] === 'string' && event !== 'room.create' ? `room:${payload['roomId']}` : null;
}

export class SignalingServer {
  readonly #handlers: { [E in LocalRequest]: Handler<E> };

  constructor(
    private readonly io: Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>,
    private readonly deps: SignalingDeps,
  ) {
    const { calls, rooms, store, cluster } = deps;
    this.#handlers = {
      ping: (_c, { t }) => ({ t, serverTime: Date.now() }),
      'call.invite': (c, p) => calls.invite(c.user, c.socketId, p),
      'call.accept': (c, p) => calls.accept(c.user, c.socketId, p),
      'call.decline': async (c, p) => (await calls.decline(c.user, c.socketId, p), {}),
      'call.cancel': async (c, p) => (await calls.cancel(c.user, c.socketId, p), {}),
      'missedCalls.ack': async (c, { ids }) => ({ remaining: await orUnavailable(() => store.ackMissedCalls(c.user.handle, ids)) }),
      'room.create': async (_c, { video }) => {
        const room = rooms.createLinkRoom(video ? 'video' : 'audio');
        await cluster.claim(`room:${room.id}`);
        return { roomId: room.id, hostSecret: room.makeHostSecret() };
      },
      'room.join': (c, p) => ({ ...rooms.join(c.user, c.socketId, p, c.node), iceServers: deps.iceServersFor(c.user, c.host) }),
      'room.leave': (c, { roomId }) => (rooms.leave(c.socketId, roomId), {}),
      'participant.update': (c, p) => rooms.update(c.socketId, p),
      'room.lock': (c, p) => ({ room: rooms.lock(c.socketId, p) }),
      'room.knock': (c, p) => rooms.knock(c.user, c.socketId, p),
      'room.knockCancel': (c, { roomId }) => (rooms.knockCancel(c.socketId, roomId), {}),
      'room.admit': (c, p) => (rooms.admit(c.socketId, p), {}),
      'room.remove': (c, p) => (rooms.remove(c.socketId, p), {}),
      'participant.requestMute': (c, p) => (rooms.requestMute(c.socketId, p), {}),
      'video.request': (c, { roomId }) => ({ requestId: rooms.requestVideo(c.socketId, roomId) }),
      'video.respond': (c, p) => ({ room: rooms.respondVideo(c.socketId, p) }),
      'rtc.signal': (c, p) => (rooms.signal(c.socketId, p), {}),
      'e2ee.key': (c, p) => (rooms.relayKey(c.socketId, p), {}),
      'quality.report': (c, p) => {
        const entry = deps.quality.record(rooms.reporterOf(c.socketId, p.roomId), p);
        return { audioMos: entry.audioMos, videoFrozenPct: entry.videoFrozenPct };
      },
      'sfu.capabilities': (c, p) => this.#sfu(c, 'sfu.capabilities', p),
      'sfu.createTransport': (c, p) => this.#sfu(c, 'sfu.createTransport', p),
      'sfu.connectTransport': (c, p) => this.#sfu(c, 'sfu.connectTransport', p),
      'sfu.ready': (c, p) => this.#sfu(c, 'sfu.ready', p),
      'sfu.produce': (c, p) => this.#sfu(c, 'sfu.produce', p),
      'sfu.closeProducer': (c, p) => this.#sfu(c, 'sfu.closeProducer', p),
      'sfu.resumeConsumer': (c, p) => this.#sfu(c, 'sfu.resumeConsumer', p),
      'sfu.setPreferredLayers': (c, p) => this.#sfu(c, 'sfu.setPreferredLayers', p),
      'sfu.restartIce': (c, p) => this.#sfu(c, 'sfu.restartIce', p),
      'sfu.sync': (c, p) => this.#sfu(c, 'sfu.sync', p),
    };

    // Requests another node forwards to us because we own the room or call. The payload was
    // validated there; it is validated again here, as everything that crosses a boundary is.
    cluster.serve('signal', async (raw) => {
      const { caller, event, payload } = raw as { caller: Caller; event: LocalRequest; payload: unknown };
      if (!Object.hasOwn(this.#handlers, event)) throw new SignalingError('unknown-event', `unknown event ${String(event)}`);
      return this.#local(caller, event, parsePayload(event, payload));
    });
    cluster.onBroadcast('socket-closed', (raw) => rooms.socketClosed(String((raw as { socketId: string }).socketId)));

    io.use((socket, next) => {
      const refuse = (err: unknown) => {
        const body = err instanceof SignalingError ? err.toJSON() : { code: 'unauthorized', message: 'authentication failed' };
        next(Object.assign(new Error(body.message), { data: body }));
      };
      const ip = countedAddress(socket, deps.trustProxy);
      try {
        if (ip) deps.limits.connectionOpened(ip);
      } catch (err) {
        return refuse(err);
      }
      deps.auth
        .authenticate(socket.handshake.auth, () => ip && deps.limits.newHandle(ip))
        .then(
          (user) => {
            socket.data.user = user;
            socket.data.watching = [];
            socket.data.limiter = new RateLimiter(deps.rateLimitPerSec);
            socket.data.ip = ip;
            socket.data.roomCreates = deps.limits.roomCreates();
            socket.data.unknownCallees = deps.limits.unknownCallees();
            next();
          },
          (err: unknown) => {
            if (ip) deps.limits.connectionClosed(ip);
            // "taken" tells the client the handle exists: such answers share the new-handle budget.
            if (ip && err instanceof SignalingError && err.code === 'handle-taken') {
              try {
                deps.limits.newHandle(ip);
              } catch (limit) {
                return refuse(limit);
              }
            }
            refuse(err);
          },
        );
    });
    io.on('connection', (socket) => void this.#onConnection(socket));
  }

  /** Disconnect bookkeeping still running (a closing node waits for it before dropping Redis). */
  readonly #inFlight = new Set<Promise<void>>();

  /** Resolves once every disconnect has been recorded (at most `timeoutMs`). */
  async drain(timeoutMs = 3_000): Promise<void> {
    await Promise.race([Promise.allSettled([...this.#inFlight]), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  /** Tells the people watching `handle` that it came online or went offline (on any node). */
  announcePresence(handle: string, name: string, online: boolean, lastSeen: number | null): void {
    const info: PresenceInfo = { handle, name, online, lastSeen: online ? null : lastSeen };
    this.io.to(presenceChannel(handle)).emit('presence', info);
  }

  async #onConnection(socket: CallwireSocket): Promise<void> {
    const { cluster, store, calls, logger } = this.deps;
    const user = socket.data.user;
    void socket.join(userChannel(user.handle));
    for (const event of [...Object.keys(this.#handlers), 'presence.watch'] as RequestName[]) {
      socket.on(event, (...args: unknown[]) => void this.#dispatch(socket, event, args));
    }
    socket.onAny((event: unknown, ...args: unknown[]) => {
      if (typeof event === 'string' && (Object.hasOwn(this.#handlers, event) || event === 'presence.watch')) return;
      this.#reply(socket, String(event).slice(0, 64), args, new SignalingError('unknown-event', `unknown event "${String(event).slice(0, 64)}"`));
    });
    socket.on('disconnect', () => {
      const done = this.#onDisconnect(socket).finally(() => this.#inFlight.delete(done));
      this.#inFlight.add(done);
    });

    try {
      const cameOnline = await cluster.addSocket(user, socket.id);
      await store.touchUser(user, null);
      if (cameOnline) this.announcePresence(user.handle, user.name, true, null);
      socket.emit('session', {
        user,
        iceServers: this.deps.iceServersFor(user, socket.handshake.headers.host),
        serverTime: Date.now(),
        token: this.deps.auth.sessionToken(user),
      });
      const pending = await store.missedCalls(user.handle);
      if (pending.length > 0) socket.emit('missedCalls', { missedCalls: pending });
      await calls.userConnected(user.handle, socket.id);
      logger.debug('connected', { handle: user.handle, socket: socket.id });
    } catch (err) {
      // The shared store went away mid-handshake: the client reconnects and tries again.
      logger.warn(`connection set-up failed, closing it: ${(err as Error).message}`);
      socket.emit('signaling.error', { event: 'connect', error: { code: 'unavailable', message: 'the service is not available right now; reconnecting' } });
      socket.disconnect(true);
    }
  }

  async #onDisconnect(socket: CallwireSocket): Promise<void> {
    const { cluster, store, calls, rooms, logger } = this.deps;
    const user = socket.data.user;
    if (socket.data.ip) this.deps.limits.connectionClosed(socket.data.ip);
    rooms.socketClosed(socket.id);
    try {
      await cluster.broadcast('socket-closed', { socketId: socket.id });
      const wentOffline = await cluster.removeSocket(user.handle, socket.id);
      await calls.socketClosed(user.handle, socket.id, wentOffline);
      if (wentOffline) {
        const at = Date.now();
        await store.touchUser(user, at);
        this.announcePresence(user.handle, user.name, false, at);
      }
    } catch (err) {
      // A dead store loses only presence bookkeeping here; the node's reaper or the next connect mends it.
      logger.warn(`disconnect bookkeeping for ${user.handle} incomplete: ${(err as Error).message}`);
    }
    logger.debug('disconnected', { handle: user.handle, socket: socket.id });
  }

  async #dispatch<E extends RequestName>(socket: CallwireSocket, event: E, args: unknown[]): Promise<void> {
    try {
      if (!socket.data.limiter.take()) throw new SignalingError('rate-limited', 'too many messages; slow down');
      const payloads = typeof args.at(-1) === 'function' ? args.slice(0, -1) : args;
      if (payloads.length !== 1) throw new SignalingError('invalid-message', `${event} takes exactly one payload object`);
      const payload = parsePayload(event, payloads[0]);
      const data =
        event === 'presence.watch'
          ? await this.#watch(socket, (payload as RequestOf<'presence.watch'>).handles)
          : await this.#route(socket, event as LocalRequest, payload as RequestOf<LocalRequest>);
      this.#reply(socket, event, args, data);
    } catch (err) {
      if (!(err instanceof SignalingError)) {
        this.deps.logger.error('handler failed', { event, error: err instanceof Error ? err.stack : String(err) });
      }
      const refusal = err instanceof SignalingError ? err : new SignalingError('internal', 'internal error');
      this.deps.onError?.(refusal.code);
      this.#reply(socket, event, args, refusal);
    }
  }

  #route<E extends LocalRequest>(socket: CallwireSocket, event: E, payload: RequestOf<E>): Promise<ResponseMap[E]> {
    const caller: Caller = { socketId: socket.id, user: socket.data.user, host: socket.handshake.headers.host, node: this.deps.cluster.nodeId };
    const key = ownedKeyOf(event, payload as Record<string, unknown>);
    if (event === 'room.create') socket.data.roomCreates.take();
    if (event === 'call.invite') {
      // `unknown-user` tells the caller a handle is free: a budget keeps enumeration slow.
      socket.data.unknownCallees.check();
      return this.#local(caller, event, payload).catch((err: unknown) => {
        if (err instanceof SignalingError && err.code === 'unknown-user') socket.data.unknownCallees.spend();
        throw err;
      });
    }
    if (!key) return this.#local(caller, event, payload);
    return this.deps.ownership.run(
      key,
      event === 'room.join',
      () => this.#local(caller, event, payload),
      (node) => this.deps.cluster.request(node, 'signal', { caller, event, payload }) as Promise<ResponseMap[E]>,
    );
  }

  async #local<E extends LocalRequest>(caller: Caller, event: E, payload: RequestOf<E>): Promise<ResponseMap[E]> {
    return (this.#handlers[event] as Handler<E>)(caller, payload);
  }

  /** Answers through the acknowledgement callback, or with `signaling.error` when there is none. */
  #reply(socket: CallwireSocket, event: string, args: unknown[], result: unknown): void {
    const ack = args.at(-1);
    const body: Ack<unknown> = result instanceof SignalingError ? { ok: false, error: result.toJSON() } : { ok: true, data: result };
    if (typeof ack === 'function') (ack as (r: Ack<unknown>) => void)(body);
    else if (!body.ok) socket.emit('signaling.error', { event, error: body.error });
  }

  #sfu<E extends SfuRequest>(caller: Caller, event: E, payload: RequestOf<E>): Promise<ResponseMap[E]> {
    const sfu = this.deps.sfu();
    if (!sfu) return Promise.reject(new SignalingError('sfu-unavailable', 'group calls are not available on this server (SFU disabled or not running)'));
    return sfu.handle(caller.socketId, event, payload);
  }

  /**
   * Follows the presence of the handles among `handles` that are this person's contacts (people
   * they have shared a call or room with, or who called them); the others are answered as
   * `hidden`, so nobody can watch a stranger come and go.
   */
  async #watch(socket: CallwireSocket, handles: string[]): Promise<ResponseMap['presence.watch']> {
    const { cluster, store } = this.deps;
    const unique = [...new Set(handles)].filter((h) => h !== socket.data.user.handle);
    const allowed = await orUnavailable(() => store.contactsAmong(socket.data.user.handle, unique));
    const presence = await Promise.all(
      allowed.map(async (h): Promise<PresenceInfo> => {
        const [online, stored] = await Promise.all([cluster.isOnline(h), orUnavailable(() => store.presence(h))]);
        return { handle: h, name: stored?.name ?? h, online, lastSeen: online ? null : (stored?.lastSeen ?? null) };
      }),
    );
    for (const h of socket.data.watching) void socket.leave(presenceChannel(h));
    for (const h of allowed) void socket.join(presenceChannel(h));
    socket.data.watching = allowed;
    return { presence, hidden: unique.filter((h) => !allowed.includes(h)) };
  }
}

/**
 * The address a connection is counted under for the per-address limits: the first
 * X-Forwarded-For entry behind a trusted proxy, else the peer address. Loopback is not counted
 * (tests, benchmarks, and a local proxy without TRUST_PROXY, which would otherwise put everyone
 * under one address).
 */
function countedAddress(socket: CallwireSocket, trustProxy: boolean): string | null {
  const forwarded = trustProxy
    ? String(socket.handshake.headers['x-forwarded-for'] ?? '')
        .split(',')[0]!
        .trim()
    : '';
  const ip = (forwarded || socket.handshake.address || '').replace(/^::ffff:/, '');
  if (!ip || ip === '::1' || ip.startsWith('127.')) return null;
  return ip;
}

function parsePayload<E extends RequestName>(event: E, raw: unknown): RequestOf<E> {
  let size: number;
  try {
    size = JSON.stringify(raw)?.length ?? 0;
  } catch {
    throw new SignalingError('invalid-message', 'payload is not JSON');
  }
  if (size > LIMITS.messageBytes) throw new SignalingError('payload-too-large', `message larger than ${LIMITS.messageBytes} bytes`);
  const result = requestSchemas[event].safeParse(raw);
  if (result.success) return result.data as RequestOf<E>;
  const issue = result.error.issues[0]!;
  const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  // Too long a string or list is a size problem; too big a number is just invalid.
  const origin = (issue as { origin?: string }).origin;
  const code = issue.code === 'too_big' && (origin === 'string' || origin === 'array') ? 'payload-too-large' : 'invalid-message';
  throw new SignalingError(code, `${event}: ${where}${issue.message}`);
}
