/**
 * Turns a handshake into an identity. Guests pick a handle and prove it stays theirs with a
 * per-device key (the StateStore keeps only its sha256, so the binding survives restarts and
 * holds on every node); integrators can instead require a JWT (HS256, shared secret).
 */
import { createHash } from 'node:crypto';
import { jwtVerify, errors as joseErrors } from 'jose';
import { DisplayName, Handle, HandshakeAuth, SignalingError, type UserInfo } from '../protocol/index.ts';
import type { Config } from '../config.ts';
import { orUnavailable, type StateStore } from '../store/StateStore.ts';
import { SessionTokens } from './SessionTokens.ts';

export class Authenticator {
  readonly #secret: Uint8Array | null;

  constructor(
    private readonly auth: Config['auth'],
    private readonly store: StateStore,
    private readonly sessions: SessionTokens,
  ) {
    this.#secret = auth.mode === 'jwt' ? new TextEncoder().encode(auth.secret) : null;
  }

  get mode(): Config['auth']['mode'] {
    return this.auth.mode;
  }

  /**
   * Validates a socket.io `auth` payload (or a bearer token) and returns who it is.
   * `beforeNewHandle` runs (and may refuse, by throwing) before a guest handle is bound for the first time.
   */
  async authenticate(raw: unknown, beforeNewHandle: () => void = () => {}): Promise<UserInfo> {
    const parsed = HandshakeAuth.safeParse(raw);
    if (!parsed.success) {
      throw new SignalingError('unauthorized', `bad handshake: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    }
    const auth = parsed.data;
    if ('token' in auth) return this.verifyToken(auth.token);
    if (this.auth.mode === 'jwt') throw new SignalingError('unauthorized', 'this server requires a token');

    const { handle, name, key } = auth.guest;
    const digest = createHash('sha256').update(key).digest('hex');
    const claim = await orUnavailable(async () => {
      if (!(await this.store.handleExists(handle))) beforeNewHandle();
      return this.store.claimHandle(handle, digest, Date.now());
    });
    if (claim === 'taken') throw new SignalingError('handle-taken', `the handle "${handle}" is in use by another device`);
    return { handle, name };
  }

  /** The HTTP API's bearer token for this person's signaling session. */
  sessionToken(user: UserInfo): string {
    return this.sessions.issue(user.handle);
  }

  /**
   * Who an HTTP `Authorization: Bearer` belongs to: a session token (any mode; the person must
   * have connected), or the site's JWT in JWT mode.
   */
  async verifyBearer(token: string): Promise<UserInfo> {
    if (SessionTokens.looksLike(token)) {
      const handle = this.sessions.verify(token);
      return { handle, name: handle };
    }
    return this.verifyToken(token);
  }

  /**
   * A token must be HS256 with our secret, name this server as issuer and audience, carry `exp`,
   * and live no longer than JWT_MAX_LIFETIME (so a leaked token cannot be used for ever).
   */
  async verifyToken(token: string): Promise<UserInfo> {
    const auth = this.auth;
    if (!this.#secret || auth.mode !== 'jwt') {
      throw new SignalingError('unauthorized', 'this server does not accept tokens (AUTH_MODE=guest)');
    }
    try {
      const { payload } = await jwtVerify(token, this.#secret, {
        algorithms: ['HS256'],
        issuer: auth.issuer,
        audience: auth.audience,
        requiredClaims: ['exp'],
        clockTolerance: auth.clockToleranceSeconds,
      });
      const now = Math.floor(Date.now() / 1000);
      const lifetime = payload.exp! - (typeof payload.iat === 'number' ? payload.iat : now);
      if (lifetime > auth.maxLifetimeSeconds) {
        throw new SignalingError('unauthorized', `token lives longer than this server allows (${auth.maxLifetimeSeconds} s)`);
      }
      const handle = Handle.safeParse(payload['handle'] ?? payload.sub);
      const name = DisplayName.safeParse(payload['name']);
      if (!handle.success) throw new SignalingError('unauthorized', 'token: `sub` (or `handle`) is not a valid handle');
      if (!name.success) throw new SignalingError('unauthorized', 'token: `name` claim missing or invalid');
      return { handle: handle.data, name: name.data };
    } catch (err) {
      if (err instanceof SignalingError) throw err;
      throw new SignalingError('unauthorized', tokenProblem(err));
    }
  }
}

/** A reason a person (or the integrator reading logs) can act on; never the token itself. */
function tokenProblem(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'token expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'exp') return 'token has no expiry (exp)';
    if (err.claim === 'iss') return 'token issuer (iss) is not the one this server expects';
    if (err.claim === 'aud') return 'token audience (aud) is not this server';
    return `token claim ${err.claim} rejected`;
  }
  return 'token rejected';
}
