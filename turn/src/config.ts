// TURN relay configuration: one zod schema, validated at the boundary (object or env).
import fs from 'node:fs';
import net from 'node:net';
import { z } from 'zod';
import { parseCidr } from './PeerPolicy.ts';

const ip = z.string().refine((s) => net.isIP(s) !== 0, 'must be an IPv4 or IPv6 address');
const port = z.number().int().min(0).max(65535);
const seconds = z.number().int().min(1).max(86_400);
const cidr = z.string().superRefine((s, ctx) => {
  try {
    parseCidr(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});
/** PEM text, or a path to a PEM file (read at parse time). */
const pem = z.string().min(1);

const inputSchema = z
  .object({
    /** TURN REST shared secret (coturn `static-auth-secret`). */
    secret: z.string().min(16, 'must be at least 16 characters (e.g. `openssl rand -hex 32`)'),
    realm: z.string().min(1).max(127).default('callwire'),
    listenIp: ip.default('0.0.0.0'),
    /** null disables the listener; 0 picks a free port (tests). */
    udpPort: port.nullable().default(3478),
    tcpPort: port.nullable().default(3478),
    /** TLS (turns:) listens only when tlsCert and tlsKey are set. */
    tlsPort: port.default(5349),
    tlsCert: pem.optional(),
    tlsKey: pem.optional(),
    /** Local address relay sockets bind to (default: listenIp). */
    relayIp: ip.optional(),
    /** Public address advertised in XOR-RELAYED-ADDRESS (1:1 NAT). */
    externalIp: ip.optional(),
    minPort: port.min(1).default(49152),
    maxPort: port.min(1).default(65535),
    /** CIDRs allowed as peers although in a denied range (e.g. "127.0.0.0/8" in tests). */
    allowedPeers: z.array(cidr).default([]),
    /** Concurrent allocations per user id (0 = unlimited). */
    userQuota: z.number().int().min(0).default(10),
    /** Concurrent allocations in total (0 = unlimited). A small deployment's worth by default. */
    totalQuota: z.number().int().min(0).default(1000),
    minLifetime: seconds.default(60),
    defaultLifetime: seconds.default(600),
    maxLifetime: seconds.default(3600),
    /**
     * Per-allocation relay cap in bytes per second, both directions together (0 = none). The
     * default, 750 000 B/s (6 Mbit/s), carries a 720p video call both ways with room to spare.
     */
    bandwidthBps: z.number().int().min(0).default(750_000),
    software: z.string().max(127).default('callwire-turn'),
    logLevel: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  })
  .strict();

function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || /^(0+:){7}0+$/.test(address);
}

function readPem(value: string | undefined, ctx: z.RefinementCtx, field: 'tlsCert' | 'tlsKey'): string | undefined {
  if (value === undefined || value.startsWith('-----BEGIN')) return value;
  try {
    return fs.readFileSync(value, 'utf8');
  } catch (err) {
    ctx.addIssue({ code: 'custom', path: [field], message: `cannot read PEM file "${value}": ${(err as Error).message}` });
    return undefined;
  }
}

export const turnConfigSchema = inputSchema.transform((c, ctx) => {
  if (c.minPort > c.maxPort) ctx.addIssue({ code: 'custom', path: ['minPort'], message: 'must not exceed maxPort' });
  if (!(c.minLifetime <= c.defaultLifetime && c.defaultLifetime <= c.maxLifetime)) {
    ctx.addIssue({ code: 'custom', path: ['defaultLifetime'], message: 'lifetimes must satisfy minLifetime <= defaultLifetime <= maxLifetime' });
  }
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) {
    ctx.addIssue({ code: 'custom', path: [c.tlsCert === undefined ? 'tlsCert' : 'tlsKey'], message: 'tlsCert and tlsKey must be set together' });
  }
  const relayIp = c.relayIp ?? c.listenIp;
  if (isUnspecified(relayIp) && c.externalIp === undefined) {
    ctx.addIssue({ code: 'custom', path: ['externalIp'], message: 'required when relay sockets bind a wildcard address (set externalIp or relayIp)' });
  }
  if (c.externalIp !== undefined && net.isIP(c.externalIp) !== net.isIP(relayIp)) {
    ctx.addIssue({ code: 'custom', path: ['externalIp'], message: 'must be of the same address family as relayIp' });
  }
  const tlsCert = readPem(c.tlsCert, ctx, 'tlsCert');
  const tlsKey = readPem(c.tlsKey, ctx, 'tlsKey');
  return { ...c, relayIp, tlsCert, tlsKey };
});

