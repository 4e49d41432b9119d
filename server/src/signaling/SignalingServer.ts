/**
 * The socket.io boundary: authenticates each connection, validates every message against the
 * shared contract, and routes it to the call and room managers. Nothing a client sends can
 * crash the process: every failure becomes a typed error reply.
 */
import type { Server, Socket } from 'socket.io';
import type { CallManager } from '../calls/CallManager.ts';
import type { MissedCallStore } from '../calls/MissedCallStore.ts';
import type { Authenticator } from '../identity/Authenticator.ts';
import type { UserDirectory } from '../identity/UserDirectory.ts';
import type { Logger } from '../logger.ts';
import {
  LIMITS,
  SignalingError,
  requestSchemas,
  type Ack,
  type ClientToServerEvents,
  type IceServerInfo,
  type RequestName,
  type RequestOf,
  type ResponseMap,
  type ServerToClientEvents,
  type UserInfo,
} from '../protocol/index.ts';
import type { RoomManager } from '../rooms/RoomManager.ts';
import { RateLimiter } from './RateLimiter.ts';
import { userChannel } from './SocketNotifier.ts';
import type { Sfu, SfuRequest } from '../sfu/Sfu.ts';

export interface SocketData {
  user: UserInfo;
  watching: string[];
  limiter: RateLimiter;
}

type CallwireSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type Handler<E extends RequestName> = (socket: CallwireSocket, payload: RequestOf<E>) => ResponseMap[E] | Promise<ResponseMap[E]>;

export interface SignalingDeps {
  auth: Authenticator;
  users: UserDirectory;
  missed: MissedCallStore;
  rooms: RoomManager;
  calls: CallManager;
  /** The media server for group calls; null when it is not running. */
  sfu: () => Sfu | null;
  iceServersFor: (user: UserInfo, requestHost?: string) => IceServerInfo[];
  rateLimitPerSec: number;
  logger: Logger;
}

const presenceChannel = (handle: string) => `presence:${handle}`;

export class SignalingServer {
  readonly #handlers: { [E in RequestName]: Handler<E> };
  readonly #onPresence: (info: import('../protocol/index.ts').PresenceInfo) => void;

  constructor(
    private readonly io: Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>,
    private readonly deps: SignalingDeps,
  ) {
    const { calls, rooms, missed } = deps;
    this.#handlers = {
      ping: (_s, { t }) => ({ t, serverTime: Date.now() }),
      'presence.watch': (s, { handles }) => this.#watch(s, handles),
      'call.invite': (s, p) => calls.invite(s.data.user, s.id, p),
      'call.accept': (s, p) => calls.accept(s.data.user, s.id, p),
      'call.decline': (s, p) => (calls.decline(s.data.user, s.id, p), {}),
      'call.cancel': (s, p) => (calls.cancel(s.data.user, s.id, p), {}),
      'missedCalls.ack': (s, { ids }) => ({ remaining: missed.ack(s.data.user.handle, ids) }),
      'room.create': (_s, { video }) => ({ roomId: rooms.createLinkRoom(video ? 'video' : 'audio').id }),
      'room.join': (s, p) => ({ ...rooms.join(s.data.user, s.id, p), iceServers: deps.iceServersFor(s.data.user, s.handshake.headers.host) }),
      'room.leave': (s, { roomId }) => (rooms.leave(s.id, roomId), {}),
      'participant.update': (s, p) => rooms.update(s.id, p),
      'video.request': (s, { roomId }) => ({ requestId: rooms.requestVideo(s.id, roomId) }),
      'video.respond': (s, p) => ({ room: rooms.respondVideo(s.id, p) }),
      'rtc.signal': (s, p) => (rooms.signal(s.id, p), {}),
      'sfu.capabilities': (s, p) => this.#sfu(s, 'sfu.capabilities', p),
      'sfu.createTransport': (s, p) => this.#sfu(s, 'sfu.createTransport', p),
      'sfu.connectTransport': (s, p) => this.#sfu(s, 'sfu.connectTransport', p),
      'sfu.ready': (s, p) => this.#sfu(s, 'sfu.ready', p),
      'sfu.produce': (s, p) => this.#sfu(s, 'sfu.produce', p),
      'sfu.closeProducer': (s, p) => this.#sfu(s, 'sfu.closeProducer', p),
      'sfu.resumeConsumer': (s, p) => this.#sfu(s, 'sfu.resumeConsumer', p),
      'sfu.setPreferredLayers': (s, p) => this.#sfu(s, 'sfu.setPreferredLayers', p),
      'sfu.restartIce': (s, p) => this.#sfu(s, 'sfu.restartIce', p),
      'sfu.sync': (s, p) => this.#sfu(s, 'sfu.sync', p),
    };

