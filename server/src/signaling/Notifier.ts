import type { ServerEventMap } from '../protocol/index.ts';

/** How domain objects talk to clients without knowing about socket.io. */
export interface Notifier {
  toSocket<E extends keyof ServerEventMap>(socketId: string, event: E, payload: ServerEventMap[E]): void;
  /** Every connected device of a user (on any node), except `exceptSocketId`. */
  toUser<E extends keyof ServerEventMap>(handle: string, event: E, payload: ServerEventMap[E], exceptSocketId?: string): void;
}
