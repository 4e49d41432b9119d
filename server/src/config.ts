/**
 * Server configuration, read from environment variables and validated once at start-up.
 * A bad value stops the server with a message naming the variable, never a late crash.
 */
import type { AbuseLimitSettings } from './signaling/AbuseLimits.ts';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism, networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseEmbedOrigins, type EmbedOrigins } from './http/EmbedPolicy.ts';
import { TURN_ENV, TurnConfigError, parseTurnConfig, turnConfigFromEnv, type TurnConfig } from '../../turn/src/index.ts';

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v));
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const list = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
);

const IceServerJson = z.array(
  z.strictObject({
    urls: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    username: z.string().optional(),
    credential: z.string().optional(),
  }),
);

/** Environment variable → schema. Documented in README.md (Configuration). */
const EnvSchema = z.object({
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  TLS_CERT: z.string().min(1).optional(),
  TLS_KEY: z.string().min(1).optional(),
  AUTH_MODE: z.enum(['guest', 'jwt']).default('guest'),
  JWT_SECRET: z.string().min(32, 'JWT_SECRET must be at least 32 characters').optional(),
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  /** Longest a token may live (exp − iat, or exp − now without iat). */
  JWT_MAX_LIFETIME: int(60, 30 * 86_400).default(86_400),
  /** Clock skew allowed between the token issuer and this server, for exp/nbf/iat. */
  JWT_CLOCK_TOLERANCE: int(0, 300).default(30),
  RING_TIMEOUT_MS: int(1_000, 600_000).default(30_000),
  RECONNECT_GRACE_MS: int(0, 300_000).default(15_000),
  MISSED_CALLS_PER_USER: int(1, 10_000).default(100),
  STUN_URLS: list.default([]),
  ICE_SERVERS_JSON: z
    .string()
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(IceServerJson)
    .optional(),
  /** Run the bundled TURN relay in-process (its own TURN_* settings: docs/turn.md). */
  TURN_ENABLED: bool.default(true),
  /** TURN/TURNS URLs to hand out instead of the bundled relay's (e.g. an external coturn). */
  TURN_URLS: list.optional(),
  /** Host name clients use to reach the relay; default: the host they reached this server by. */
  TURN_PUBLIC_HOST: z.string().min(1).optional(),
  /** Lifetime of the ephemeral TURN credentials; allocations are refreshed with them, so it must outlive a call. */
  TURN_CREDENTIAL_TTL: int(60, 7 * 86_400).default(86_400),
  /** Group calls through the mediasoup SFU (3+ people); without it rooms stay 1:1. */
  SFU_ENABLED: bool.default(true),
  SFU_WORKERS: int(1, 64).optional(),
  SFU_LISTEN_IP: z.string().min(1).optional(),
  /** Address clients reach the SFU at, for servers behind NAT. */
  SFU_ANNOUNCED_ADDRESS: z.string().min(1).optional(),
  /** Worker i listens on this port + i, UDP and TCP (one WebRtcServer per worker). */
  SFU_RTC_PORT: int(1, 65000).default(40000),
  SFU_MAX_VOICE: int(3, 1000).default(32),
  SFU_MAX_VIDEO: int(3, 100).default(8),
  /** Above SFU_TOP_K_THRESHOLD people, only the SFU_TOP_K latest loudest speakers' audio is forwarded. */
  SFU_TOP_K: int(1, 32).default(3),
  SFU_TOP_K_THRESHOLD: int(2, 1000).default(8),
  SFU_MAX_INCOMING_BITRATE: int(100_000, 100_000_000).default(1_500_000),
  RATE_LIMIT_PER_SEC: int(1, 10_000).default(50),
  /** Open signaling connections from one address (loopback not counted). */
  MAX_CONNECTIONS_PER_IP: int(1, 100_000).default(20),
  /** Guest handles one address may create per hour (loopback not counted). */
  NEW_HANDLES_PER_IP_HOUR: int(1, 100_000).default(20),
  /** `room.create` calls one connection may make per hour. */
  ROOM_CREATES_PER_HOUR: int(1, 100_000).default(30),
  /** SFU rooms (mediasoup routers) one node runs at once; more answer `limit-reached`. */
  SFU_MAX_ROOMS: int(1, 100_000).default(500),
  /**
   * End-to-end encrypted media (docs/e2ee.md). `required`: clients that cannot encrypt are
   * refused (`e2ee-required`); `preferred`: they may join, and a room with one of them is not
   * encrypted; `off`: nobody encrypts.
   */
  E2EE: z.enum(['required', 'preferred', 'off']).default('required'),
  /** Rooms one connection may be in at once (echo rooms: one at a time, always). */
  ROOMS_PER_CONNECTION: int(1, 1_000).default(4),
  /** Calls to handles that do not exist, per connection per hour (stops handle enumeration). */
  UNKNOWN_CALLEES_PER_HOUR: int(1, 100_000).default(20),
  /**
   * Bearer token for operators: `/healthz` shows counts (users online, rooms, calls, SFU) only
   * to `Authorization: Bearer <METRICS_TOKEN>`; without it, it answers liveness only.
   */
  METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').max(256).optional(),
  /**
   * Prometheus metrics: `/metrics` on the main port answers `Authorization: Bearer <METRICS_TOKEN>`.
   * METRICS_PORT serves `/metrics` without a token on a port of its own, bound to METRICS_HOST
   * (default 127.0.0.1: keep it off the internet). Neither set: no metrics.
   */
  METRICS_PORT: int(0, 65535).optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  WEB_DIST: z.string().min(1).optional(),
  TRUST_PROXY: bool.default(false),
  /** Host page origins that may embed calls (embed.js): comma-separated, or `*`. Unset: none. */
  EMBED_ALLOWED_ORIGINS: z
    .string()
    .transform((s, ctx) => {
      try {
        return parseEmbedOrigins(s);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    })
    .optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** Where the embedded store keeps its file (one node); `:memory:` keeps nothing (tests). */
  DATA_DIR: z.string().min(1).optional(),
  /** Many nodes: state in this Redis (redis://host:port), events between nodes through it. */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/./, 'REDIS_URL must look like redis://host:port')
    .optional(),
  /** This node's name in a cluster (logs, routing); default: random per start. */
  NODE_ID: z
    .string()
    .regex(/^[a-z0-9-]{1,32}$/, 'NODE_ID: 1–32 of a-z 0-9 -')
    .optional(),
});

