// A TURN/STUN request answered with an error response (or not answered at all).
import type { StunMessage } from '../stun/StunMessage.ts';

export class TurnRequestError extends Error {
  /** STUN error code (e.g. 401, 403, 420, 486), or 0 for a timeout / closed client. */
  readonly code: number;
  readonly reason: string;
  /** Types listed in UNKNOWN-ATTRIBUTES (420 responses). */
  readonly unknownAttributes: readonly number[];
  readonly response: StunMessage | undefined;

  constructor(code: number, reason: string, response?: StunMessage, unknownAttributes: readonly number[] = []) {
    super(code ? `TURN error ${code} ${reason}` : reason);
    this.name = 'TurnRequestError';
    this.code = code;
    this.reason = reason;
    this.response = response;
    this.unknownAttributes = unknownAttributes;
  }
}
