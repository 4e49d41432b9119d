/**
 * A 0–5 link quality score per remote participant, from the StatsSampler's packet loss and round
 * trip, sampled every couple of seconds; `changed` fires when a participant's score changes.
 * It binds to the Room model; the sample source is injectable (an SFU has one transport, not one
 * link per participant, and will sample that instead).
 */
import { Emitter } from '../lib/Emitter.ts';
import { StatsSampler } from '../rtc/stats.ts';
import type { RemoteParticipant } from './RemoteParticipant.ts';
import type { SpeakerRoom } from './ActiveSpeaker.ts';

export interface QualitySample {
  /** Fraction of packets lost since the previous sample, 0–1 (worst of audio and video). */
  loss: number;
  rttMs: number | null;
}

export interface QualityReport extends QualitySample {
  participant: RemoteParticipant;
  /** 5 excellent, 4 good, 3 fair, 2 poor, 1 bad, 0 no media path. */
  score: number;
}

export type QualitySource = (p: RemoteParticipant) => Promise<QualitySample | null>;

/** Score from loss and round trip: the worse of the two decides. */
export function qualityScore(loss: number, rttMs: number | null): number {
  const byLoss = loss > 0.15 ? 1 : loss > 0.08 ? 2 : loss > 0.03 ? 3 : loss > 0.01 ? 4 : 5;
  const byRtt = rttMs === null ? 5 : rttMs > 1_000 ? 1 : rttMs > 500 ? 2 : rttMs > 300 ? 3 : rttMs > 150 ? 4 : 5;
  return Math.min(byLoss, byRtt);
}

export class NetworkQuality extends Emitter<{ changed: [QualityReport] }> {
  readonly scores = new Map<string, number>();
  readonly #samplers = new Map<string, StatsSampler>();
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #off: (() => void)[];
  readonly #sample: QualitySource;
  #busy = false;
  #closed = false;

  constructor(
    private readonly room: SpeakerRoom,
    options: { intervalMs?: number; sample?: QualitySource } = {},
  ) {
    super();
    this.#sample = options.sample ?? this.#linkSample;
    this.#off = [
      room.on('participantLeft', (p) => {
        this.scores.delete(p.id);
        this.#samplers.delete(p.id);
      }),
    ];
    this.#timer = setInterval(() => void this.poll(), options.intervalMs ?? 2_000);
  }

  /** One sampling round (the timer calls it; public for tests). Rounds never overlap. */
  async poll(): Promise<void> {
    if (this.#busy || this.#closed) return;
    this.#busy = true;
    try {
      for (const p of [...this.room.participants.values()]) {
        const connected = p.connection === 'connected';
        const s = connected ? await this.#sample(p).catch(() => null) : null;
        if (this.#closed) return;
        if (!this.room.participants.has(p.id)) continue;
        // Not connected yet counts as nothing only once we had a score (no noise while connecting).
        if (!s && !this.scores.has(p.id)) continue;
        const score = s ? qualityScore(s.loss, s.rttMs) : 0;
        if (this.scores.get(p.id) === score) continue;
        this.scores.set(p.id, score);
        this.emit('changed', { participant: p, score, loss: s?.loss ?? 1, rttMs: s?.rttMs ?? null });
      }
    } finally {
      this.#busy = false;
    }
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const off of this.#off.splice(0)) off();
    this.removeAllListeners();
  }

  readonly #linkSample: QualitySource = async (p) => {
    if (!p.statsSource) return null;
    let sampler = this.#samplers.get(p.id);
    if (!sampler) this.#samplers.set(p.id, (sampler = new StatsSampler()));
    const s = await sampler.sample(p.statsSource);
    return { loss: Math.max(s.audio.in.loss, s.video.in.loss), rttMs: s.rttMs };
  };
}
