/**
 * What an operator graphs and alerts on, in the Prometheus text format (prom-client), all named
 * `callwire_…`. Counters and histograms are fed as things happen (calls end, reports arrive,
 * the store fails); gauges are read from their owners when Prometheus scrapes, so they can never
 * drift from the truth. Served at `/metrics` (bearer METRICS_TOKEN) or on METRICS_PORT.
 *
 * Per node: sum or max over nodes in Prometheus. `callwire_users_online` is cluster-wide (every
 * node reports the same count from the shared store).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CallEndReason } from '../protocol/index.ts';
import type { CallObserver } from '../calls/CallManager.ts';
import type { QualityEntry, QualityObserver } from '../quality/QualityHistory.ts';

/** What the gauges read at scrape time; each source may be absent (no SFU, no bundled relay). */
export interface MetricSources {
  connections(): number;
  usersOnline(): Promise<number>;
  callsByState(): Record<'calling' | 'ringing' | 'accepted', number>;
  roomsByMode(): Record<'p2p' | 'sfu', number>;
  /** Per SFU worker: CPU seconds used so far and consumers it serves. */
  sfuWorkers(): Promise<{ index: number; cpuSeconds: number; consumers: number }[]>;
  turn(): { allocations: number; bytesRelayed: number; packetsDropped: number } | null;
  storeHealthy(): boolean;
}

export class Metrics implements CallObserver, QualityObserver {
  readonly registry = new Registry();
  readonly #callsEnded: Counter<'reason' | 'answered'>;
  readonly #answerSeconds: Histogram;
  readonly #setupSeconds: Histogram<'path'>;
  readonly #audioMos: Histogram<'path'>;
  readonly #videoFrozen: Histogram<'path'>;
  readonly #loss: Histogram<'path'>;
  readonly #storeErrors: Counter<'store'>;
  readonly #signalingErrors: Counter<'code'>;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'callwire_' });
    // prom-client names these gauges `…_total`, which promtool (rightly) rejects: a `_total`
    // suffix promises a counter. The handle and request counts they carry are not worth a lint.
    for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) this.registry.removeSingleMetric(`callwire_nodejs_${name}`);

    new Gauge({
      name: 'callwire_connections',
      help: 'Signaling connections open on this node.',
      registers,
      collect() {
        this.set(sources.connections());
      },
    });
    new Gauge({
      name: 'callwire_users_online',
      help: 'People online (cluster-wide).',
      registers,
      async collect() {
        this.set(await sources.usersOnline());
      },
    });
    new Gauge({
      name: 'callwire_calls',
      help: 'Live 1:1 calls this node runs, by state.',
      labelNames: ['state'],
      registers,
      collect() {
        for (const [state, n] of Object.entries(sources.callsByState())) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'callwire_rooms',
      help: 'Open rooms this node owns, by media path.',
      labelNames: ['mode'],
      registers,
      collect() {
        for (const [mode, n] of Object.entries(sources.roomsByMode())) this.set({ mode }, n);
      },
    });
    new Counter({
      name: 'callwire_sfu_worker_cpu_seconds_total',
      help: 'CPU time used by each mediasoup worker.',
      labelNames: ['worker'],
      registers,
      async collect() {
        this.reset();
        for (const w of await sources.sfuWorkers()) this.inc({ worker: String(w.index) }, w.cpuSeconds);
      },
    });
    new Gauge({
      name: 'callwire_sfu_consumers',
      help: 'Streams each mediasoup worker forwards to receivers.',
      labelNames: ['worker'],
      registers,
      async collect() {
        this.reset();
        for (const w of await sources.sfuWorkers()) this.set({ worker: String(w.index) }, w.consumers);
      },
    });
    new Gauge({
      name: 'callwire_turn_allocations',
      help: 'Live allocations on the bundled TURN relay.',
      registers,
      collect() {
        this.set(sources.turn()?.allocations ?? 0);
      },
    });
    new Counter({
      name: 'callwire_turn_relayed_bytes_total',
      help: 'Bytes the bundled TURN relay carried (both directions).',
      registers,
      collect() {
        this.reset();
        this.inc(sources.turn()?.bytesRelayed ?? 0);
      },
    });
    new Counter({
      name: 'callwire_turn_dropped_packets_total',
      help: 'Packets the bundled TURN relay dropped over a bandwidth quota.',
      registers,
      collect() {
        this.reset();
        this.inc(sources.turn()?.packetsDropped ?? 0);
      },
    });
    new Gauge({
      name: 'callwire_store_up',
      help: '1 while the state store (SQLite or Redis) is reachable.',
      registers,
      collect() {
        this.set(sources.storeHealthy() ? 1 : 0);
      },
    });

    this.#callsEnded = new Counter({ name: 'callwire_calls_ended_total', help: 'Ended 1:1 calls by reason.', labelNames: ['reason', 'answered'], registers });
    this.#answerSeconds = new Histogram({
      name: 'callwire_call_answer_seconds',
      help: 'Ringing time of answered calls.',
      buckets: [1, 2, 5, 10, 20, 30, 60],
      registers,
    });
    this.#setupSeconds = new Histogram({
      name: 'callwire_call_setup_seconds',
      help: 'Join to first remote media, as clients report it.',
      labelNames: ['path'],
      buckets: [0.25, 0.5, 1, 1.5, 2, 3, 5, 10],
      registers,
    });
    this.#audioMos = new Histogram({
      name: 'callwire_call_audio_mos',
      help: 'Estimated audio MOS (E-model) per reported period.',
      labelNames: ['path'],
      buckets: [1.5, 2, 2.5, 3, 3.5, 3.8, 4, 4.2, 4.4],
      registers,
    });
    this.#videoFrozen = new Histogram({
      name: 'callwire_call_video_frozen_ratio',
      help: 'Share of a reported period the received video was frozen.',
      labelNames: ['path'],
      buckets: [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5],
      registers,
    });
    this.#loss = new Histogram({
      name: 'callwire_call_packet_loss_ratio',
      help: 'Worst packet loss a participant saw per reported period.',
      labelNames: ['path'],
      buckets: [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4],
      registers,
    });
    this.#storeErrors = new Counter({ name: 'callwire_store_errors_total', help: 'Errors from the state store.', labelNames: ['store'], registers });
    this.#signalingErrors = new Counter({
      name: 'callwire_signaling_errors_total',
      help: 'Requests refused, by error code.',
      labelNames: ['code'],
      registers,
    });
  }

  answered(ringMs: number): void {
    this.#answerSeconds.observe(ringMs / 1000);
  }

  ended(reason: CallEndReason, answered: boolean): void {
    this.#callsEnded.inc({ reason, answered: String(answered) });
  }

  period(e: QualityEntry): void {
    if (e.audioMos !== null) this.#audioMos.observe({ path: e.path }, e.audioMos);
    if (e.videoFrozenPct !== null) this.#videoFrozen.observe({ path: e.path }, e.videoFrozenPct / 100);
    this.#loss.observe({ path: e.path }, e.lossPct / 100);
  }

  setup(ms: number, path: 'p2p' | 'sfu'): void {
    this.#setupSeconds.observe({ path }, ms / 1000);
  }

  storeError(store: 'sqlite' | 'redis'): void {
    this.#storeErrors.inc({ store });
  }

  signalingError(code: string): void {
    this.#signalingErrors.inc({ code });
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
