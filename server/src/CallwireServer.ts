/**
 * The whole service in one object: HTTP(S) server, socket.io signaling and the call/room state.
 * `start()` listens; `close()` stops everything it owns.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Server } from 'socket.io';
import type { Redis } from 'ioredis';
import { createAdapter } from '@socket.io/redis-adapter';
import { CONTACTS_PER_USER, CallManager } from './calls/CallManager.ts';
import type { Cluster } from './cluster/Cluster.ts';
import { LocalCluster } from './cluster/LocalCluster.ts';
import { Ownership } from './cluster/Ownership.ts';
import { RedisCluster } from './cluster/RedisCluster.ts';
import type { Config } from './config.ts';
import { createHttpApp } from './http/createHttpApp.ts';
import { Authenticator } from './identity/Authenticator.ts';
import { SessionTokens } from './identity/SessionTokens.ts';
import { createLogger, type Logger } from './logger.ts';
import type { ClientToServerEvents, IceServerInfo, ServerToClientEvents, UserInfo } from './protocol/index.ts';
import { RoomManager } from './rooms/RoomManager.ts';
import { Sfu } from './sfu/Sfu.ts';
import { WorkerPool } from './sfu/WorkerPool.ts';
import type { StateStore } from './store/StateStore.ts';
import { RedisStore } from './store/RedisStore.ts';
import { SqliteStore } from './store/SqliteStore.ts';
import { connectRedis } from './store/redis.ts';
import { TurnServer, createTurnCredentials } from '../../turn/src/index.ts';
import { SignalingServer, type SocketData } from './signaling/SignalingServer.ts';
import { AbuseLimits } from './signaling/AbuseLimits.ts';
import { SocketNotifier } from './signaling/SocketNotifier.ts';
import { Metrics } from './metrics/Metrics.ts';
import { QualityHistory } from './quality/QualityHistory.ts';
import { sendMetrics } from './http/createHttpApp.ts';
import express from 'express';

const DEFAULT_WEB_DIST = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** Guest handles nobody used for a month are released (another device may take them). */
const USER_RETENTION_MS = 30 * 24 * 3_600_000;
const RELEASE_BATCH = 10_000;

/** TURN credentials of one person are the same within this window (then a new one starts). */
const CREDENTIAL_WINDOW_S = 3_600;

/** Largest socket.io frame; bigger ones close the connection (our own per-message limit is lower). */
const MAX_FRAME_BYTES = 1_000_000;

export class CallwireServer {
  readonly logger: Logger;
  readonly #http: HttpServer;
  readonly #io: Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
  readonly #notifier: SocketNotifier;
  // Set up by start(): the store may be remote (Redis), so they cannot exist before it is reached.
  store!: StateStore;
  cluster!: Cluster;
  rooms!: RoomManager;
  calls!: CallManager;
  #signaling: SignalingServer | null = null;
  #auth!: Authenticator;
  #redis: Redis[] = [];
  #sweeper: NodeJS.Timeout | null = null;
  /** The bundled TURN relay, when it runs in-process. */
  turn: TurnServer | null = null;
  /** The mediasoup SFU for group calls, when it runs. */
  sfu: Sfu | null = null;
  /** Prometheus metrics (served at /metrics with METRICS_TOKEN, or on METRICS_PORT). */
  readonly metrics: Metrics;
  /** Call-quality telemetry of the rooms this node owns. */
  readonly quality: QualityHistory;
  #metricsHttp: HttpServer | null = null;