export type TurnConfigInput = z.input<typeof turnConfigSchema>;
/** Validated configuration; it is also a valid input (parsing is idempotent). */
export type TurnConfig = z.output<typeof turnConfigSchema>;

/** Environment variable for each config field. */
export const TURN_ENV: Readonly<Record<keyof z.input<typeof inputSchema>, string>> = {
  secret: 'TURN_SECRET',
  realm: 'TURN_REALM',
  listenIp: 'TURN_LISTEN_IP',
  udpPort: 'TURN_UDP_PORT',
  tcpPort: 'TURN_TCP_PORT',
  tlsPort: 'TURN_TLS_PORT',
  tlsCert: 'TURN_TLS_CERT',
  tlsKey: 'TURN_TLS_KEY',
  relayIp: 'TURN_RELAY_IP',
  externalIp: 'TURN_EXTERNAL_IP',
  minPort: 'TURN_MIN_PORT',
  maxPort: 'TURN_MAX_PORT',
  allowedPeers: 'TURN_ALLOWED_PEERS',
  userQuota: 'TURN_USER_QUOTA',
  totalQuota: 'TURN_TOTAL_QUOTA',
  minLifetime: 'TURN_MIN_LIFETIME',
  defaultLifetime: 'TURN_DEFAULT_LIFETIME',
  maxLifetime: 'TURN_MAX_LIFETIME',
  bandwidthBps: 'TURN_BANDWIDTH_BPS',
  software: 'TURN_SOFTWARE',
  logLevel: 'TURN_LOG_LEVEL',
};

const NUMERIC = new Set([
  'udpPort',
  'tcpPort',
  'tlsPort',
  'minPort',
  'maxPort',
  'userQuota',
  'totalQuota',
  'minLifetime',
  'defaultLifetime',
  'maxLifetime',
  'bandwidthBps',
]);
const DISABLEABLE = new Set(['udpPort', 'tcpPort']);

/** Maps TURN_* variables to a config input; unset or empty variables take defaults. */
export function turnConfigFromEnv(env: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, name] of Object.entries(TURN_ENV)) {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') continue;
    if (DISABLEABLE.has(field) && /^(off|none|disabled?)$/i.test(raw)) out[field] = null;
    // non-numeric text is passed through so the schema reports it with the variable name
    else if (NUMERIC.has(field)) out[field] = /^\d+$/.test(raw) ? Number(raw) : raw;
    else if (field === 'allowedPeers') out[field] = raw.split(/[\s,]+/).filter(Boolean);
    else out[field] = raw;
  }
  return out;
}

export interface TurnConfigIssue {
  /** Field path, or the environment variable when parsing env. */
  path: string;
  message: string;
}

export class TurnConfigError extends Error {
  readonly issues: readonly TurnConfigIssue[];
  constructor(issues: TurnConfigIssue[]) {
    super(`Invalid TURN configuration:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`);
    this.name = 'TurnConfigError';
    this.issues = issues;
  }
}

function looksLikeEnv(input: object): boolean {
  return input === process.env || Object.keys(input).some((k) => k.startsWith('TURN_'));
}

function validate(candidate: unknown, fromEnv: boolean): TurnConfig {
  const result = turnConfigSchema.safeParse(candidate);
  if (result.success) return result.data;
  throw new TurnConfigError(
    result.error.issues.map((issue) => {
      const field = String(issue.path[0] ?? '');
      const path = fromEnv && field in TURN_ENV ? TURN_ENV[field as keyof typeof TURN_ENV] : issue.path.join('.') || '(config)';
      return { path, message: issue.message };
    }),
  );
}

/** Validates TURN_* environment variables; issues are reported by variable name. */
export function parseTurnEnv(env: Readonly<Record<string, string | undefined>> = process.env): TurnConfig {
  return validate(turnConfigFromEnv(env), true);
}

/**
 * Validates a config object, or an environment (process.env or any object with TURN_* keys).
 * Throws TurnConfigError listing every problem.
 */
export function parseTurnConfig(input: TurnConfigInput | Readonly<Record<string, string | undefined>>): TurnConfig {
  if (looksLikeEnv(input)) return parseTurnEnv(input as Record<string, string | undefined>);
  return validate(input, false);
}