/** Every environment variable the server reads (its own and the bundled relay's TURN_*). */
export const ENV_VARS: string[] = [...Object.keys(EnvSchema.shape), ...Object.values(TURN_ENV)];

export interface TurnSettings {
  /** The in-process relay's configuration, or null when an external relay is used. */
  bundled: TurnConfig | null;
  /** TURN REST shared secret (coturn's static-auth-secret). */
  secret: string;
  /** Explicit URLs to hand out; null: derive them from the bundled relay's ports. */
  urls: string[] | null;
  publicHost: string | null;
  credentialTtlSeconds: number;
}

export interface SfuSettings {
  workers: number;
  listenIp: string;
  announcedAddress: string | undefined;
  rtcPort: number;
  maxVoice: number;
  maxVideo: number;
  topK: number;
  topKThreshold: number;
  maxIncomingBitrate: number;
  /** SFU rooms (routers) this node runs at once. */
  maxRooms: number;
}

export interface Config {
  port: number;
  host: string;
  tls: { cert: Buffer; key: Buffer } | null;
  auth: { mode: 'guest' } | { mode: 'jwt'; secret: string; issuer: string; audience: string; maxLifetimeSeconds: number; clockToleranceSeconds: number };
  ringTimeoutMs: number;
  reconnectGraceMs: number;
  missedCallsPerUser: number;
  /** ICE servers handed to every client; never a public default. */
  iceServers: { urls: string | string[]; username?: string; credential?: string }[];
  /** TURN relay (bundled or external) whose ephemeral credentials clients get; null: none. */
  turn: TurnSettings | null;
  /** The mediasoup SFU for group calls; null: disabled (rooms stay 1:1). */
  sfu: SfuSettings | null;
  rateLimitPerSec: number;
  limits: AbuseLimitSettings;
  /** Shows /healthz details to `Authorization: Bearer <token>`; null: liveness only, for everyone. */
  /** End-to-end encryption policy (E2EE). */
  e2ee: 'required' | 'preferred' | 'off';
  metricsToken: string | null;
  /** A separate, token-free `/metrics` listener; null: none. */
  metricsListener: { port: number; host: string } | null;
  webDist: string | null;
  trustProxy: boolean;
  /** Origins allowed to embed calls: a list, `*`, or [] (embedding refused). */
  embedAllowedOrigins: EmbedOrigins;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** The store: an embedded SQLite file under `dataDir` (default), or Redis shared by many nodes. */
  store: { kind: 'sqlite'; dataDir: string } | { kind: 'redis'; url: string; nodeId: string | null };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings count as unset so `FOO= npm start` behaves like not setting FOO.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;

