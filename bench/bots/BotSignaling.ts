/**
 * A bot's signaling connection: socket.io-client speaking callwire's protocol exactly as the web
 * app does (guest handshake, acknowledged requests, typed server events).
 */
import { randomBytes } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import type { Ack, ClientToServerEvents, RequestName, RequestOf, ResponseMap, ServerEventMap, ServerToClientEvents } from '../../server/src/protocol/index.ts';

const REQUEST_TIMEOUT_MS = 10_000;

export class BotSignaling {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  /** The server's greeting after the handshake: who we are and the ICE servers (TURN credentials) for us. */
  readonly session: Promise<ServerEventMap['session']>;
  #closed = false;

  constructor(url: string, handle: string, name: string) {
    this.socket = io(url, {
      auth: { guest: { handle, name, key: randomBytes(16).toString('hex') } },
      transports: ['websocket'],
      // A bot that lost its server is a failed bot: the load test reports it rather than hiding it.
      reconnection: false,
      forceNew: true,
      timeout: REQUEST_TIMEOUT_MS,
    });
    // Listening from the start: the greeting may arrive in the same read as the handshake.
    this.session = new Promise((resolve) => this.socket.once('session', resolve));
  }

  /** Resolves once the handshake is accepted; rejects with the server's reason otherwise. */
  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.connected) return resolve();
      this.socket.once('connect', () => resolve());
      this.socket.once('connect_error', (err) => reject(new Error(`connect failed: ${err.message}`)));
    });
  }

  /** An acknowledged request; throws `<event> failed: <code>: <message>` on an error reply. */
  async request<E extends RequestName>(event: E, payload: RequestOf<E>): Promise<ResponseMap[E]> {
    if (this.#closed) throw new Error(`${event}: signaling closed`);
    const emit = this.socket.timeout(REQUEST_TIMEOUT_MS) as unknown as { emitWithAck(e: string, p: unknown): Promise<Ack<ResponseMap[E]>> };
    const res = await emit.emitWithAck(event, payload);
    if (!res.ok) throw new Error(`${event} failed: ${res.error.code}: ${res.error.message}`);
    return res.data;
  }

  on<E extends keyof ServerEventMap>(event: E, listener: (payload: ServerEventMap[E]) => void): void {
    (this.socket as unknown as { on(e: string, l: (p: ServerEventMap[E]) => void): void }).on(event, listener);
  }

  onDisconnect(listener: (reason: string) => void): void {
    this.socket.on('disconnect', listener);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.removeAllListeners();
    this.socket.close();
  }
}
