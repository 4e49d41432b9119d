/**
 * The whole service in one object: HTTP(S) server, socket.io signaling and the call/room state.
 * `start()` listens; `close()` stops everything it owns.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Server } from 'socket.io';
import { CallManager } from './calls/CallManager.ts';
import { MissedCallStore } from './calls/MissedCallStore.ts';
import type { Config } from './config.ts';
import { createHttpApp } from './http/createHttpApp.ts';
import { Authenticator } from './identity/Authenticator.ts';
import { UserDirectory } from './identity/UserDirectory.ts';
import { createLogger, type Logger } from './logger.ts';
import type { ClientToServerEvents, IceServerInfo, ServerToClientEvents, UserInfo } from './protocol/index.ts';
import { RoomManager } from './rooms/RoomManager.ts';
import { SignalingServer, type SocketData } from './signaling/SignalingServer.ts';
import { SocketNotifier } from './signaling/SocketNotifier.ts';

const DEFAULT_WEB_DIST = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** Largest socket.io frame; bigger ones close the connection (our own per-message limit is lower). */
const MAX_FRAME_BYTES = 1_000_000;

export class CallwireServer {
  readonly logger: Logger;
  readonly users = new UserDirectory();
  readonly missed: MissedCallStore;
  readonly rooms: RoomManager;
  readonly calls: CallManager;
  readonly #http: HttpServer;
  readonly #io: Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
  readonly #signaling: SignalingServer;
  readonly #auth: Authenticator;

  constructor(readonly config: Config) {
    this.logger = createLogger(config.logLevel);
    this.#auth = new Authenticator(config.auth);
    this.missed = new MissedCallStore(config.missedCallsPerUser);
    const iceServersFor = (user: UserInfo) => this.iceServersFor(user);

    const app = createHttpApp({
      webDist: config.webDist ?? DEFAULT_WEB_DIST,
      auth: this.#auth,
      iceServersFor,
      trustProxy: config.trustProxy,
      health: () => ({
        online: this.users.onlineCount,
        rooms: this.rooms.roomCount,
        calls: this.calls.liveCount,
        pendingMissedCalls: this.missed.size,
      }),
    });
    this.#http = config.tls ? createHttpsServer({ cert: config.tls.cert, key: config.tls.key }, app) : createHttpServer(app);
    this.#io = new Server(this.#http, { maxHttpBufferSize: MAX_FRAME_BYTES, serveClient: false });

    const notifier = new SocketNotifier(this.#io);
    this.rooms = new RoomManager(notifier, { reconnectGraceMs: config.reconnectGraceMs, maxParticipants: 2 });
    this.calls = new CallManager(notifier, this.users, this.rooms, this.missed, {
      ringTimeoutMs: config.ringTimeoutMs,
      requireKnownCallee: config.auth.mode === 'guest',
    });
    this.#signaling = new SignalingServer(this.#io, {
      auth: this.#auth,
      users: this.users,
      missed: this.missed,
      rooms: this.rooms,
      calls: this.calls,
      iceServersFor,
      rateLimitPerSec: config.rateLimitPerSec,
      logger: this.logger.child('signaling'),
    });
  }

  /** ICE servers for one user. Static for now; per-user TURN credentials plug in here. */
  iceServersFor(_user: UserInfo): IceServerInfo[] {
    return this.config.iceServers;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', reject);
      this.#http.listen(this.config.port, this.config.host, () => {
        this.#http.off('error', reject);
        resolve();
      });
    });
    this.logger.info(`listening on ${this.url}`);
  }

  get port(): number {
    return (this.#http.address() as AddressInfo).port;
  }

  get url(): string {
    const host = this.config.host === '0.0.0.0' || this.config.host === '::' ? 'localhost' : this.config.host;
    return `${this.config.tls ? 'https' : 'http'}://${host}:${this.port}`;
  }

  async close(): Promise<void> {
    this.#signaling.close();
    this.calls.close();
    this.rooms.close();
    this.missed.close();
    this.users.close();
    await new Promise<void>((resolve) => this.#io.close(() => resolve()));
    this.#http.closeAllConnections?.();
  }
}
