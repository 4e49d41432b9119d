import { CALL_ROOM_PREFIX, type CallEndReason, type UserInfo } from '../protocol/index.ts';
import { randomId } from '../identity/ids.ts';

/**
 * A 1:1 call placed by handle. Its life:
 *
 *   calling ──(callee device reached)──▶ ringing ──accept──▶ accepted ──(someone leaves)──▶ ended
 *      │                                   │
 *      └──────── cancel / timeout / decline / busy ──────────────────────────────────────▶ ended
 *
 * `calling` means the callee is offline; the call rings as soon as one of their devices connects.
 */
export type CallState = 'calling' | 'ringing' | 'accepted' | 'ended';

export class Call {
  readonly id = randomId(16);
  readonly roomId = `${CALL_ROOM_PREFIX}${this.id}`;
  readonly createdAt = Date.now();
  state: CallState;
  endReason: CallEndReason | null = null;
  /** The callee device that accepted. */
  answeredBy: string | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(
    readonly caller: UserInfo,
    readonly callerSocketId: string,
    readonly callee: string,
    readonly video: boolean,
    calleeOnline: boolean,
  ) {
    this.state = calleeOnline ? 'ringing' : 'calling';
  }

  get live(): boolean {
    return this.state !== 'ended';
  }

  get unanswered(): boolean {
    return this.state === 'calling' || this.state === 'ringing';
  }

  involves(handle: string): boolean {
    return this.caller.handle === handle || this.callee === handle;
  }

  /** (Re)arms the single timer of this call: ring timeout, then the join deadline after accept. */
  arm(ms: number, onFire: () => void): void {
    this.#clearTimer();
    this.#timer = setTimeout(onFire, ms);
  }

  end(reason: CallEndReason): void {
    this.state = 'ended';
    this.endReason = reason;
    this.#clearTimer();
  }

  close(): void {
    this.#clearTimer();
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
