/**
 * Test harness: a real CallwireServer on an ephemeral loopback port and real socket.io clients.
 * Used by the signaling integration tests; not shipped.
 */
import { randomBytes } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { CallwireServer } from '../CallwireServer.ts';
import { loadConfig } from '../config.ts';
import type { Ack, ClientToServerEvents, RequestName, RequestOf, ResponseMap, ServerEventMap, ServerToClientEvents } from '../protocol/index.ts';
import { TEST_METRICS_TOKEN } from './health.ts';

export async function startTestServer(env: Record<string, string> = {}): Promise<CallwireServer> {
  const server = new CallwireServer(
    loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      METRICS_TOKEN: TEST_METRICS_TOKEN,
      TURN_ENABLED: 'false',
      SFU_ENABLED: 'false',
      DATA_DIR: ':memory:',
      // The protocol tests speak as clients without encoded transforms (socket.io-client, wrtc
      // bots): they join unencrypted rooms. The E2EE tests set E2EE themselves.
      E2EE: 'off',
      ...env,
    }),
  );
  await server.start();
  return server;
}

/**
 * A server with the SFU on one worker at `rtcPort` (tests give each file its own port range) and
 * no TURN, for media tests and benchmarks; `env` adds or overrides settings.
 */
export function startSfuServer(rtcPort: number, env: Record<string, string> = {}): Promise<CallwireServer> {
  return startTestServer({ LOG_LEVEL: 'error', SFU_ENABLED: 'true', SFU_WORKERS: '1', SFU_RTC_PORT: String(rtcPort), ...env });
}

type Received = { [E in keyof ServerEventMap]: { event: E; payload: ServerEventMap[E] } }[keyof ServerEventMap];

/** A socket.io client that records every server event so tests can await them in order. */
export class TestClient {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  readonly received: Received[] = [];
  /** Resolves with the server's `session` (it comes once the server has registered the device). */
  readonly session: Promise<ServerEventMap['session']>;
  #waiters: { match: (r: Received) => boolean; resolve: (r: Received) => void }[] = [];

  /** `headers`: extra HTTP headers of the handshake (e.g. X-Forwarded-For behind a trusted proxy). */
  constructor(url: string, auth: unknown, headers?: Record<string, string>) {
    this.socket = io(url, {
      auth: auth as Record<string, unknown>,
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      ...(headers ? { extraHeaders: headers } : {}),
    });
    this.session = new Promise((resolve) => this.socket.once('session', resolve));
    this.socket.onAny((event: string, payload: unknown) => {
      const r = { event, payload } as Received;
      this.received.push(r);
      const i = this.#waiters.findIndex((w) => w.match(r));
      if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(r);
    });
  }

  static async guest(url: string, handle: string, name = handle, key = randomBytes(16).toString('hex')): Promise<TestClient> {
    const c = new TestClient(url, { guest: { handle, name, key } });
    await c.connected();
    await c.session;
    return c;
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.connected) return resolve();
      this.socket.once('connect', () => resolve());
      this.socket.once('connect_error', (err) => reject(err));
    });
  }

  request<E extends RequestName>(event: E, payload: RequestOf<E>): Promise<Ack<ResponseMap[E]>> {
    return this.raw(event, payload) as Promise<Ack<ResponseMap[E]>>;
  }

  /** Sends anything at all, for malformed-input tests. */
  raw(event: string, ...args: unknown[]): Promise<Ack<unknown>> {
    return (this.socket.timeout(5_000) as unknown as { emitWithAck: (e: string, ...a: unknown[]) => Promise<Ack<unknown>> }).emitWithAck(event, ...args);
  }

  /** Resolves with the data of a successful request, throws with the error code otherwise. */
  async ok<E extends RequestName>(event: E, payload: RequestOf<E>): Promise<ResponseMap[E]> {
    const res = await this.request(event, payload);
    if (!res.ok) throw new Error(`${event} failed: ${res.error.code}: ${res.error.message}`);
    return res.data;
  }

  /** The next event of this name (already received and not yet consumed, or future). */
  next<E extends keyof ServerEventMap>(event: E, where: (p: ServerEventMap[E]) => boolean = () => true, timeoutMs = 5_000): Promise<ServerEventMap[E]> {
    const match = (r: Received) => r.event === event && where(r.payload as ServerEventMap[E]);
    const idx = this.received.findIndex(match);
    if (idx >= 0) return Promise.resolve(this.received.splice(idx, 1)[0]!.payload as ServerEventMap[E]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timed out waiting for ${event}`));
      }, timeoutMs);
      const done = (r: Received) => {
        clearTimeout(timer);
        this.received.splice(this.received.indexOf(r), 1);
        resolve(r.payload as ServerEventMap[E]);
      };
      this.#waiters.push({ match, resolve: done });
    });
  }

  /** Whether an event of this name arrived (without consuming it). */
  has(event: keyof ServerEventMap): boolean {
    return this.received.some((r) => r.event === event);
  }

  close(): void {
    this.socket.close();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
