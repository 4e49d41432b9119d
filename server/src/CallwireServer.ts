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
import { Sfu } from './sfu/Sfu.ts';
import { WorkerPool } from './sfu/WorkerPool.ts';
import { TurnServer, createTurnCredentials } from '../../turn/src/index.ts';
import { SignalingServer, type SocketData } from './signaling/SignalingServer.ts';
import { SocketNotifier } from './signaling/SocketNotifier.ts';

const DEFAULT_WEB_DIST = fileURLToPath(new URL('../../web/dist', import.meta.url));

const USER_RETENTION_MS = 30 * 24 * 3_600_000;
const MAX_KNOWN_USERS = 100_000;

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
  #sweeper: NodeJS.Timeout | null = null;
  /** The bundled TURN relay, when it runs in-process. */
  turn: TurnServer | null = null;
  /** The mediasoup SFU for group calls, when it runs. */
  sfu: Sfu | null = null;
  readonly #notifier: SocketNotifier;

  constructor(readonly config: Config) {
    this.logger = createLogger(config.logLevel);
    this.#auth = new Authenticator(config.auth);
    this.missed = new MissedCallStore(config.missedCallsPerUser);
    const iceServersFor = (user: UserInfo, host?: string) => this.iceServersFor(user, host);

    const app = createHttpApp({
      webDist: config.webDist ?? DEFAULT_WEB_DIST,
      auth: this.#auth,
      iceServersFor,
      trustProxy: config.trustProxy,
      embedAllowedOrigins: config.embedAllowedOrigins,
      health: () => ({
        online: this.users.onlineCount,
        rooms: this.rooms.roomCount,
        calls: this.calls.liveCount,
        sfu: this.sfu ? { workers: this.sfu.pool.slots.length, rooms: this.sfu.sfuRooms.length } : null,
        pendingMissedCalls: this.missed.size,
      }),
    });
    this.#http = config.tls ? createHttpsServer({ cert: config.tls.cert, key: config.tls.key }, app) : createHttpServer(app);
    this.#io = new Server(this.#http, { maxHttpBufferSize: MAX_FRAME_BYTES, serveClient: false });

    const notifier = (this.#notifier = new SocketNotifier(this.#io));
    // Rooms stay 1:1 until the SFU is up (start()).
    this.rooms = new RoomManager(notifier, { reconnectGraceMs: config.reconnectGraceMs, limits: null });
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
      sfu: () => this.sfu,
      iceServersFor,
      rateLimitPerSec: config.rateLimitPerSec,
      logger: this.logger.child('signaling'),
    });
  }

  /**
   * ICE servers for one user: configured STUN/TURN, plus the relay's STUN and TURN URLs with
   * fresh ephemeral credentials. `requestHost` (the Host the client reached us by) names the
   * relay unless TURN_PUBLIC_HOST is set.
   */
  iceServersFor(user: UserInfo, requestHost?: string): IceServerInfo[] {
    const servers = [...this.config.iceServers];
    const turn = this.config.turn;
    if (!turn) return servers;
    const host = turn.publicHost ?? hostOf(requestHost) ?? 'localhost';
    let urls = turn.urls;
    if (this.turn) {
      const a = this.turn.addresses();
      if (a.udp) servers.push({ urls: [`stun:${host}:${a.udp.port}`] });
      urls ??= [
        ...(a.udp ? [`turn:${host}:${a.udp.port}?transport=udp`] : []),
        ...(a.tcp ? [`turn:${host}:${a.tcp.port}?transport=tcp`] : []),
        ...(a.tls ? [`turns:${host}:${a.tls.port}?transport=tcp`] : []),
      ];
    }
    if (urls && urls.length > 0) {
      const { username, credential } = createTurnCredentials({ secret: turn.secret, userId: user.handle, ttlSeconds: turn.credentialTtlSeconds });
      servers.push({ urls, username, credential });
    }
    return servers;
  }

  async start(): Promise<void> {
    // Forget people offline for a month (and the oldest beyond 100k): presence and guest handles
    // must not grow without bound on a long-running server.
    this.#sweeper = setInterval(() => this.#auth.forget(this.users.sweep(USER_RETENTION_MS, MAX_KNOWN_USERS)), 10 * 60_000);
    this.#sweeper.unref();
    if (this.config.turn?.bundled) {
      const log = this.logger.child('turn');
      this.turn = await TurnServer.start(this.config.turn.bundled, { logger: (level, message) => log[level](message) });
    }
    if (this.config.sfu) await this.#startSfu(this.config.sfu);
    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', reject);
      this.#http.listen(this.config.port, this.config.host, () => {
        this.#http.off('error', reject);
        resolve();
      });
    });
    this.logger.info(`listening on ${this.url}`);
  }

  /** Without a working media server callwire still runs: 1:1 calls are peer to peer. */
  async #startSfu(settings: NonNullable<Config['sfu']>): Promise<void> {
    const log = this.logger.child('sfu');
    try {
      const pool = await WorkerPool.start({
        size: settings.workers,
        listenIp: settings.listenIp,
        announcedAddress: settings.announcedAddress,
        rtcPort: settings.rtcPort,
        logger: log,
      });
      this.sfu = new Sfu(pool, this.rooms, this.#notifier, settings, log);
      this.rooms.setLimits({ maxVoice: settings.maxVoice, maxVideo: settings.maxVideo });
    } catch (err) {
      log.error(`group calls disabled: the SFU did not start: ${(err as Error).message}`);
    }
  }

  get port(): number {
    return (this.#http.address() as AddressInfo).port;
  }

  get url(): string {
    const host = this.config.host === '0.0.0.0' || this.config.host === '::' ? 'localhost' : this.config.host;
    return `${this.config.tls ? 'https' : 'http'}://${host}:${this.port}`;
  }

  async close(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#signaling.close();
    this.sfu?.close();
    this.sfu = null;
    this.calls.close();
    this.rooms.close();
    this.missed.close();
    this.users.close();
    await new Promise<void>((resolve) => this.#io.close(() => resolve()));
    this.#http.closeAllConnections?.();
    await this.turn?.close();
    this.turn = null;
  }
}

/** "example.com:3000" → "example.com"; "[::1]:3000" → "[::1]"; junk → null. */
function hostOf(hostHeader: string | undefined): string | null {
  if (!hostHeader) return null;
  try {
    return new URL(`http://${hostHeader}`).hostname || null;
  } catch {
    return null;
  }
}
