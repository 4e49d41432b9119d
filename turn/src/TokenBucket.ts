// Byte-rate limiter for the optional per-allocation bandwidth cap.

export class TokenBucket {
  private tokens: number;
  private last: number;

  /**
   * @param rate bytes per second
   * @param burst bucket size in bytes (what may pass at once after idling)
   */
  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number = performance.now(),
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes `bytes` if available; false means the packet exceeds the cap and is dropped. */
  take(bytes: number, now: number = performance.now()): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < bytes) return false;
    this.tokens -= bytes;
    return true;
  }
}
