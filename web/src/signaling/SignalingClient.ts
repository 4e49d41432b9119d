/**
 * The one client end of the signaling contract, for every client: the web app and widget, the
 * connectivity page and CLI, and the load-test bots (socket.io-client runs in browsers and Node).
 * Typed requests that resolve with data or reject with a SignalingError, typed server events, and
 * the connection state. Options say how it connects: the app reconnects by itself; a probe or a
 * bot uses one transport and no reconnection, because it must see failures, not hide them.
 */
import { io, type Socket } from 'socket.io-client';
import {
  SignalingError,
  type ClientToServerEvents,
  type HandshakeAuth,
  type RequestName,
  type RequestOf,
  type ResponseMap,
  type ServerEventMap,
  type ServerToClientEvents,
} from '@protocol';
import { Emitter } from '../lib/Emitter.ts';
import type { ConnectionState } from '../model/ports.ts';
import { emitRequest, onServerEvent } from './socketCalls.ts';

export type { ConnectionState };
export type SignalingTransport = 'websocket' | 'polling';

export interface SignalingOptions {
  /** The callwire server's origin; default: this page's. */
  url?: string;
  /** Default: WebSocket, falling back to long-polling. A probe names one to test just it. */
  transports?: SignalingTransport[];
  /** Reconnect after a drop (default true: the app). Off, a drop is the state `failed`. */
  reconnect?: boolean;
  /** How long a request waits for its answer (default 10 s). */
  requestTimeoutMs?: number;
}

export interface ConnectOptions extends SignalingOptions {
  /** Give up (`unavailable`) when the server's `session` has not arrived by then (default 10 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class SignalingClient extends Emitter<{
  state: [ConnectionState];
  /** Emitted after every successful (re)connection, once the server's `session` arrived. */
  session: [ServerEventMap['session'], { reconnected: boolean }];
}> {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  state: ConnectionState = 'connecting';
  session: ServerEventMap['session'] | null = null;
  /** Why the state is `failed`. */
  lastError: SignalingError | null = null;
  /** From creation to the first `session` (handshake included), ms. */
  connectMs: number | null = null;
  readonly #t0 = performance.now();
  readonly #requestTimeoutMs: number;
  #sessions = 0;

  /** Connects and resolves once the server's `session` arrived; rejects with a SignalingError. */
  static async connect(auth: HandshakeAuth, options: ConnectOptions = {}): Promise<SignalingClient> {
    const client = new SignalingClient(auth, options);
    const timeoutMs = options.timeoutMs ?? 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort = () => {};
    try {
      await Promise.race([
        client.ready(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new SignalingError('unavailable', `no answer within ${timeoutMs} ms`)), timeoutMs);
          onAbort = () => reject(new SignalingError('unavailable', 'cancelled'));
          options.signal?.addEventListener('abort', onAbort);
        }),
      ]);
      return client;
    } catch (err) {
      client.close();
      throw err;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  constructor(auth: HandshakeAuth, options: SignalingOptions = {}) {
    super();
    const reconnect = options.reconnect ?? true;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.socket = io(options.url ?? location.origin, {
      auth,
      // WebSocket first (one round trip less); long-polling only where WebSockets are blocked.
      transports: options.transports ?? ['websocket', 'polling'],
      ...(options.transports ? { upgrade: false } : { tryAllTransports: true }),
      reconnection: reconnect,
      reconnectionDelay: 500,
      reconnectionDelayMax: 3_000,
      ...(reconnect ? {} : { forceNew: true }),
    });
    this.socket.on('session', (s) => {
      this.session = s;
      this.connectMs ??= performance.now() - this.#t0;
      this.#setState('connected');
      this.emit('session', s, { reconnected: this.#sessions++ > 0 });
    });
    this.socket.on('disconnect', (reason) => {
      if (this.state === 'failed') return;
      if (!reconnect) return this.#fail(new SignalingError('unavailable', `connection lost (${reason})`));
      this.#setState('reconnecting');
      // socket.io does not reconnect by itself after the server closed the connection; callwire
      // does that only when it could not set the connection up (its store was unreachable).
      if (reason === 'io server disconnect') setTimeout(() => this.socket.connect(), 1_000);
    });
    this.socket.on('connect_error', (err) => {
      const data = (err as Error & { data?: { code?: string; message?: string } }).data;
      const refused = data?.code === 'unauthorized' || data?.code === 'handle-taken' || data?.code === 'limit-reached';
      if (refused || !reconnect) {
        // Credentials (or limits) will not fix themselves by retrying; a probe reports, never retries.
        this.socket.disconnect();
        const code = refused ? (data!.code as 'unauthorized' | 'handle-taken' | 'limit-reached') : 'unavailable';
        this.#fail(new SignalingError(code, data?.message ?? err.message));
      } else if (this.state === 'connected') {
        this.#setState('reconnecting');
      }
    });
  }

  /** The transport socket.io actually uses. */
  get transport(): string {
    return this.socket.io.engine?.transport?.name ?? 'unknown';
  }

  /** Resolves once connected (the first `session`), or rejects if the connection failed. */
  ready(): Promise<ServerEventMap['session']> {
    if (this.session) return Promise.resolve(this.session);
    if (this.state === 'failed') return Promise.reject(this.lastError ?? new SignalingError('unavailable', 'could not connect'));
    return new Promise((resolve, reject) => {
      const offSession = this.once('session', (s) => {
        offState();
        resolve(s);
      });
      const offState = this.on('state', (st) => {
        if (st !== 'failed') return;
        offSession();
        offState();
        reject(this.lastError ?? new SignalingError('unavailable', 'could not connect'));
      });
    });
  }

  async request<E extends RequestName>(event: E, payload: RequestOf<E>, timeoutMs = this.#requestTimeoutMs): Promise<ResponseMap[E]> {
    if (this.state === 'failed') throw new SignalingError('unavailable', `${event}: ${this.lastError?.message ?? 'connection closed'}`);
    const res = await emitRequest(this.socket as unknown as Socket, event, payload, timeoutMs);
    if (!res) throw new SignalingError('unavailable', `${event}: no answer from the server within ${timeoutMs} ms`);
    if (!res.ok) throw SignalingError.fromBody(res.error);
    return res.data;
  }

  /** Subscribes to a server event; returns the unsubscribe function. */
  onEvent<E extends keyof ServerEventMap>(event: E, fn: (payload: ServerEventMap[E]) => void): () => void {
    return onServerEvent(this.socket as unknown as Socket, event, fn);
  }

  close(): void {
    this.socket.removeAllListeners();
    this.socket.close();
    this.removeAllListeners();
  }

  #fail(err: SignalingError): void {
    this.lastError = err;
    this.#setState('failed');
  }

  #setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }
}
