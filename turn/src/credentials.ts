// TURN REST ephemeral credentials, the scheme of coturn's `use-auth-secret`
// (draft-uberti-behave-turn-rest): username "<expiry-unix>:<user-id>",
// password base64(HMAC-SHA1(secret, username)).
import crypto from 'node:crypto';

export interface TurnCredentialsOptions {
  /** Shared secret (same value as coturn's `static-auth-secret`). */
  secret: string;
  /** Opaque user identifier; quotas are counted per user id. Must not be empty. */
  userId: string;
  /** Validity from `now`, in seconds. Must outlive the longest call: TURN refreshes reuse it. */
  ttlSeconds: number;
  /** Current time (ms since epoch or Date), for tests. */
  now?: number | Date;
}

export interface TurnCredentials {
  username: string;
  credential: string;
  /** Expiry, seconds since the Unix epoch. */
  expiresAt: number;
}

/** Password for a REST username: base64(HMAC-SHA1(secret, username)). */
export function restPassword(secret: string, username: string): string {
  return crypto.createHmac('sha1', secret).update(username).digest('base64');
}

export function createTurnCredentials({ secret, userId, ttlSeconds, now = Date.now() }: TurnCredentialsOptions): TurnCredentials {
  if (!secret) throw new TypeError('createTurnCredentials: secret must not be empty');
  if (!userId) throw new TypeError('createTurnCredentials: userId must not be empty');
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new TypeError('createTurnCredentials: ttlSeconds must be a positive number');
  const nowMs = typeof now === 'number' ? now : now.getTime();
  const expiresAt = Math.floor(nowMs / 1000) + Math.ceil(ttlSeconds);
  const username = `${expiresAt}:${userId}`;
  return { username, credential: restPassword(secret, username), expiresAt };
}

export interface ParsedRestUsername {
  expiresAt: number;
  userId: string;
}

/** Parses "<expiry>[:<user-id>]"; null when the username is not of that form. */
export function parseRestUsername(username: string): ParsedRestUsername | null {
  const sep = username.indexOf(':');
  const ts = sep === -1 ? username : username.slice(0, sep);
  if (!/^\d{1,15}$/.test(ts)) return null;
  return { expiresAt: Number(ts), userId: sep === -1 ? '' : username.slice(sep + 1) };
}

/**
 * Password lookup for the long-term credential mechanism: the REST password while the
 * username has not expired, undefined otherwise (which the server answers with 401).
 */
export function lookupRestPassword(secret: string, username: string, nowMs: number = Date.now()): string | undefined {
  const parsed = parseRestUsername(username);
  if (!parsed || parsed.expiresAt * 1000 <= nowMs) return undefined;
  return restPassword(secret, username);
}
