/**
 * The page's side of frame encryption: one worker per call (frameWorker.ts) and an
 * `RTCRtpScriptTransform` on every sender and receiver the media paths make. Browser only.
 * Encoded transforms are the standard API (Chromium, Firefox, Safari); a browser without them
 * cannot take part in encrypted calls (`supported()`), which the app says plainly.
 */
import type { FrameTransforms as FrameTransformsPort } from '../model/ports.ts';
import type { TransformOptions, WorkerCounts, WorkerMessage } from './workerProtocol.ts';

declare const RTCRtpScriptTransform: { new (worker: Worker, options: TransformOptions): unknown } | undefined;

export class FrameTransforms implements FrameTransformsPort {
  readonly #worker: Worker;
  readonly #attached = new WeakSet<RTCRtpSender | RTCRtpReceiver>();
  #nextId = 0;
  readonly #pending = new Map<number, (c: WorkerCounts) => void>();

  /** Whether this browser has encoded transforms (`RTCRtpScriptTransform`). */
  static supported(): boolean {
    return typeof RTCRtpScriptTransform !== 'undefined';
  }

  constructor() {
    this.#worker = new Worker(new URL('./frameWorker.ts', import.meta.url), { type: 'module', name: 'callwire-e2ee' });
    this.#worker.onmessage = (e: MessageEvent<{ type: 'counts'; id: number; counts: WorkerCounts }>) => {
      this.#pending.get(e.data.id)?.(e.data.counts);
      this.#pending.delete(e.data.id);
    };
  }

  attachSender(sender: RTCRtpSender, kind: 'audio' | 'video'): void {
    this.#attach(sender, { side: 'send', kind });
  }

  attachReceiver(receiver: RTCRtpReceiver, participantId: string, kind: 'audio' | 'video'): void {
    this.#attach(receiver, { side: 'recv', kind, participantId });
  }

  setEnabled(on: boolean): void {
    this.#post({ type: 'enable', on });
  }

  setSendKey(kid: number, key: Uint8Array): void {
    this.#post({ type: 'sendKey', kid, key });
  }

  addReceiveKey(participantId: string, kid: number, key: Uint8Array): void {
    this.#post({ type: 'recvKey', participantId, kid, key });
  }

  removeParticipant(participantId: string): void {
    this.#post({ type: 'remove', participantId });
  }

  /** What the worker did so far (frames encrypted, decrypted, dropped). */
  counts(): Promise<WorkerCounts> {
    const id = ++this.#nextId;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#post({ type: 'counts', id });
    });
  }

  close(): void {
    this.#worker.terminate();
    for (const resolve of this.#pending.values()) resolve({ encrypted: {}, decrypted: {}, dropped: {}, senders: 0, receivers: 0 });
    this.#pending.clear();
  }

  #attach(target: RTCRtpSender | RTCRtpReceiver, options: TransformOptions): void {
    if (this.#attached.has(target) || !RTCRtpScriptTransform) return;
    this.#attached.add(target);
    (target as { transform: unknown }).transform = new RTCRtpScriptTransform(this.#worker, options);
  }

  #post(m: WorkerMessage): void {
    this.#worker.postMessage(m);
  }
}