  if ((e.TLS_CERT === undefined) !== (e.TLS_KEY === undefined)) {
    throw new ConfigError('invalid configuration:\n  TLS_CERT and TLS_KEY must be set together');
  }
  let tls: Config['tls'] = null;
  if (e.TLS_CERT !== undefined && e.TLS_KEY !== undefined) {
    try {
      tls = { cert: readFileSync(e.TLS_CERT), key: readFileSync(e.TLS_KEY) };
    } catch (err) {
      throw new ConfigError(`invalid configuration:\n  TLS_CERT/TLS_KEY: ${(err as Error).message}`);
    }
  }

  let auth: Config['auth'] = { mode: 'guest' };
  if (e.AUTH_MODE === 'jwt') {
    if (e.JWT_SECRET === undefined) {
      throw new ConfigError('invalid configuration:\n  JWT_SECRET is required when AUTH_MODE=jwt');
    }
    // Without both, a token minted for another application by the same secret would be accepted.
    if (e.JWT_ISSUER === undefined || e.JWT_AUDIENCE === undefined) {
      throw new ConfigError('invalid configuration:\n  JWT_ISSUER and JWT_AUDIENCE are required when AUTH_MODE=jwt (the iss and aud your tokens carry)');
    }
    auth = {
      mode: 'jwt',
      secret: e.JWT_SECRET,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      maxLifetimeSeconds: e.JWT_MAX_LIFETIME,
      clockToleranceSeconds: e.JWT_CLOCK_TOLERANCE,
    };
  }

  const iceServers: Config['iceServers'] = [...(e.STUN_URLS.length > 0 ? [{ urls: e.STUN_URLS }] : []), ...(e.ICE_SERVERS_JSON ?? [])];
  for (const s of iceServers) {
    for (const url of Array.isArray(s.urls) ? s.urls : [s.urls]) {
      if (!/^(stun|stuns|turn|turns):/.test(url)) {
        throw new ConfigError(`invalid configuration:\n  ICE server url "${url}" must start with stun:, stuns:, turn: or turns:`);
      }
    }
  }

  const turn = loadTurn(e, env, cleaned);

  return {
    port: e.PORT,
    host: e.HOST,
    tls,
    auth,
    ringTimeoutMs: e.RING_TIMEOUT_MS,
    reconnectGraceMs: e.RECONNECT_GRACE_MS,
    missedCallsPerUser: e.MISSED_CALLS_PER_USER,
    iceServers,
    turn,
    sfu: e.SFU_ENABLED ? loadSfu(e) : null,
    rateLimitPerSec: e.RATE_LIMIT_PER_SEC,
    limits: {
      connectionsPerIp: e.MAX_CONNECTIONS_PER_IP,
      newHandlesPerIpHour: e.NEW_HANDLES_PER_IP_HOUR,
      roomCreatesPerConnectionHour: e.ROOM_CREATES_PER_HOUR,
      roomsPerConnection: e.ROOMS_PER_CONNECTION,
      unknownCalleesPerHour: e.UNKNOWN_CALLEES_PER_HOUR,
    },
    e2ee: e.E2EE,
    metricsToken: e.METRICS_TOKEN ?? null,
    metricsListener: e.METRICS_PORT === undefined ? null : { port: e.METRICS_PORT, host: e.METRICS_HOST },
    webDist: e.WEB_DIST ?? null,
    trustProxy: e.TRUST_PROXY,
    embedAllowedOrigins: e.EMBED_ALLOWED_ORIGINS ?? [],
    logLevel: e.LOG_LEVEL,
    store: e.REDIS_URL ? { kind: 'redis', url: e.REDIS_URL, nodeId: e.NODE_ID ?? null } : { kind: 'sqlite', dataDir: e.DATA_DIR ?? DEFAULT_DATA_DIR },
  };
}

