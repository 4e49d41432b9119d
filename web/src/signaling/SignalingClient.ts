/**
 * The browser end of the signaling contract: typed requests that resolve with data or reject
 * with a SignalingError, typed server events, and the connection state for the UI.
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
import { emitRequest, onServerEvent } from './socketCalls.ts';

import type { ConnectionState } from '../model/ports.ts';

export type { ConnectionState };

export class SignalingClient extends Emitter<{
  state: [ConnectionState];
  /** Emitted after every successful (re)connection, once the server's `session` arrived. */
  session: [ServerEventMap['session'], { reconnected: boolean }];
}> {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  state: ConnectionState = 'connecting';
  session: ServerEventMap['session'] | null = null;
  #sessions = 0;

  constructor(auth: HandshakeAuth, url: string = location.origin) {
    super();
    this.socket = io(url, {
      auth,
      // WebSocket first (one round trip less); long-polling only where WebSockets are blocked.
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 3_000,
    });
    this.socket.on('session', (s) => {
      this.session = s;
      this.#setState('connected');
      this.emit('session', s, { reconnected: this.#sessions++ > 0 });
    });
    this.socket.on('disconnect', (reason) => {
      this.#setState('reconnecting');
      // socket.io does not reconnect by itself after the server closed the connection; callwire
      // does that only when it could not set the connection up (its store was unreachable).
      if (reason === 'io server disconnect' && this.state !== 'failed') setTimeout(() => this.socket.connect(), 1_000);
    });
    this.socket.on('connect_error', (err) => {
      const data = (err as Error & { data?: { code?: string } }).data;
      // Credentials problems will not fix themselves by retrying.
      if (data?.code === 'unauthorized' || data?.code === 'handle-taken') {
        this.socket.disconnect();
        this.lastError = SignalingError.fromBody({ code: data.code, message: err.message });
        this.#setState('failed');
      } else if (this.state === 'connected') {
        this.#setState('reconnecting');
      }
    });
  }

  lastError: SignalingError | null = null;

  /** Resolves once connected (the first `session`), or rejects if credentials are refused. */
  ready(): Promise<ServerEventMap['session']> {
    if (this.session) return Promise.resolve(this.session);
    return new Promise((resolve, reject) => {
      const offSession = this.once('session', (s) => {
        offState();
        resolve(s);
      });
      const offState = this.on('state', (st) => {
        if (st !== 'failed') return;
        offSession();
        offState();
        reject(this.lastError ?? new SignalingError('unauthorized', 'could not connect'));
      });
    });
  }

  async request<E extends RequestName>(event: E, payload: RequestOf<E>, timeoutMs = 10_000): Promise<ResponseMap[E]> {
    const res = await emitRequest(this.socket as unknown as Socket, event, payload, timeoutMs);
    if (!res) throw new SignalingError('internal', `${event}: no answer from the server`);
    if (!res.ok) throw SignalingError.fromBody(res.error);
    return res.data;
  }

  /** Subscribes to a server event; returns the unsubscribe function. */
  onEvent<E extends keyof ServerEventMap>(event: E, fn: (payload: ServerEventMap[E]) => void): () => void {
    return onServerEvent(this.socket as unknown as Socket, event, fn);
  }

  close(): void {
    this.socket.close();
    this.removeAllListeners();
  }

  #setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }
}
