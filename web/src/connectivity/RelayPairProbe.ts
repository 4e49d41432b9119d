/**
 * A real exchange through one TURN URL, inside the page: two RTCPeerConnections, both relay-only
 * with just that URL (so the only possible path is relay ↔ relay through the server), a data
 * channel between them, numbered pings echoed back. The selected candidate pair proves the path
 * (type relay, and the transport to the relay: udp, tcp or tls).
 */
import { selectedPair } from '../rtc/stats.ts';
export interface RelayPairResult {
  rttMs: number;
  relayProtocol: string | null;
  candidateType: string | null;
  connectMs: number;
}

export class RelayPairError extends Error {
  override readonly name = 'RelayPairError';
  constructor(
    message: string,
    /** The browser's own errors for that URL (code and text), for the details. */
    readonly iceErrors: string[],
    /** Whether the browser got a relay candidate at all (no: the relay itself is unusable). */
    readonly gotRelayCandidate: boolean,
  ) {
    super(message);
  }
}

export class RelayPairProbe {
  readonly #a: RTCPeerConnection;
  readonly #b: RTCPeerConnection;
  readonly #errors: string[] = [];
  #relayCandidate = false;

  constructor(server: RTCIceServer) {
    const config: RTCConfiguration = { iceServers: [server], iceTransportPolicy: 'relay' };
    this.#a = new RTCPeerConnection(config);
    this.#b = new RTCPeerConnection(config);
    for (const [from, to] of [
      [this.#a, this.#b],
      [this.#b, this.#a],
    ] as const) {
      from.addEventListener('icecandidate', (e) => {
        if (e.candidate?.candidate) {
          if (/ typ relay /.test(e.candidate.candidate)) this.#relayCandidate = true;
          void to.addIceCandidate(e.candidate).catch(() => {});
        }
      });
      from.addEventListener('icecandidateerror', (e) => {
        const ev = e as RTCPeerConnectionIceErrorEvent;
        const text = `${ev.errorCode}${ev.errorText ? ` ${ev.errorText}` : ''}`;
        if (!this.#errors.includes(text)) this.#errors.push(text);
      });
    }
  }

  async run(pings: number, timeoutMs: number, signal: AbortSignal, progress: (text: string) => void): Promise<RelayPairResult> {
    const t0 = performance.now();
    const channel = this.#a.createDataChannel('relay-probe', { ordered: true });
    const answered = new Promise<RTCDataChannel>((resolve) => this.#b.addEventListener('datachannel', (e) => resolve(e.channel), { once: true }));
    progress('allocating two relays and connecting them');
    await this.#a.setLocalDescription(await this.#a.createOffer());
    await this.#b.setRemoteDescription(this.#a.localDescription!);
    await this.#b.setLocalDescription(await this.#b.createAnswer());
    await this.#a.setRemoteDescription(this.#b.localDescription!);

    await this.#within(
      new Promise<void>((resolve, reject) => {
        if (channel.readyState === 'open') return resolve();
        channel.addEventListener('open', () => resolve(), { once: true });
        this.#a.addEventListener('connectionstatechange', () => {
          if (this.#a.connectionState === 'failed') reject(this.#fail('the connection through the relay failed'));
        });
        // Gathering over without a relay address: no need to wait for the deadline.
        this.#a.addEventListener('icegatheringstatechange', () => {
          if (this.#a.iceGatheringState === 'complete' && !this.#relayCandidate) reject(this.#fail('the browser got no relay address from the server'));
        });
      }),
      timeoutMs,
      signal,
      () => (this.#relayCandidate ? 'the two relays could not reach each other' : 'the browser got no relay address from the server'),
    );
    const connectMs = performance.now() - t0;
    const echo = await answered;
    echo.addEventListener('message', (e) => echo.send(e.data as string));

    progress('sending data through the relay');
    const rtts: number[] = [];
    for (let i = 0; i < pings; i++) {
      const payload = `ping ${i} ${Date.now()}`;
      const sent = performance.now();
      await this.#within(
        new Promise<void>((resolve) => {
          const onMessage = (e: MessageEvent) => {
            if (e.data !== payload) return;
            channel.removeEventListener('message', onMessage);
            resolve();
          };
          channel.addEventListener('message', onMessage);
          channel.send(payload);
        }),
        3_000,
        signal,
        () => `ping ${i + 1} did not come back through the relay`,
      );
      rtts.push(performance.now() - sent);
    }
    rtts.sort((x, y) => x - y);
    return { rttMs: rtts[Math.floor(rtts.length / 2)]!, connectMs, ...(await this.#selected()) };
  }

  close(): void {
    this.#a.close();
    this.#b.close();
  }

  async #selected(): Promise<{ relayProtocol: string | null; candidateType: string | null }> {
    const pair = selectedPair(await this.#a.getStats());
    return { relayProtocol: pair?.relayProtocol ?? null, candidateType: pair?.localType ?? null };
  }

  #fail(message: string): RelayPairError {
    return new RelayPairError(message, [...this.#errors], this.#relayCandidate);
  }

  #within<T>(p: Promise<T>, ms: number, signal: AbortSignal, why: () => string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(this.#fail(`${why()} within ${(ms / 1000).toFixed(0)} s`)), ms);
      const abort = () => reject(this.#fail('cancelled'));
      signal.addEventListener('abort', abort, { once: true });
      p.then(
        (v) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', abort);
          resolve(v);
        },
        (err: unknown) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', abort);
          reject(err instanceof RelayPairError ? err : this.#fail(String(err)));
        },
      );
    });
  }
}