/** `data/` in the checkout (git-ignored). */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../data', import.meta.url));

type Env = z.infer<typeof EnvSchema>;

function loadTurn(e: Env, rawEnv: Record<string, string | undefined>, env: Record<string, string | undefined>): TurnSettings | null {
  const explicitSecret = env['TURN_SECRET'];
  if (!e.TURN_ENABLED) {
    if (!e.TURN_URLS) return null;
    if (!explicitSecret) throw new ConfigError('invalid configuration:\n  TURN_SECRET is required with TURN_URLS when TURN_ENABLED=false');
    checkTurnUrls(e.TURN_URLS);
    return { bundled: null, secret: explicitSecret, urls: e.TURN_URLS, publicHost: e.TURN_PUBLIC_HOST ?? null, credentialTtlSeconds: e.TURN_CREDENTIAL_TTL };
  }
  // In-process relay: a secret nobody else needs to know unless the operator sets one.
  const secret = explicitSecret ?? randomBytes(32).toString('hex');
  const input: Record<string, unknown> = { ...turnConfigFromEnv(rawEnv), secret };
  if (env['TURN_LISTEN_IP'] === undefined && env['TURN_RELAY_IP'] === undefined) {
    const specific = e.HOST !== '0.0.0.0' && e.HOST !== '::';
    input['listenIp'] = specific ? e.HOST : '0.0.0.0';
    // Relay sockets need a concrete address to advertise: the first LAN address, else loopback.
    if (!specific) input['relayIp'] = firstLanAddress() ?? '127.0.0.1';
  }
  if (env['TURN_TLS_CERT'] === undefined && e.TLS_CERT && e.TLS_KEY) {
    input['tlsCert'] = e.TLS_CERT;
    input['tlsKey'] = e.TLS_KEY;
  }
  let bundled: TurnConfig;
  try {
    bundled = parseTurnConfig(input as never);
  } catch (err) {
    if (err instanceof TurnConfigError) {
      throw new ConfigError(
        `invalid configuration:\n${err.issues.map((i) => `  ${TURN_ENV[i.path as keyof typeof TURN_ENV] ?? i.path}: ${i.message}`).join('\n')}`,
      );
    }
    throw err;
  }
  if (e.TURN_URLS) checkTurnUrls(e.TURN_URLS);
  return { bundled, secret, urls: e.TURN_URLS ?? null, publicHost: e.TURN_PUBLIC_HOST ?? null, credentialTtlSeconds: e.TURN_CREDENTIAL_TTL };
}

function checkTurnUrls(urls: string[]): void {
  for (const url of urls) {
    if (!/^(turn|turns):/.test(url)) throw new ConfigError(`invalid configuration:\n  TURN_URLS: "${url}" must start with turn: or turns:`);
  }
}

function firstLanAddress(): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return null;
}

function loadSfu(e: Env): SfuSettings {
  const specific = e.HOST !== '0.0.0.0' && e.HOST !== '::';
  const listenIp = e.SFU_LISTEN_IP ?? (specific ? e.HOST : '0.0.0.0');
  const wildcard = listenIp === '0.0.0.0' || listenIp === '::';
  if (e.SFU_MAX_VIDEO > e.SFU_MAX_VOICE) throw new ConfigError('invalid configuration:\n  SFU_MAX_VIDEO must not exceed SFU_MAX_VOICE');
  return {
    workers: e.SFU_WORKERS ?? Math.max(1, availableParallelism()),
    listenIp,
    // A wildcard listener must announce a concrete address: the first LAN address, else loopback.
    announcedAddress: e.SFU_ANNOUNCED_ADDRESS ?? (wildcard ? (firstLanAddress() ?? '127.0.0.1') : undefined),
    rtcPort: e.SFU_RTC_PORT,
    maxVoice: e.SFU_MAX_VOICE,
    maxVideo: e.SFU_MAX_VIDEO,
    topK: e.SFU_TOP_K,
    topKThreshold: e.SFU_TOP_K_THRESHOLD,
    maxIncomingBitrate: e.SFU_MAX_INCOMING_BITRATE,
    maxRooms: e.SFU_MAX_ROOMS,
  };
}