    this.#onPresence = (info) => io.to(presenceChannel(info.handle)).emit('presence', info);
    deps.users.on('presence', this.#onPresence);

    io.use((socket, next) => {
      deps.auth.authenticate(socket.handshake.auth).then(
        (user) => {
          socket.data.user = user;
          socket.data.watching = [];
          socket.data.limiter = new RateLimiter(deps.rateLimitPerSec);
          next();
        },
        (err: unknown) => {
          const body = err instanceof SignalingError ? err.toJSON() : { code: 'unauthorized', message: 'authentication failed' };
          next(Object.assign(new Error(body.message), { data: body }));
        },
      );
    });
    io.on('connection', (socket) => this.#onConnection(socket));
  }

  close(): void {
    this.deps.users.off('presence', this.#onPresence);
  }

  #onConnection(socket: CallwireSocket): void {
    const { users, calls, rooms, missed, logger } = this.deps;
    const user = socket.data.user;
    void socket.join(userChannel(user.handle));
    users.connect(user, socket.id);
    logger.debug('connected', { handle: user.handle, socket: socket.id });

    socket.emit('session', { user, iceServers: this.deps.iceServersFor(user, socket.handshake.headers.host), serverTime: Date.now() });
    const pending = missed.list(user.handle);
    if (pending.length > 0) socket.emit('missedCalls', { missedCalls: pending });
    calls.userConnected(user.handle, socket.id);

    for (const event of Object.keys(this.#handlers) as RequestName[]) {
      socket.on(event, (...args: unknown[]) => void this.#dispatch(socket, event, args));
    }
    socket.onAny((event: unknown, ...args: unknown[]) => {
      if (typeof event === 'string' && Object.hasOwn(this.#handlers, event)) return;
      this.#reply(socket, String(event).slice(0, 64), args, new SignalingError('unknown-event', `unknown event "${String(event).slice(0, 64)}"`));
    });

    socket.on('disconnect', () => {
      users.disconnect(user.handle, socket.id);
      calls.socketClosed(user.handle, socket.id);
      rooms.socketClosed(socket.id);
      logger.debug('disconnected', { handle: user.handle, socket: socket.id });
    });
  }

  async #dispatch<E extends RequestName>(socket: CallwireSocket, event: E, args: unknown[]): Promise<void> {
    try {
      if (!socket.data.limiter.take()) throw new SignalingError('rate-limited', 'too many messages; slow down');
      const payloads = typeof args.at(-1) === 'function' ? args.slice(0, -1) : args;
      if (payloads.length !== 1) throw new SignalingError('invalid-message', `${event} takes exactly one payload object`);
      const payload = parsePayload(event, payloads[0]);
      const data = await this.#handlers[event](socket, payload);
      this.#reply(socket, event, args, data);
    } catch (err) {
      if (!(err instanceof SignalingError)) {
        this.deps.logger.error('handler failed', { event, error: err instanceof Error ? err.stack : String(err) });
      }
      this.#reply(socket, event, args, err instanceof SignalingError ? err : new SignalingError('internal', 'internal error'));
    }
  }

  /** Answers through the acknowledgement callback, or with `signaling.error` when there is none. */
  #reply(socket: CallwireSocket, event: string, args: unknown[], result: unknown): void {
    const ack = args.at(-1);
    const body: Ack<unknown> = result instanceof SignalingError ? { ok: false, error: result.toJSON() } : { ok: true, data: result };
    if (typeof ack === 'function') (ack as (r: Ack<unknown>) => void)(body);
    else if (!body.ok) socket.emit('signaling.error', { event, error: body.error });
  }

  #sfu<E extends SfuRequest>(socket: CallwireSocket, event: E, payload: RequestOf<E>): Promise<ResponseMap[E]> {
    const sfu = this.deps.sfu();
    if (!sfu) return Promise.reject(new SignalingError('sfu-unavailable', 'group calls are not available on this server (SFU disabled or not running)'));
    return sfu.handle(socket.id, event, payload);
  }

  #watch(socket: CallwireSocket, handles: string[]): ResponseMap['presence.watch'] {
    for (const h of socket.data.watching) void socket.leave(presenceChannel(h));
    const unique = [...new Set(handles)];
    for (const h of unique) void socket.join(presenceChannel(h));
    socket.data.watching = unique;
    return { presence: unique.map((h) => this.deps.users.presence(h)) };
  }
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
