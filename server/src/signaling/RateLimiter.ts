/** Token bucket: `ratePerSec` sustained, bursts up to twice that. One per connection. */
export class RateLimiter {
  #tokens: number;
  #last = Date.now();
  readonly #capacity: number;

  constructor(private readonly ratePerSec: number) {
    this.#capacity = ratePerSec * 2;
    this.#tokens = this.#capacity;
  }

  take(): boolean {
    const now = Date.now();
    this.#tokens = Math.min(this.#capacity, this.#tokens + ((now - this.#last) / 1000) * this.ratePerSec);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
