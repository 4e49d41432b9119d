/**
 * The frame's end of the postMessage boundary. It talks only to its parent window at the one
 * origin the server allowed (`?parent=` on the frame URL; the server refuses to serve the frame
 * for an origin that is not in EMBED_ALLOWED_ORIGINS, and frame-ancestors stops anyone else from
 * framing it). Messages from any other window or origin are dropped; so are malformed ones.
 */
import { Emitter } from '../lib/Emitter.ts';
import { TAG, parseHostMessage, type EmbedErrorBody, type EventMap, type EventName, type FrameMessage, type FrameOptions } from './contract.ts';

export class FrameChannel extends Emitter<{ init: [FrameOptions]; command: [{ id: number; command: string; args: unknown[] }] }> {
  #initialized = false;

  constructor(
    readonly parentOrigin: string,
    private readonly parent: Window = window.parent,
  ) {
    super();
    window.addEventListener('message', this.#onMessage);
  }

  hello(): void {
    this.#post({ tag: TAG, kind: 'hello' });
  }

  event<E extends EventName>(event: E, data: EventMap[E]): void {
    this.#post({ tag: TAG, kind: 'event', event, data });
  }

  result(id: number, error: EmbedErrorBody | null): void {
    this.#post({ tag: TAG, kind: 'result', id, error });
  }

  close(): void {
    window.removeEventListener('message', this.#onMessage);
    this.removeAllListeners();
  }

  #post(message: FrameMessage): void {
    // The target origin makes the browser drop the message if the parent is someone else.
    this.parent.postMessage(message, this.parentOrigin);
  }

  readonly #onMessage = (e: MessageEvent): void => {
    if (e.origin !== this.parentOrigin || e.source !== this.parent) return;
    const msg = parseHostMessage(e.data);
    if (!msg) return;
    if (msg.kind === 'init') {
      // Options are fixed once; a second init (a confused or hostile script) is ignored.
      if (this.#initialized) return;
      this.#initialized = true;
      this.emit('init', msg.options);
    } else {
      this.emit('command', { id: msg.id, command: msg.command, args: msg.args });
    }
  };
}
