/**
 * A UDP hop that adds delay and jitter, for tests and benchmarks (this kernel has no netem).
 * It stands in front of a UDP server — the bundled TURN relay, so every relayed media packet
 * crosses it — and forwards each client's datagrams from a socket of its own (the server sees
 * one address per client, as through a NAT), both ways, each after `delayMs` ± `jitterMs`.
 *
 * Jitter keeps packet order per direction of each client (a queue, like a real link): a packet
 * never leaves before the one ahead of it. Bounded: at most MAX_CLIENTS clients and
 * MAX_QUEUED datagrams in flight; beyond that it drops, like a full router queue.
 */
import { createSocket, type Socket } from 'node:dgram';

const MAX_CLIENTS = 256;
const MAX_QUEUED = 20_000;

export interface DelayHopOptions {
  /** Where datagrams go: the server behind the hop. */
  target: { host: string; port: number };
  /** One-way delay added each way, ms. */
  delayMs: number;
  /** Each datagram's delay varies uniformly within ± this, ms (order kept). */
  jitterMs?: number;
  /** Address to listen on (default 127.0.0.1), port (default 0: any free one). */
  host?: string;
  port?: number;
  random?: () => number;
}

/** One direction of one client: datagrams in order, each with the time it may leave. */
interface Lane {
  queue: { at: number; send: () => void }[];
  timer: NodeJS.Timeout | null;
}

interface Client {
  upstream: Socket;
  up: Lane;
  down: Lane;
}

const lane = (): Lane => ({ queue: [], timer: null });

export class DelayHop {
  readonly #front: Socket;
  readonly #clients = new Map<string, Client>();
  #queued = 0;
  #closed = false;
  /** Datagrams forwarded and dropped (queue or client limit). */
  forwarded = 0;
  dropped = 0;

  private constructor(
    front: Socket,
    private readonly o: { -readonly [K in keyof Required<Omit<DelayHopOptions, 'host' | 'port'>>]: Required<DelayHopOptions>[K] },
  ) {
    this.#front = front;
    front.on('message', (msg, from) => this.#fromClient(msg, `${from.address}:${from.port}`, from.address, from.port));
  }

  static async start(options: DelayHopOptions): Promise<DelayHop> {
    for (const [k, v] of [
      ['delayMs', options.delayMs],
      ['jitterMs', options.jitterMs ?? 0],
    ] as const) {
      if (!Number.isFinite(v) || v < 0 || v > 10_000) throw new RangeError(`${k} must be 0–10000 ms, got ${v}`);
    }
    if ((options.jitterMs ?? 0) > options.delayMs) throw new RangeError('jitterMs must not exceed delayMs (a datagram cannot leave before it came)');
    const front = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      front.once('error', reject);
      front.bind(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        front.off('error', reject);
        resolve();
      });
    });
    front.on('error', () => {}); // a send to a vanished client must not end the process
    return new DelayHop(front, { target: options.target, delayMs: options.delayMs, jitterMs: options.jitterMs ?? 0, random: options.random ?? Math.random });
  }

  /** Changes the delay and jitter for datagrams from now on (one hop serves a whole benchmark). */
  set(delayMs: number, jitterMs = 0): void {
    if (!Number.isFinite(delayMs) || delayMs < 0 || delayMs > 10_000) throw new RangeError(`delayMs must be 0–10000 ms, got ${delayMs}`);
    if (!Number.isFinite(jitterMs) || jitterMs < 0 || jitterMs > delayMs) throw new RangeError(`jitterMs must be 0–delayMs, got ${jitterMs}`);
    this.o.delayMs = delayMs;
    this.o.jitterMs = jitterMs;
  }

  get port(): number {
    return this.#front.address().port;
  }

  #fromClient(msg: Buffer, key: string, address: string, port: number): void {
    let c = this.#clients.get(key);
    if (!c) {
      if (this.#clients.size >= MAX_CLIENTS) return void this.dropped++;
      const upstream = createSocket('udp4');
      upstream.on('error', () => {});
      upstream.on('message', (back) => {
        const client = this.#clients.get(key);
        if (client) this.#later(client.down, () => this.#front.send(back, port, address));
      });
      upstream.bind(0, '127.0.0.1');
      c = { upstream, up: lane(), down: lane() };
      this.#clients.set(key, c);
    }
    const client = c;
    this.#later(client.up, () => client.upstream.send(msg, this.o.target.port, this.o.target.host));
  }

  #later(l: Lane, send: () => void): void {
    if (this.#closed) return;
    if (this.#queued >= MAX_QUEUED) return void this.dropped++;
    const wobble = this.o.jitterMs * (2 * this.o.random() - 1);
    // Never before the datagram ahead of it: a link is a queue.
    const at = Math.max(l.queue.at(-1)?.at ?? 0, Date.now() + this.o.delayMs + wobble);
    l.queue.push({ at, send });
    this.#queued++;
    if (!l.timer) this.#arm(l);
  }

  /** One timer per lane, for its head: due datagrams leave in order. */
  #arm(l: Lane): void {
    const head = l.queue[0];
    if (!head || this.#closed) return void (l.timer = null);
    l.timer = setTimeout(
      () => {
        const now = Date.now();
        while (l.queue.length > 0 && l.queue[0]!.at <= now) {
          const { send } = l.queue.shift()!;
          this.#queued--;
          this.forwarded++;
          try {
            send();
          } catch {
            this.dropped++;
          }
        }
        this.#arm(l);
      },
      Math.max(0, head.at - Date.now()),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const c of this.#clients.values()) {
      for (const l of [c.up, c.down]) if (l.timer) clearTimeout(l.timer);
      c.upstream.close();
    }
    this.#clients.clear();
    await new Promise<void>((resolve) => this.#front.close(() => resolve()));
  }
}
