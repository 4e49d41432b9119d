/**
 * Many bots in one process, each joining its room at its own moment (joins overlap, as people
 * arriving at a meeting do), all fed by one MediaClock. The load test splits one plan across a
 * few processes: libwebrtc encodes a bot's voice on the thread that feeds it (~0.2 ms per 10 ms
 * frame), so one JS thread holds about 40 talking bots at most. `close()` closes every bot.
 */
import type { RelayTransport } from '../../web/src/rtc/iceServers.ts';
import { Bot, type BotMode, type BotStats } from './Bot.ts';
import { MediaClock } from './MediaClock.ts';
import type { VideoOptions } from './VideoGenerator.ts';

export interface BotSpec {
  roomId: string;
  name: string;
  seed: number;
  /** The call's media path: rooms of 3+ on the SFU, or a P2P call of two. */
  mode: BotMode;
  /** P2P: relay-only through the server's TURN over this transport. */
  relay: RelayTransport | null;
  video: boolean;
  /** Decode what it receives (per-stream statistics) or only count packets (wrtc.ts). */
  decode: boolean;
  /** When to join, ms after the fleet starts. */
  startAtMs: number;
}

export interface FleetConfig {
  url: string;
  bots: BotSpec[];
  video: VideoOptions;
  /** How long a bot may wait for its media path: the room reaching the SFU and its transports, or its P2P link. */
  startTimeoutMs: number;
}

export interface FleetStartResult {
  started: number;
  failed: number;
  /** ms from the fleet's start to the last bot publishing (or failing). */
  ms: number;
}

export class BotFleet {
  readonly bots: Bot[] = [];
  readonly clock = new MediaClock();
  readonly #startErrors = new Map<Bot, string>();
  #closed = false;

  constructor(readonly config: FleetConfig) {}

  async start(onProgress: (message: string) => void = () => {}): Promise<FleetStartResult> {
    const { url, video, startTimeoutMs } = this.config;
    const t0 = performance.now();
    const starts: Promise<void>[] = [];
    for (const spec of [...this.config.bots].sort((a, b) => a.startAtMs - b.startAtMs)) {
      const wait = spec.startAtMs - (performance.now() - t0);
      if (wait > 0) await sleep(wait);
      if (this.#closed) break;
      const bot = new Bot({
        url,
        roomId: spec.roomId,
        name: spec.name,
        seed: spec.seed,
        mode: spec.mode,
        relay: spec.relay,
        clock: this.clock,
        decodeAudio: spec.decode,
        video: spec.video ? video : false,
      });
      this.bots.push(bot);
      starts.push(
        bot.start(startTimeoutMs).then(
          () => onProgress(`${spec.name} publishing`),
          (err: Error) => {
            this.#startErrors.set(bot, err.message);
            onProgress(`${spec.name} failed: ${err.message}`);
          },
        ),
      );
    }
    await Promise.all(starts);
    return { started: this.bots.length - this.#startErrors.size, failed: this.#startErrors.size, ms: performance.now() - t0 };
  }

  async stats(): Promise<BotStats[]> {
    return Promise.all(
      this.bots.map(async (bot) => {
        const s = await bot.stats();
        const startError = this.#startErrors.get(bot);
        return startError ? { ...s, errors: [`start: ${startError}`, ...s.errors] } : s;
      }),
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.bots.map((b) => b.close()));
    this.clock.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
