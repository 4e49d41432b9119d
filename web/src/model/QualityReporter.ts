/**
 * Call-quality telemetry: every few seconds, what we received from each participant since the
 * last report (loss, jitter, concealment, freezes, frame rate, bitrate) plus our round trip and
 * path, sent to the server as `quality.report`; the server turns it into a MOS estimate and
 * Prometheus histograms. The first report after media arrives also carries the set-up time
 * (join → first remote track). Reports are best effort: a failed one is not retried.
 */
import type { RequestOf } from '@protocol';
import { StatsSampler } from '../rtc/stats.ts';
import type { RemoteParticipant } from './RemoteParticipant.ts';
import type { SpeakerRoom } from './ActiveSpeaker.ts';

export type QualityReport = RequestOf<'quality.report'>;

export interface ReportingRoom extends SpeakerRoom {
  readonly id: string;
}

const pct = (x: number | null) => (x === null ? null : Math.round(Math.min(1, Math.max(0, x)) * 1000) / 10);
const round = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);

export class QualityReporter {
  readonly #samplers = new Map<string, StatsSampler>();
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #off: (() => void)[] = [];
  readonly #startedAt: number;
  #setupMs: number | null = null;
  #setupSent = false;
  #busy = false;
  #closed = false;

  constructor(
    private readonly room: ReportingRoom,
    private readonly send: (report: QualityReport) => Promise<unknown>,
    options: { intervalMs?: number } = {},
  ) {
    this.#startedAt = performance.now();
    const watch = (p: RemoteParticipant) =>
      this.#off.push(
        p.on('media', () => {
          if (this.#setupMs === null && p.stream.getTracks().length > 0) this.#setupMs = Math.round(performance.now() - this.#startedAt);
        }),
      );
    for (const p of room.participants.values()) watch(p);
    this.#off.push(
      room.on('participantJoined', watch),
      room.on('participantLeft', (p) => this.#samplers.delete(p.id)),
    );
    this.#timer = setInterval(() => void this.report(), options.intervalMs ?? 10_000);
  }

  /** Join → first remote track, ms (null until media arrives). */
  get setupMs(): number | null {
    return this.#setupMs;
  }

  /** Samples and sends one report (the timer calls it; public for tests). Never throws. */
  async report(): Promise<void> {
    if (this.#busy || this.#closed) return;
    this.#busy = true;
    try {
      const streams: QualityReport['streams'] = [];
      let rttMs: number | null = null;
      let sfu = false;
      for (const p of [...this.room.participants.values()]) {
        if (p.connection !== 'connected' || !p.statsSource) continue;
        let sampler = this.#samplers.get(p.id);
        if (!sampler) this.#samplers.set(p.id, (sampler = new StatsSampler()));
        const s = await sampler.sample(p.statsSource).catch(() => null);
        if (this.#closed) return;
        if (!s) continue;
        if (p.path === 'sfu') sfu = true;
        if (s.rttMs !== null) rttMs = rttMs === null ? s.rttMs : Math.min(rttMs, s.rttMs);
        if (s.audio.in.codec)
          streams.push({
            from: p.id,
            kind: 'audio',
            lossPct: pct(s.audio.in.loss)!,
            jitterMs: round(s.audio.jitterMs),
            kbps: round(s.audio.in.kbps)!,
            concealedPct: pct(s.audio.concealment),
            frozenPct: null,
            fps: null,
          });
        if (s.video.in.codec)
          streams.push({
            from: p.id,
            kind: 'video',
            lossPct: pct(s.video.in.loss)!,
            jitterMs: null,
            kbps: round(s.video.in.kbps)!,
            concealedPct: null,
            frozenPct: pct(s.video.frozen),
            fps: round(s.video.fps),
          });
      }
      if (streams.length === 0) return;
      const report: QualityReport = { roomId: this.room.id, path: sfu ? 'sfu' : 'p2p', rttMs: round(rttMs), streams };
      if (this.#setupMs !== null && !this.#setupSent) {
        report.setupMs = this.#setupMs;
        this.#setupSent = true;
      }
      await this.send(report).catch(() => {});
    } finally {
      this.#busy = false;
    }
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const off of this.#off.splice(0)) off();
  }
}
