/**
 * A 0–5 link quality score per remote participant, from the StatsSampler's packet loss and round
 * trip, sampled every couple of seconds; `changed` fires when a participant's score changes.
 * It binds to the Room model; the sample source is injectable (an SFU has one transport, not one
 * link per participant, and will sample that instead).
 *
 * It also judges our own connection (`health`): poor when what we receive from everyone is
 * lossy, when our sending side reports loss or too little bandwidth, or when the round trip is
 * long — with the likely cause, so the person can be told what is wrong. Two bad samples in a
 * row make it poor, three good ones make it good again (no flicker).
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

/** Our sending side: what receivers (or the SFU) report back, and the browser's bandwidth estimate. */
export interface UplinkSample {
  /** Fraction of what we sent that was lost (receiver reports), 0–1; null if unknown. */
  loss: number | null;
  rttMs: number | null;
  /** The send-side bandwidth estimate, kbit/s. */
  availableKbps: number | null;
}

export type HealthCause = 'loss' | 'bandwidth' | 'latency';

export interface ConnectionHealth {
  poor: boolean;
  /** The likely cause while poor (the first that applies: loss, bandwidth, round trip). */
  cause: HealthCause | null;
  /** Worst of the typical received loss and our sent loss, 0–1. */
  loss: number;
  rttMs: number | null;
  availableKbps: number | null;
}

/** Loss from this fraction up makes a connection poor (speech starts to break up without RED). */
export const POOR_LOSS = 0.08;
/** Less sending bandwidth than this (kbit/s) cannot carry video and leaves voice at risk. */
export const POOR_BANDWIDTH_KBPS = 150;
export const POOR_RTT_MS = 500;

/**
 * The cause of a poor connection from one sample round, or null if it looks fine. Received loss
 * counts as ours only when it is the typical (median) loss over everyone we hear: one lossy
 * participant is their problem, not ours.
 */
export function healthOf(down: QualitySample[], up: UplinkSample | null): Omit<ConnectionHealth, 'poor'> {
  const losses = down.map((s) => s.loss).sort((a, b) => a - b);
  const typical = losses.length ? losses[Math.floor((losses.length - 1) / 2)]! : 0;
  const loss = Math.max(typical, up?.loss ?? 0);
  const rtts = [up?.rttMs ?? null, ...down.map((s) => s.rttMs)].filter((x): x is number => x !== null);
  const rttMs = rtts.length ? Math.min(...rtts) : null;
  const availableKbps = up?.availableKbps ?? null;
  const cause: HealthCause | null =
    loss >= POOR_LOSS
      ? 'loss'
      : availableKbps !== null && availableKbps < POOR_BANDWIDTH_KBPS
        ? 'bandwidth'
        : rttMs !== null && rttMs >= POOR_RTT_MS
          ? 'latency'
          : null;
  return { cause, loss, rttMs, availableKbps };
}

/** Score from loss and round trip: the worse of the two decides. */
export function qualityScore(loss: number, rttMs: number | null): number {
  const byLoss = loss > 0.15 ? 1 : loss > 0.08 ? 2 : loss > 0.03 ? 3 : loss > 0.01 ? 4 : 5;
  const byRtt = rttMs === null ? 5 : rttMs > 1_000 ? 1 : rttMs > 500 ? 2 : rttMs > 300 ? 3 : rttMs > 150 ? 4 : 5;
  return Math.min(byLoss, byRtt);
}

export class NetworkQuality extends Emitter<{ changed: [QualityReport]; health: [ConnectionHealth] }> {
  readonly scores = new Map<string, number>();
  /** Our own connection, as last judged. */
  health: ConnectionHealth = { poor: false, cause: null, loss: 0, rttMs: null, availableKbps: null };
  #bad = 0;
  #good = 0;
  readonly #uplink: (() => Promise<UplinkSample | null>) | null;
  readonly #samplers = new Map<string, StatsSampler>();
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #off: (() => void)[];
  readonly #sample: QualitySource;
  #busy = false;
  #closed = false;

  constructor(
    private readonly room: SpeakerRoom,
    options: { intervalMs?: number; sample?: QualitySource; uplink?: () => Promise<UplinkSample | null> } = {},
  ) {
    super();
    this.#sample = options.sample ?? this.#linkSample;
    this.#uplink = options.uplink ?? null;
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
      const down: QualitySample[] = [];
      for (const p of [...this.room.participants.values()]) {
        const connected = p.connection === 'connected';
        const s = connected ? await this.#sample(p).catch(() => null) : null;
        if (this.#closed) return;
        if (s) down.push(s);
        if (!this.room.participants.has(p.id)) continue;
        // Not connected yet counts as nothing only once we had a score (no noise while connecting).
        if (!s && !this.scores.has(p.id)) continue;
        const score = s ? qualityScore(s.loss, s.rttMs) : 0;
        if (this.scores.get(p.id) === score) continue;
        this.scores.set(p.id, score);
        this.emit('changed', { participant: p, score, loss: s?.loss ?? 1, rttMs: s?.rttMs ?? null });
      }
      const up = this.#uplink ? await this.#uplink().catch(() => null) : null;
      if (this.#closed) return;
      if (down.length > 0 || up) this.#judge(healthOf(down, up));
    } finally {
      this.#busy = false;
    }
  }

  #judge(now: Omit<ConnectionHealth, 'poor'>): void {
    if (now.cause) {
      this.#bad++;
      this.#good = 0;
    } else {
      this.#good++;
      this.#bad = 0;
    }
    const poor = this.health.poor ? this.#good < 3 : this.#bad >= 2;
    const cause = poor ? (now.cause ?? this.health.cause) : null;
    const changed = poor !== this.health.poor || cause !== this.health.cause;
    this.health = { ...now, poor, cause };
    if (changed) this.emit('health', this.health);
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