  constructor(readonly config: Config) {
    this.logger = createLogger(config.logLevel);
    const iceServersFor = (user: UserInfo, host?: string) => this.iceServersFor(user, host);
    this.metrics = new Metrics({
      connections: () => this.#io.engine.clientsCount,
      usersOnline: async () => (this.cluster ? await this.cluster.onlineCount() : 0),
      callsByState: () => this.calls?.countByState() ?? { calling: 0, ringing: 0, accepted: 0 },
      roomsByMode: () => this.rooms?.countByMode() ?? { p2p: 0, sfu: 0 },
      sfuWorkers: async () => {
        const pool = this.sfu?.pool;
        if (!pool) return [];
        return Promise.all(
          pool.slots.map(async (slot) => {
            const u = await slot.worker.getResourceUsage().catch(() => null);
            return { index: slot.index, cpuSeconds: u ? (u.ru_utime + u.ru_stime) / 1000 : 0, consumers: pool.consumersOn(slot) };
          }),
        );
      },
      turn: () => this.turn?.stats() ?? null,
      storeHealthy: () => this.store?.healthy ?? false,
    });
    this.quality = new QualityHistory(this.metrics);
    const app = createHttpApp({
      webDist: config.webDist ?? DEFAULT_WEB_DIST,
      auth: { mode: config.auth.mode, verifyBearer: (t: string) => this.#auth.verifyBearer(t) },
      iceServersFor,
      trustProxy: config.trustProxy,
      embedAllowedOrigins: config.embedAllowedOrigins,
      tls: config.tls !== null,
      health: () => this.health(),
      metricsToken: config.metricsToken,
      groupCalls: () => this.sfu !== null,
      e2ee: config.e2ee,
      metrics: () => this.metrics.render(),
      qualityOf: (roomId) => this.quality.summary(roomId),
    });
    this.#http = config.tls ? createHttpsServer({ cert: config.tls.cert, key: config.tls.key }, app) : createHttpServer(app);
    this.#io = new Server(this.#http, { maxHttpBufferSize: MAX_FRAME_BYTES, serveClient: false });
    this.#notifier = new SocketNotifier(this.#io);
  }

  /** Liveness plus what a load balancer needs: 503 while the store or the cluster is unreachable. */
  async health(): Promise<{ ok: boolean } & Record<string, unknown>> {
    if (!this.store) return { ok: false, starting: true };
    const ok = this.store.healthy && this.cluster.healthy;
    const base = { ok, node: this.cluster.nodeId, store: this.store.kind };
    if (!ok) return base;
    return {
      ...base,
      online: await this.cluster.onlineCount(),
      rooms: this.rooms.roomCount,
      calls: this.calls.liveCount,
      sfu: this.sfu ? { workers: this.sfu.pool.slots.length, rooms: this.sfu.sfuRooms.length } : null,
      pendingMissedCalls: await this.store.pendingMissedCalls(),
    };
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
      // One credential per person per window, not one per request: asking again hands out the
      // same one, and the relay counts a person's allocations by the user id inside it.
      const window = Math.min(CREDENTIAL_WINDOW_S, Math.floor(turn.credentialTtlSeconds / 2)) * 1000;
      const { username, credential } = createTurnCredentials({
        secret: turn.secret,
        userId: user.handle,
        ttlSeconds: turn.credentialTtlSeconds,
        now: Math.floor(Date.now() / window) * window,
      });
      servers.push({ urls, username, credential });
    }
    return servers;
  }

