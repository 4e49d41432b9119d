/**
 * What `Callwire.mount()` returns on the host page: it owns the iframe, speaks the postMessage
 * contract with it, and turns its messages into events (`handle.on(name, cb)` and `callwire-<name>`
 * DOM events on the element). It accepts messages only from the callwire origin *and* its own
 * iframe's window, and sends only to that window at that origin.
 */
import {
  EmbedError,
  TAG,
  parseFrameMessage,
  parseOptions,
  type CommandMap,
  type CommandName,
  type EmbedErrorBody,
  type EventMap,
  type EventName,
  type HostMessage,
  type ResolvedOptions,
} from './contract.ts';

export type HandleState = 'loading' | 'ready' | 'joined' | 'left' | 'failed' | 'destroyed';

/** Feature policy the call needs inside the frame. */
export const IFRAME_ALLOW = 'camera; microphone; display-capture; autoplay; fullscreen';
const COMMAND_TIMEOUT_MS = 20_000;
const LEAVE_ON_DESTROY_MS = 1_500;

type Listener<E extends EventName> = (data: EventMap[E]) => void;
interface Pending {
  resolve: () => void;
  reject: (err: EmbedError) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class CallwireHandle {
  state: HandleState = 'loading';
  readonly iframe: HTMLIFrameElement | null = null;
  readonly options: ResolvedOptions | null = null;
  readonly #listeners = new Map<EventName, Set<Listener<never>>>();
  readonly #pending = new Map<number, Pending>();
  /** Commands sent before the frame said hello wait here. */
  #queue: HostMessage[] = [];
  #nextId = 1;
  #frameReady = false;
  #loadTimer: ReturnType<typeof setTimeout> | undefined;
  /** The fatal error already reported as an event (pending commands reject with it too). */
  #failure: EmbedError | null = null;

  constructor(
    readonly element: HTMLElement,
    rawOptions: unknown,
    defaultServer: string | null,
  ) {
    const parsed = parseOptions(rawOptions, defaultServer);
    if (!parsed.ok) {
      // Later, so listeners added right after mount() hear it.
      setTimeout(() => this.#fail(parsed.error), 0);
      return;
    }
    if (location.origin === 'null') {
      setTimeout(() => this.#fail(new EmbedError('origin-not-allowed', 'the host page has no origin (file://?): serve it over http(s)', true)), 0);
      return;
    }
    const o = (this.options = parsed.value);
    const iframe = (this.iframe = document.createElement('iframe'));
    iframe.src = `${o.server}/embed/call/${encodeURIComponent(o.room)}?parent=${encodeURIComponent(location.origin)}`;
    iframe.allow = IFRAME_ALLOW;
    iframe.title = 'callwire call';
    iframe.setAttribute('allowfullscreen', '');
    iframe.style.cssText = `border:0;display:block;width:${o.width};height:${o.height};max-width:100%`;
    window.addEventListener('message', this.#onMessage);
    element.append(iframe);
    this.#loadTimer = setTimeout(
      () =>
        this.#fail(
          new EmbedError(
            'frame-timeout',
            `the call frame from ${o.server} did not answer in ${o.loadTimeoutMs} ms (is this origin in its EMBED_ALLOWED_ORIGINS?)`,
            true,
          ),
        ),
      o.loadTimeoutMs,
    );
    void this.#checkOrigin(o.server);
  }

  on<E extends EventName>(event: E, fn: Listener<E>): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(fn as Listener<never>);
    return () => this.off(event, fn);
  }

  off<E extends EventName>(event: E, fn: Listener<E>): void {
    this.#listeners.get(event)?.delete(fn as Listener<never>);
  }

  join(): Promise<void> {
    return this.#send('join');
  }
  leave(): Promise<void> {
    return this.#send('leave');
  }
  setAudioMuted(muted: boolean): Promise<void> {
    return this.#send('setAudioMuted', muted);
  }
  setVideoMuted(muted: boolean): Promise<void> {
    return this.#send('setVideoMuted', muted);
  }
  setDisplayName(name: string): Promise<void> {
    return this.#send('setDisplayName', name);
  }
  switchToVideo(): Promise<void> {
    return this.#send('switchToVideo');
  }
  /** Host only: lock or unlock the call. */
  setLocked(locked: boolean): Promise<void> {
    return this.#send('setLocked', locked);
  }
  /** Host only: let someone from the `lobby` event in, or turn them away. */
  admit(lobbyId: string, admit: boolean): Promise<void> {
    return this.#send('admit', lobbyId, admit);
  }
  /** Host only: remove a participant. */
  removeParticipant(participantId: string): Promise<void> {
    return this.#send('removeParticipant', participantId);
  }
  /** Host only: ask a participant to mute. */
  requestMute(participantId: string): Promise<void> {
    return this.#send('requestMute', participantId);
  }

  /** Leaves the call (briefly waiting for it, so others do not see a ghost), removes the iframe. */
  async destroy(): Promise<void> {
    if (this.state === 'destroyed') return;
    if (this.state === 'joined') {
      await Promise.race([this.leave().catch(() => {}), new Promise((r) => setTimeout(r, LEAVE_ON_DESTROY_MS))]);
    }
    this.#teardown(new EmbedError('destroyed', 'the call was destroyed', true));
    this.state = 'destroyed';
    this.#listeners.clear();
  }

  // ---- internals -------------------------------------------------------------------------------

  #send<C extends CommandName>(command: C, ...args: CommandMap[C]): Promise<void> {
    const p = new Promise<void>((resolve, reject) => {
      if (this.state === 'destroyed' || this.state === 'failed') {
        reject(new EmbedError('destroyed', `${command}(): the call was ${this.state}`, true));
        return;
      }
      const id = this.#nextId++;
      const timer = setTimeout(
        () => this.#settle(id, { code: 'command-failed', message: `${command}(): no answer from the call frame`, fatal: false }),
        COMMAND_TIMEOUT_MS,
      );
      this.#pending.set(id, { resolve, reject, timer });
      this.#post({ tag: TAG, kind: 'command', id, command, args });
    });
    // Failures are also `error` events; a caller that ignores the promise gets no unhandled rejection.
    p.catch((err: EmbedError) => {
      if (err.code === 'destroyed' || err === this.#failure) return;
      if (err.fatal) this.#fail(err);
      else this.#emit('error', err.toJSON());
    });
    return p;
  }

  #post(msg: HostMessage): void {
    const win = this.iframe?.contentWindow;
    if (!this.#frameReady || !win || !this.options) this.#queue.push(msg);
    else win.postMessage(msg, this.options.server);
  }

  readonly #onMessage = (e: MessageEvent): void => {
    // Only our own frame, served by the callwire origin, is listened to.
    if (!this.options || e.origin !== this.options.server || !this.iframe || e.source !== this.iframe.contentWindow) return;
    const msg = parseFrameMessage(e.data);
    if (!msg) return;
    if (msg.kind === 'hello') {
      clearTimeout(this.#loadTimer);
      // A reloaded frame says hello again and gets the options again.
      this.#frameReady = true;
      this.iframe.contentWindow!.postMessage({ tag: TAG, kind: 'init', options: this.options.frame } satisfies HostMessage, this.options.server);
      for (const queued of this.#queue.splice(0)) this.#post(queued);
    } else if (msg.kind === 'result') {
      this.#settle(msg.id, msg.error);
    } else {
      this.#onEvent(msg.event, msg.data as EventMap[EventName]);
    }
  };

  #onEvent<E extends EventName>(event: E, data: EventMap[E]): void {
    if (event === 'error') {
      const e = data as EmbedErrorBody;
      // The frame cannot go on (e.g. the token was refused): the handle fails like any fatal error.
      if (e.fatal) return this.#fail(new EmbedError(e.code, e.message, true));
    }
    if (event === 'ready') this.state = 'ready';
    else if (event === 'joined') this.state = 'joined';
    else if (event === 'left') this.state = 'left';
    this.#emit(event, data);
  }

  #settle(id: number, error: EmbedErrorBody | null): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    if (error) p.reject(new EmbedError(error.code, error.message, error.fatal));
    else p.resolve();
  }

