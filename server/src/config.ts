/**
 * Server configuration, read from environment variables and validated once at start-up.
 * A bad value stops the server with a message naming the variable, never a late crash.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v));
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const list = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

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
  RATE_LIMIT_PER_SEC: int(1, 10_000).default(50),
  WEB_DIST: z.string().min(1).optional(),
  TRUST_PROXY: bool.default(false),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
});

/** Every environment variable the server reads. */
export const ENV_VARS = Object.keys(EnvSchema.shape) as (keyof typeof EnvSchema.shape)[];

export interface Config {
  port: number;
  host: string;
  tls: { cert: Buffer; key: Buffer } | null;
  auth: { mode: 'guest' } | { mode: 'jwt'; secret: string; issuer?: string; audience?: string };
  ringTimeoutMs: number;
  reconnectGraceMs: number;
  missedCallsPerUser: number;
  /** ICE servers handed to every client; never a public default. */
  iceServers: { urls: string | string[]; username?: string; credential?: string }[];
  rateLimitPerSec: number;
  webDist: string | null;
  trustProxy: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
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
    auth = { mode: 'jwt', secret: e.JWT_SECRET, issuer: e.JWT_ISSUER, audience: e.JWT_AUDIENCE };
  }

  const iceServers: Config['iceServers'] = [
    ...(e.STUN_URLS.length > 0 ? [{ urls: e.STUN_URLS }] : []),
    ...(e.ICE_SERVERS_JSON ?? []),
  ];
  for (const s of iceServers) {
    for (const url of Array.isArray(s.urls) ? s.urls : [s.urls]) {
      if (!/^(stun|stuns|turn|turns):/.test(url)) {
        throw new ConfigError(`invalid configuration:\n  ICE server url "${url}" must start with stun:, stuns:, turn: or turns:`);
      }
    }
  }

  return {
    port: e.PORT,
    host: e.HOST,
    tls,
    auth,
    ringTimeoutMs: e.RING_TIMEOUT_MS,
    reconnectGraceMs: e.RECONNECT_GRACE_MS,
    missedCallsPerUser: e.MISSED_CALLS_PER_USER,
    iceServers,
    rateLimitPerSec: e.RATE_LIMIT_PER_SEC,
    webDist: e.WEB_DIST ?? null,
    trustProxy: e.TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
  };
}