  async start(): Promise<void> {
    const config = this.config;
    await this.#openStore();
    const log = this.logger;
    this.#auth = new Authenticator(config.auth, this.store, new SessionTokens(await this.store.sharedSecret('session')));
    // Rooms stay 1:1 until the SFU is up (#startSfu).
    this.rooms = new RoomManager(this.#notifier, {
      reconnectGraceMs: config.reconnectGraceMs,
      limits: null,
      roomsPerConnection: config.limits.roomsPerConnection,
      e2ee: config.e2ee,
    });
    this.calls = new CallManager(this.#notifier, this.cluster, this.store, this.rooms, log.child('calls'), {
      ringTimeoutMs: config.ringTimeoutMs,
      requireKnownCallee: config.auth.mode === 'guest',
      missedCallsPerUser: config.missedCallsPerUser,
      observer: this.metrics,
    });
    const ownership = new Ownership(this.cluster, this.rooms, this.calls, log.child('cluster'));
    this.#wireCluster(ownership);
    this.#signaling = new SignalingServer(this.#io, {
      auth: this.#auth,
      cluster: this.cluster,
      ownership,
      store: this.store,
      rooms: this.rooms,
      calls: this.calls,
      sfu: () => this.sfu,
      iceServersFor: (user, host) => this.iceServersFor(user, host),
      rateLimitPerSec: config.rateLimitPerSec,
      limits: new AbuseLimits(config.limits),
      trustProxy: config.trustProxy,
      quality: this.quality,
      onError: (code) => this.metrics.signalingError(code),
      logger: log.child('signaling'),
    });
    // Calls that were ringing when this node last stopped (one node: a restart) are missed calls now.
    if (!this.cluster.shared) await this.calls.recoverPending(this.cluster.nodeId);

    this.#sweeper = setInterval(() => void this.#releaseIdleHandles(), 10 * 60_000);
    this.#sweeper.unref();
    if (config.turn?.bundled) {
      const turnLog = log.child('turn');
      this.turn = await TurnServer.start(config.turn.bundled, { logger: (level, message) => turnLog[level](message) });
    }
    if (config.sfu) await this.#startSfu(config.sfu);
    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', reject);
      this.#http.listen(config.port, config.host, () => {
        this.#http.off('error', reject);
        resolve();
      });
    });
    if (config.metricsListener) await this.#listenMetrics(config.metricsListener);
    log.info(`listening on ${this.url} (${this.store.kind} store, node ${this.cluster.nodeId})`);
  }

  /** METRICS_PORT: `/metrics` alone, without a token, on an address operators keep private. */
  async #listenMetrics(at: { port: number; host: string }): Promise<void> {
    // Its own express app answers /metrics only: everything else is 404.
    const app = express();
    app.disable('x-powered-by');
    app.get('/metrics', (_req, res) => void sendMetrics(res, () => this.metrics.render()));
    const server = createHttpServer(app);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at.port, at.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#metricsHttp = server;
  }

  /** Where METRICS_PORT's listener is (tests pass port 0). */
  get metricsUrl(): string | null {
    const a = this.#metricsHttp?.address() as AddressInfo | null | undefined;
    return a ? `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : null;
  }

  async #openStore(): Promise<void> {
    const s = this.config.store;
    const log = this.logger.child('store');
    const report = (e: Error) => {
      this.metrics.storeError(s.kind);
      log.error(e.message);
    };
    if (s.kind === 'sqlite') {
      this.store = new SqliteStore(s.dataDir, report);
      this.cluster = new LocalCluster();
      return;
    }
    // Four connections: commands, the cluster's subscriber, and socket.io's adapter pair. The
    // adapter's publisher queues while Redis is away (it does not handle a failed publish).
    let warned = false;
    const onError = (err: Error) => {
      this.metrics.storeError('redis');
      if (!warned) log.warn(`Redis: ${err.message}`);
      warned = true;
    };
    const cmd = await connectRedis(s.url, { onError });
    cmd.on('ready', () => {
      if (warned) log.info('Redis is back');
      warned = false;
    });
    const sub = cmd.duplicate();
    const adapterPub = cmd.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    // socket.io's adapter publishes without handling a rejection; one must never end the process.
    const publish = adapterPub.publish.bind(adapterPub) as (...args: unknown[]) => Promise<number>;
    (adapterPub as unknown as { publish: (...args: unknown[]) => Promise<number> }).publish = (...args) =>
      publish(...args).catch((err: unknown) => {
        onError(err as Error);
        return 0;
      });
    const adapterSub = cmd.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    for (const c of [sub, adapterPub, adapterSub]) c.on('error', onError);
    this.#redis = [cmd, sub, adapterPub, adapterSub];
    await Promise.all([sub.connect(), adapterPub.connect(), adapterSub.connect()]);
    this.store = new RedisStore(cmd, report);
    this.cluster = await RedisCluster.join(cmd, sub, this.logger.child('cluster'), s.nodeId ?? undefined);
    this.#io.adapter(createAdapter(adapterPub, adapterSub, { key: 'cw:io' }));
  }

  #wireCluster(ownership: Ownership): void {
    const { cluster, rooms, logger } = this;
    const quiet = (what: string) => (err: unknown) => logger.warn(`${what}: ${(err as Error).message}`);
    rooms.on('seat', (handle, marker, on) => void cluster.setBusy(handle, marker, on).catch(quiet('busy marker')));
    // People who shared a room may follow each other's presence from now on (presence.watch).
    rooms.on('met', (handle, others) => {
      const now = Date.now();
      void this.store.addContacts(handle, others, now, CONTACTS_PER_USER).catch(quiet('contacts'));
      for (const o of others) void this.store.addContacts(o, [handle], now, CONTACTS_PER_USER).catch(quiet('contacts'));
    });
    rooms.on('roomClosed', (room) => {
      void cluster.release(`room:${room.id}`).catch(quiet(`room ${room.id} release`));
      if (cluster.shared) void cluster.deleteRoom(room.id).catch(quiet(`room ${room.id} snapshot`));
    });
    if (!cluster.shared) return;
    rooms.on('changed', (room) => void cluster.saveRoom(room.snapshot()).catch(quiet(`room ${room.id} snapshot`)));
    cluster.on('wentOffline', (handles) => void this.#markOffline(handles).catch(quiet('presence')));
    cluster.on('nodeDown', (node) => void ownership.takeOver(node).catch(quiet(`take-over of ${node}`)));
  }

  /** People whose node died: last seen now, and their watchers are told. */
  async #markOffline(handles: string[]): Promise<void> {
    const at = Date.now();
    for (const handle of handles) {
      const name = (await this.store.presence(handle))?.name ?? handle;
      await this.store.touchUser({ handle, name }, at);
      this.#signaling?.announcePresence(handle, name, false, at);
    }
  }

  async #releaseIdleHandles(): Promise<void> {
    try {
      const cutoff = Date.now() - USER_RETENTION_MS;
      const idle = await this.store.releaseIdleHandles(cutoff, RELEASE_BATCH, (h) => this.cluster.isOnline(h));
      if (idle.length > 0) this.logger.info(`released ${idle.length} guest handles unused for 30 days`);
    } catch (err) {
      this.logger.warn(`releasing idle handles failed: ${(err as Error).message}`);
    }
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
    const metricsHttp = this.#metricsHttp;
    this.#metricsHttp = null;
    if (metricsHttp) await new Promise<void>((resolve) => metricsHttp.close(() => resolve()));
    this.sfu?.close();
    this.sfu = null;
    this.calls?.close();
    this.rooms?.close();
    await new Promise<void>((resolve) => this.#io.close(() => resolve()));
    this.#http.closeAllConnections?.();
    await this.#signaling?.drain();
    await this.turn?.close();
    this.turn = null;
    await this.cluster?.close();
    await this.store?.close();
    for (const r of this.#redis) r.disconnect();
    this.#redis = [];
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
