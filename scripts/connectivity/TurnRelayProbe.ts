/**
 * A real exchange through a TURN relay, as two callers behind it would have: two clients each
 * allocate a relay over the same transport (UDP, TCP or TLS), bind a channel to each other's
 * relayed address (what browsers use), and bounce numbered pings through both relays.
 */
import { TurnClient, TurnRequestError, type TurnTransportKind } from '../../turn/src/client/index.ts';
import type { TurnUrl } from '../../web/src/connectivity/checks.ts';

export interface TurnRelayProbeOptions {
  server: TurnUrl & { username?: string; credential?: string };
  /** Trusted CA for TLS (else Node's roots); the certificate is always verified, as browsers do. */
  ca: string | null;
  pings: number;
  signal: AbortSignal;
}

export interface TurnRelayResult {
  connectMs: number;
  allocateMs: number;
  relayed: string;
  mapped: string;
  rttMs: { min: number; median: number; max: number };
}

/** Why a relay probe failed, classified so the advice can name the cause. */
export class TurnProbeError extends Error {
  override readonly name = 'TurnProbeError';
  constructor(
    message: string,
    readonly kind: 'unreachable' | 'certificate' | 'auth' | 'refused' | 'no-data',
  ) {
    super(message);
  }
}

const CHANNEL = 0x4000;
const PING_TIMEOUT_MS = 2_000;
const CERT_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|unable to get|self.signed/i;

export class TurnRelayProbe {
  readonly #clients: TurnClient[] = [];

  constructor(private readonly o: TurnRelayProbeOptions) {}

  async run(): Promise<TurnRelayResult> {
    const { server } = this.o;
    const t0 = performance.now();
    const [a, b] = await Promise.all([this.#connect(), this.#connect()]);
    const connectMs = performance.now() - t0;
    this.#check();
    const t1 = performance.now();
    const [ra, rb] = await Promise.all([a.allocate({ lifetime: 60 }), b.allocate({ lifetime: 60 })]).catch((err: unknown) => {
      throw classify(err, server.transport);
    });
    const allocateMs = performance.now() - t1;
    this.#check();
    await Promise.all([a.channelBind(CHANNEL, rb.relayed), b.channelBind(CHANNEL, ra.relayed)]).catch((err: unknown) => {
      throw classify(err, server.transport);
    });
    // B echoes whatever reaches it; A times each ping's round trip through both relays.
    b.on('data', (_peer, data, channel) => {
      if (channel === CHANNEL) b.sendChannelData(CHANNEL, data);
    });
    const rtts: number[] = [];
    for (let i = 0; i < this.o.pings; i++) {
      this.#check();
      const payload = Buffer.from(`callwire-connectivity ${i} ${Date.now()}`);
      const sent = performance.now();
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          a.off('data', onData);
          reject(new TurnProbeError(`ping ${i + 1} did not come back through the relay within ${PING_TIMEOUT_MS} ms`, 'no-data'));
        }, PING_TIMEOUT_MS);
        const onData = (_peer: unknown, data: Buffer) => {
          if (!data.equals(payload)) return;
          clearTimeout(timer);
          a.off('data', onData);
          resolve();
        };
        a.on('data', onData);
        a.sendChannelData(CHANNEL, payload);
      });
      rtts.push(performance.now() - sent);
    }
    rtts.sort((x, y) => x - y);
    return {
      connectMs,
      allocateMs,
      relayed: `${ra.relayed.address}:${ra.relayed.port}`,
      mapped: `${ra.mapped.address}:${ra.mapped.port}`,
      rttMs: { min: rtts[0]!, median: rtts[Math.floor(rtts.length / 2)]!, max: rtts[rtts.length - 1]! },
    };
  }

  /** Deletes the allocations (a UDP one would otherwise count against the quota until it expires). */
  async close(): Promise<void> {
    await Promise.all(this.#clients.map((c) => c.refresh(0).catch(() => {})));
    for (const c of this.#clients) c.close();
    this.#clients.length = 0;
  }

  async #connect(): Promise<TurnClient> {
    const { server } = this.o;
    try {
      const c = await TurnClient.connect({
        transport: server.transport as TurnTransportKind,
        host: server.host,
        port: server.port,
        username: server.username,
        credential: server.credential,
        requestTimeoutMs: 4_000,
        ...(server.transport === 'tls' ? { tls: { ...(this.o.ca ? { ca: this.o.ca } : {}), rejectUnauthorized: true } } : {}),
      });
      c.on('error', () => {}); // failures surface as request errors
      this.#clients.push(c);
      return c;
    } catch (err) {
      throw classify(err, server.transport);
    }
  }

  #check(): void {
    if (this.o.signal.aborted) throw new TurnProbeError('cancelled', 'unreachable');
  }
}

function classify(err: unknown, transport: TurnTransportKind): TurnProbeError {
  if (err instanceof TurnProbeError) return err;
  if (err instanceof TurnRequestError) {
    if (err.code === 0) return new TurnProbeError(`the relay did not answer over ${transport.toUpperCase()} (${err.message})`, 'unreachable');
    if (err.code === 401 || err.code === 438) return new TurnProbeError(`the relay refused the credentials (${err.code} ${err.reason})`, 'auth');
    return new TurnProbeError(`the relay refused the request (${err.code} ${err.reason})`, 'refused');
  }
  const e = err as NodeJS.ErrnoException;
  const text = `${e.code ?? ''} ${e.message ?? String(err)}`;
  if (transport === 'tls' && CERT_ERRORS.test(text))
    return new TurnProbeError(`the relay's TLS certificate is not trusted (${e.code ?? e.message})`, 'certificate');
  return new TurnProbeError(`cannot connect to the relay over ${transport.toUpperCase()} (${e.code ?? e.message})`, 'unreachable');
}
