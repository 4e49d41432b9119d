/**
 * Turns a handshake into an identity. Guests pick a handle and prove it stays theirs with a
 * per-device key (the StateStore keeps only its sha256, so the binding survives restarts and
 * holds on every node); integrators can instead require a JWT (HS256, shared secret).
 */
import { createHash } from 'node:crypto';
import { jwtVerify, errors as joseErrors } from 'jose';
import { DisplayName, Handle, HandshakeAuth, SignalingError, type UserInfo } from '../protocol/index.ts';
import type { Config } from '../config.ts';
import type { StateStore } from '../store/StateStore.ts';

export class Authenticator {
  readonly #secret: Uint8Array | null;

  constructor(
    private readonly auth: Config['auth'],
    private readonly store: StateStore,
  ) {
    this.#secret = auth.mode === 'jwt' ? new TextEncoder().encode(auth.secret) : null;
  }

  get mode(): Config['auth']['mode'] {
    return this.auth.mode;
  }

  /** Validates a socket.io `auth` payload (or a bearer token) and returns who it is. */
  async authenticate(raw: unknown): Promise<UserInfo> {
    const parsed = HandshakeAuth.safeParse(raw);
    if (!parsed.success) {
      throw new SignalingError('unauthorized', `bad handshake: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    }
    const auth = parsed.data;
    if ('token' in auth) return this.verifyToken(auth.token);
    if (this.auth.mode === 'jwt') throw new SignalingError('unauthorized', 'this server requires a token');

    const { handle, name, key } = auth.guest;
    const digest = createHash('sha256').update(key).digest('hex');
    let claim;
    try {
      claim = await this.store.claimHandle(handle, digest, Date.now());
    } catch (err) {
      throw new SignalingError('unavailable', `cannot check the handle now; try again shortly (${(err as Error).message})`);
    }
    if (claim === 'taken') throw new SignalingError('handle-taken', `the handle "${handle}" is in use by another device`);
    return { handle, name };
  }

  async verifyToken(token: string): Promise<UserInfo> {
    if (!this.#secret || this.auth.mode !== 'jwt') {
      throw new SignalingError('unauthorized', 'this server does not accept tokens (AUTH_MODE=guest)');
    }
    try {
      const { payload } = await jwtVerify(token, this.#secret, {
        algorithms: ['HS256'],
        issuer: this.auth.issuer,
        audience: this.auth.audience,
      });
      const handle = Handle.safeParse(payload['handle'] ?? payload.sub);
      const name = DisplayName.safeParse(payload['name']);
      if (!handle.success) throw new SignalingError('unauthorized', 'token: `sub` (or `handle`) is not a valid handle');
      if (!name.success) throw new SignalingError('unauthorized', 'token: `name` claim missing or invalid');
      return { handle: handle.data, name: name.data };
    } catch (err) {
      if (err instanceof SignalingError) throw err;
      const reason = err instanceof joseErrors.JWTExpired ? 'token expired' : 'token rejected';
      throw new SignalingError('unauthorized', reason);
    }
  }
}
