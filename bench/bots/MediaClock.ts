/**
 * One timer drives every live source of the process (a timer per bot would cost 100 wake-ups a
 * second each). Tickers are scheduled from the monotonic clock, not by counting timer callbacks,
 * so frames keep real-time pace; a ticker that fell far behind (a stalled event loop) skips
 * ahead instead of bursting, as a real capture device would drop frames.
 */
export interface Ticker {
  /** Called once per period (ms). */
  tick(): void;
}

interface Entry {
  ticker: Ticker;
  periodMs: number;
  startedAt: number;
  done: number;
}

/** Frames further behind than this are dropped rather than sent in a burst. */
const MAX_CATCH_UP_MS = 100;

export class MediaClock {
  readonly #entries = new Set<Entry>();
  #timer: NodeJS.Timeout | null = null;

  constructor(private readonly resolutionMs = 10) {}

  /** Starts calling `ticker.tick()` every `periodMs`; returns the function that stops it. */
  add(ticker: Ticker, periodMs: number): () => void {
    const entry: Entry = { ticker, periodMs, startedAt: performance.now(), done: 0 };
    this.#entries.add(entry);
    this.#timer ??= setInterval(() => this.#run(), this.resolutionMs);
    return () => {
      this.#entries.delete(entry);
      if (this.#entries.size === 0) this.close();
    };
  }

  #run(): void {
    const now = performance.now();
    for (const e of this.#entries) {
      const due = Math.floor((now - e.startedAt) / e.periodMs);
      if ((due - e.done) * e.periodMs > MAX_CATCH_UP_MS) e.done = due - 1;
      for (; e.done < due; e.done++) e.ticker.tick();
    }
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#entries.clear();
  }
}
