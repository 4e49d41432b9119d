/**
 * Who is speaking, computed in the browser from the audio level of each remote participant's
 * incoming audio. Levels are polled, smoothed with a peak-hold decay (speech is bursty), and a new
 * speaker must lead for a few polls in a row before the speaker changes (hysteresis), so the
 * answer does not flicker between two people talking over each other. The speaker stays the
 * speaker through silence; it becomes null only when they leave.
 *
 * It binds to the Room model only. The level source is injectable: for P2P links it reads
 * RTCRtpReceiver.getSynchronizationSources(); an SFU can feed the levels it forwards instead.
 */
import { Emitter } from '../lib/Emitter.ts';
import type { RemoteParticipant } from './RemoteParticipant.ts';
import type { RoomEvents } from './Room.ts';

/** The part of Room this needs (tests pass a small fake). */
export interface SpeakerRoom {
  readonly participants: ReadonlyMap<string, RemoteParticipant>;
  on<E extends keyof RoomEvents>(event: E, fn: (...args: RoomEvents[E]) => void): () => void;
}

/** Audio level 0–1 of what we receive from a participant, or null if unknown. */
export type LevelSource = (p: RemoteParticipant) => number | null;

export interface ActiveSpeakerOptions {
  intervalMs?: number;
  /** Smoothed level below which nobody counts as speaking (0–1; ~-40 dBov). */
  threshold?: number;
  /** Polls in a row a challenger must lead before it takes over. */
  holdPolls?: number;
  /** A challenger must be this many times louder than the current speaker. */
  margin?: number;
  levelOf?: LevelSource;
}

/** Level of the most recent audio packet we received from them (P2P link or SFU consumer). */
export const receiverLevel: LevelSource = (p) => {
  const receiver = p.audioReceiver;
  const sources = receiver?.getSynchronizationSources() ?? [];
  const level = sources[0]?.audioLevel;
  return typeof level === 'number' ? level : null;
};

export class ActiveSpeaker extends Emitter<{ changed: [RemoteParticipant | null] }> {
  current: RemoteParticipant | null = null;
  readonly #smoothed = new Map<string, number>();
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #off: (() => void)[];
  readonly #threshold: number;
  readonly #holdPolls: number;
  readonly #margin: number;
  readonly #levelOf: LevelSource;
  #challenger: string | null = null;
  #lead = 0;

  constructor(
    private readonly room: SpeakerRoom,
    options: ActiveSpeakerOptions = {},
  ) {
    super();
    this.#threshold = options.threshold ?? 0.01;
    this.#holdPolls = options.holdPolls ?? 3;
    this.#margin = options.margin ?? 1.5;
    this.#levelOf = options.levelOf ?? receiverLevel;
    this.#off = [
      room.on('participantLeft', (p) => {
        this.#smoothed.delete(p.id);
        if (this.#challenger === p.id) this.#challenger = null;
        if (this.current?.id === p.id) this.#set(null);
      }),
    ];
    this.#timer = setInterval(() => this.poll(), options.intervalMs ?? 200);
  }

  /** One polling step (the timer calls it; public for tests). */
  poll(): void {
    let loudest: RemoteParticipant | null = null;
    let loudestLevel = 0;
    for (const p of this.room.participants.values()) {
      const level = this.#levelOf(p) ?? 0;
      // Peak hold with decay: a syllable keeps counting for a few hundred milliseconds.
      const s = Math.max(level, (this.#smoothed.get(p.id) ?? 0) * 0.8);
      this.#smoothed.set(p.id, s);
      if (s >= this.#threshold && s > loudestLevel) {
        loudest = p;
        loudestLevel = s;
      }
    }
    if (!loudest || loudest === this.current) {
      this.#challenger = null;
      this.#lead = 0;
      return;
    }
    const currentLevel = this.current ? (this.#smoothed.get(this.current.id) ?? 0) : 0;
    if (loudestLevel < currentLevel * this.#margin) {
      this.#lead = 0;
      return;
    }
    this.#lead = this.#challenger === loudest.id ? this.#lead + 1 : 1;
    this.#challenger = loudest.id;
    if (this.#lead >= this.#holdPolls) this.#set(loudest);
  }

  close(): void {
    clearInterval(this.#timer);
    for (const off of this.#off.splice(0)) off();
    this.removeAllListeners();
  }

  #set(p: RemoteParticipant | null): void {
    this.#challenger = null;
    this.#lead = 0;
    if (this.current === p) return;
    this.current = p;
    this.emit('changed', p);
  }
}
