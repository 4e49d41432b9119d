/**
 * The two socket.io calls every callwire client makes, typed by the shared contract. Type-only
 * imports from the protocol, so the Node connectivity CLI loads this file as it is.
 */
import type { Socket } from 'socket.io-client';
import type { Ack, RequestName, RequestOf, ResponseMap, ServerEventMap } from '@protocol';

/** Sends a request and resolves with the server's acknowledgement, or null if none came in time. */
export async function emitRequest<E extends RequestName>(
  socket: Socket,
  event: E,
  payload: RequestOf<E>,
  timeoutMs: number,
): Promise<Ack<ResponseMap[E]> | null> {
  // socket.io's typings cannot follow a generic event name through emitWithAck.
  const emitter = socket.timeout(timeoutMs) as unknown as { emitWithAck(e: string, p: unknown): Promise<Ack<ResponseMap[E]>> };
  try {
    return await emitter.emitWithAck(event, payload);
  } catch {
    return null;
  }
}

/** Subscribes to a server event; returns the unsubscribe function. */
export function onServerEvent<E extends keyof ServerEventMap>(socket: Socket, event: E, fn: (payload: ServerEventMap[E]) => void): () => void {
  const s = socket as unknown as { on(e: string, f: (p: unknown) => void): void; off(e: string, f: (p: unknown) => void): void };
  const handler = (p: unknown) => fn(p as ServerEventMap[E]);
  s.on(event, handler);
  return () => s.off(event, handler);
}
