import type { Server } from 'socket.io';
import type { ClientToServerEvents, ServerEventMap, ServerToClientEvents } from '../protocol/index.ts';
import type { Notifier } from './Notifier.ts';

/** socket.io room that holds every connected device of one user. */
export const userChannel = (handle: string) => `user:${handle}`;

export class SocketNotifier implements Notifier {
  constructor(private readonly io: Server<ClientToServerEvents, ServerToClientEvents>) {}

  toSocket<E extends keyof ServerEventMap>(socketId: string, event: E, payload: ServerEventMap[E]): void {
    // socket.io's emit typing cannot follow a generic event name; the Notifier signature keeps it safe.
    (this.io.to(socketId).emit as (e: string, p: unknown) => boolean)(event, payload);
  }

  toUser<E extends keyof ServerEventMap>(handle: string, event: E, payload: ServerEventMap[E], exceptSocketId?: string): void {
    const to = exceptSocketId ? this.io.to(userChannel(handle)).except(exceptSocketId) : this.io.to(userChannel(handle));
    (to.emit as (e: string, p: unknown) => boolean)(event, payload);
  }
}
