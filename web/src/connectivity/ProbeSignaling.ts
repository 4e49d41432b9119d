/**
 * A signaling connection for the connectivity test, in the browser and in Node (socket.io-client
 * runs in both): one transport only (WebSocket, or long-polling to test the fallback), no
 * reconnection (a test must see failures, not hide them), typed requests, round-trip probes
 * with the protocol's `ping`. Only type imports from the protocol, so Node loads it as is.
 */
import { io, type Socket } from 'socket.io-client';
import { emitRequest, onServerEvent } from '../signaling/socketCalls.ts';
import type { ClientToServerEvents, HandshakeAuth, RequestName, RequestOf, ResponseMap, ServerEventMap, ServerToClientEvents } from '@protocol';

export type SignalingTransport = 'websocket' | 'polling';

export class ProbeSignalingError extends Error {
  override readonly name = 'ProbeSignalingError';
  constructor(
    message: string,
    /** The protocol's error code when the server answered with one. */
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

export interface RoundTrips {
  samples: number;
  minMs: number;
  medianMs: number;
  maxMs: number;
}

export class ProbeSignaling {
  #closed = false;

  private constructor(
    readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>,
    readonly session: ServerEventMap['session'],
    /** From `io()` to the server's `session` event (handshake included). */
    readonly connectMs: number,
  ) {}

  /** Connects and waits for `session`; rejects on refusal, on a connection error or at the deadline. */
  static connect(url: string, auth: HandshakeAuth, transport: SignalingTransport, timeoutMs: number, signal?: AbortSignal): Promise<ProbeSignaling> {
    const t0 = performance.now();
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, {
      auth,
      transports: [transport],
      upgrade: false,
      reconnection: false,
      forceNew: true,
      timeout: timeoutMs,
    });
    return new Promise((resolve, reject) => {
      const fail = (err: ProbeSignalingError) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.removeAllListeners();
        socket.close();
        reject(err);
      };
      const onAbort = () => fail(new ProbeSignalingError('cancelled'));
      const timer = setTimeout(() => fail(new ProbeSignalingError(`no answer within ${timeoutMs} ms`)), timeoutMs);
      signal?.addEventListener('abort', onAbort);
      socket.once('session', (session) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.off('connect_error');
        resolve(new ProbeSignaling(socket, session, performance.now() - t0));
      });
      socket.once('connect_error', (err) => {
        const data = (err as Error & { data?: { code?: string; message?: string } }).data;
        fail(new ProbeSignalingError(data?.message ?? err.message, data?.code ?? null));
      });
    });
  }

  /** The transport socket.io actually uses. */
  get transport(): string {
    return this.socket.io.engine?.transport?.name ?? 'unknown';
  }

  async request<E extends RequestName>(event: E, payload: RequestOf<E>, timeoutMs = 10_000): Promise<ResponseMap[E]> {
    if (this.#closed) throw new ProbeSignalingError(`${event}: connection closed`);
    const res = await emitRequest(this.socket as unknown as Socket, event, payload, timeoutMs);
    if (!res) throw new ProbeSignalingError(`${event}: no answer from the server within ${timeoutMs} ms`);
    if (!res.ok) throw new ProbeSignalingError(`${event}: ${res.error.message}`, res.error.code);
    return res.data;
  }

  onEvent<E extends keyof ServerEventMap>(event: E, fn: (payload: ServerEventMap[E]) => void): () => void {
    return onServerEvent(this.socket as unknown as Socket, event, fn);
  }

  /** `count` sequential `ping`s (the protocol's round-trip probe), a short pause between them. */
  async roundTrips(count: number, signal?: AbortSignal): Promise<RoundTrips> {
    const rtts: number[] = [];
    for (let i = 0; i < count && !signal?.aborted; i++) {
      const t = performance.now();
      await this.request('ping', { t: Date.now() }, 5_000);
      rtts.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 50));
    }
    if (rtts.length === 0) throw new ProbeSignalingError('cancelled');
    rtts.sort((a, b) => a - b);
    return { samples: rtts.length, minMs: rtts[0]!, medianMs: rtts[Math.floor(rtts.length / 2)]!, maxMs: rtts[rtts.length - 1]! };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.removeAllListeners();
    this.socket.close();
  }
}
