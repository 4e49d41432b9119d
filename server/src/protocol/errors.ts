/**
 * Typed errors of the signaling protocol. Every request a client sends is answered with either
 * `{ ok: true, data }` or `{ ok: false, error: { code, message } }`, where `code` is one of these.
 */
export const ERROR_CODES = [
  /** The payload does not match the event's schema (wrong types, missing fields, extra junk). */
  'invalid-message',
  /** The event name is not part of the protocol. */
  'unknown-event',
  /** A field or the whole payload is larger than the protocol allows. */
  'payload-too-large',
  /** The client sends faster than the server accepts. */
  'rate-limited',
  /** A configured limit is reached (connections or new handles per address, rooms created, media rooms); the message names it. */
  'limit-reached',
  /** Handshake: missing or bad credentials. */
  'unauthorized',
  /** Handshake (guest mode): the handle belongs to another device. */
  'handle-taken',
  /** The message is valid but not in this state (answer without offer, accept of an ended call). */
  'invalid-state',
  'unknown-user',
  'unknown-call',
  /** The call existed but is over (cancelled, declined, answered elsewhere, timed out). */
  'call-ended',
  'unknown-room',
  'not-in-room',
  'unknown-participant',
  /** SFU: the transport, producer or consumer id names nothing of yours. */
  'unknown-transport',
  'unknown-producer',
  'unknown-consumer',
  /** Group calls need the media server, which is not running. */
  'sfu-unavailable',
  'room-full',
  /** A locked call link (or one whose host removed you): knock (`room.knock`) and wait for the host. */
  'room-locked',
  /** The server allows only end-to-end encrypted calls (E2EE=required) and this client cannot encrypt (no encoded transforms). */
  'e2ee-required',
  /** The callee (or the caller) is already in a call. */
  'busy',
  /** A user cannot call themselves. */
  'self-call',
  /** Video is not allowed in this room yet (voice call without an agreed upgrade). */
  'video-not-allowed',
  'forbidden',
  /** The service cannot answer right now (its shared store is unreachable); retry shortly. */
  'unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface SignalingErrorBody {
  code: ErrorCode;
  message: string;
}

/** Thrown by handlers and carried across the wire; `instanceof` works on both sides. */
export class SignalingError extends Error {
  override readonly name = 'SignalingError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }

  toJSON(): SignalingErrorBody {
    return { code: this.code, message: this.message };
  }

  static fromBody(body: SignalingErrorBody): SignalingError {
    return new SignalingError(body.code, body.message);
  }
}
