/**
 * Bearer tokens for a signaling session: `session` hands one to every connected device, and the
 * HTTP API (`GET /api/ice-servers`) takes only such a token (or, in JWT mode, the site's JWT), so
 * TURN credentials go to people with a session and never to anonymous callers.
 *
 * Format `cws1.<base64url(handle)>.<expiry s>.<base64url(HMAC-SHA256)>`, signed with a secret the
 * StateStore keeps (the same on every node, and across restarts).
 */
import { createHmac } from 'node:crypto';
import { Handle, SignalingError } from '../protocol/index.ts';
import { sameSecret } from './ids.ts';

const PREFIX = 'cws1.';
/** A session token lives a day; every (re)connection brings a fresh one. */
export const SESSION_TOKEN_TTL_S = 86_400;

export class SessionTokens {
  constructor(private readonly secret: string) {}

  static looksLike(token: string): boolean {
    return token.startsWith(PREFIX);
  }

  issue(handle: string, now = Date.now()): string {
    const body = `${Buffer.from(handle).toString('base64url')}.${Math.floor(now / 1000) + SESSION_TOKEN_TTL_S}`;
    return `${PREFIX}${body}.${this.#mac(body)}`;
  }

  /** The handle the token was issued to; `unauthorized` when forged, malformed or expired. */
  verify(token: string, now = Date.now()): string {
    const parts = token.startsWith(PREFIX) ? token.slice(PREFIX.length).split('.') : [];
    if (parts.length !== 3) throw new SignalingError('unauthorized', 'not a session token');
    const [handle64, expiry, mac] = parts as [string, string, string];
    if (!sameSecret(mac, this.#mac(`${handle64}.${expiry}`))) throw new SignalingError('unauthorized', 'session token rejected');
    if (!/^\d{1,12}$/.test(expiry) || Number(expiry) * 1000 < now) throw new SignalingError('unauthorized', 'session token expired: reconnect for a new one');
    const handle = Handle.safeParse(Buffer.from(handle64, 'base64url').toString());
    if (!handle.success) throw new SignalingError('unauthorized', 'session token rejected');
    return handle.data;
  }

  #mac(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url');
  }
}