  /** Asks the server whether this page may embed it, so a refusal is a clear error, not a blank frame. */
  async #checkOrigin(server: string): Promise<void> {
    try {
      const res = await fetch(`${server}/api/embed/check?origin=${encodeURIComponent(location.origin)}`, { credentials: 'omit' });
      const body = (await res.json()) as { allowed?: unknown };
      if (body.allowed === false && this.state === 'loading') {
        this.#fail(
          new EmbedError('origin-not-allowed', `${location.origin} may not embed calls from ${server}: add it to the server's EMBED_ALLOWED_ORIGINS`, true),
        );
      }
    } catch {
      // No answer: the frame's hello (or its load timeout) decides instead.
    }
  }

  #fail(error: EmbedError): void {
    if (this.state === 'failed' || this.state === 'destroyed') return;
    this.#failure = error;
    this.#teardown(error);
    this.state = 'failed';
    console.error(`callwire: ${error.code}: ${error.message}`);
    this.#emit('error', error.toJSON());
  }

  #teardown(error: EmbedError): void {
    clearTimeout(this.#loadTimer);
    window.removeEventListener('message', this.#onMessage);
    this.iframe?.remove();
    this.#queue = [];
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      clearTimeout(p.timer);
      p.reject(error);
    }
  }

  #emit<E extends EventName>(event: E, data: EventMap[E]): void {
    for (const fn of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (fn as Listener<E>)(data);
      } catch (err) {
        console.error(`callwire: a listener for ${event} failed`, err);
      }
    }
    this.element.dispatchEvent(new CustomEvent(`callwire-${event}`, { detail: data, bubbles: true, composed: true }));
  }
}
