/**
 * The frame-transform worker: every sender's and receiver's encoded frames pass through here
 * (`RTCRtpScriptTransform`), off the main thread. Keys arrive by message from FrameTransforms;
 * counts of what happened go back on request (the app's "encrypted" indicator and the tests).
 */
import { codecOf, FrameCrypto, type FrameInfo } from './FrameCrypto.ts';
import type { TransformOptions, WorkerCounts, WorkerMessage } from './workerProtocol.ts';

// The worker's global scope, as far as we use it (the project compiles with the DOM library).
declare const self: {
  onmessage: ((event: MessageEvent<WorkerMessage>) => void) | null;
  postMessage(message: unknown): void;
  onrtctransform: ((event: { transformer: RTCRtpScriptTransformer }) => void) | null;
};

interface RTCRtpScriptTransformer {
  readonly readable: ReadableStream<EncodedFrame>;
  readonly writable: WritableStream<EncodedFrame>;
  readonly options: TransformOptions;
}
interface EncodedFrame {
  data: ArrayBuffer;
  readonly type?: 'key' | 'delta' | 'empty';
  getMetadata(): { mimeType?: string };
}

const frames = new FrameCrypto();
let enabled = true;
const counts: WorkerCounts = { encrypted: {}, decrypted: {}, dropped: {}, senders: 0, receivers: 0 };
const bump = (table: Record<string, number>, key: string) => (table[key] = (table[key] ?? 0) + 1);

/**
 * How long a frame may wait for its key: up to 1.5 s for the first frames under a new key; frames
 * under a key already waited for in vain are dropped at once (until the key does come).
 */
const KEY_WAIT_MS = 1_500;
const waitedInVain = new Set<string>();
function waitBudget(participantId: string, kid: number): number {
  return waitedInVain.has(`${participantId}:${kid}`) ? 0 : KEY_WAIT_MS;
}
function noteMissingKey(participantId: string, kid: number | null): void {
  if (kid === null) return;
  if (waitedInVain.size > 1_000) waitedInVain.clear();
  waitedInVain.add(`${participantId}:${kid}`);
}
// Keys are derived asynchronously: apply them in the order they were sent.
let keyQueue: Promise<void> = Promise.resolve();

self.onmessage = (event: MessageEvent<WorkerMessage>) => {
  const m = event.data;
  if (m.type === 'enable') enabled = m.on;
  else if (m.type === 'sendKey') keyQueue = keyQueue.then(() => frames.setSendKey(m.kid, m.key));
  else if (m.type === 'recvKey') keyQueue = keyQueue.then(() => frames.addReceiveKey(m.participantId, m.kid, m.key));
  else if (m.type === 'remove') keyQueue = keyQueue.then(() => frames.removeParticipant(m.participantId));
  else if (m.type === 'counts') self.postMessage({ type: 'counts', id: m.id, counts });
};

self.onrtctransform = ({ transformer }) => {
  const { side, kind, participantId } = transformer.options;
  const label = side === 'send' ? kind : `${participantId}:${kind}`;
  if (side === 'send') counts.senders++;
  else counts.receivers++;
  const transform = new TransformStream<EncodedFrame, EncodedFrame>({
    async transform(frame, controller) {
      if (!enabled) return controller.enqueue(frame);
      const data = new Uint8Array(frame.data);
      const info: FrameInfo = { kind, codec: codecOf(frame.getMetadata().mimeType, kind, data), keyframe: frame.type === 'key' };
      if (side === 'send') {
        const sealed = await frames.encrypt(data, info);
        // Never in the clear: a frame we cannot encrypt (no key yet) is not sent.
        if (!sealed) return void bump(counts.dropped, label);
        frame.data = sealed.slice().buffer;
        bump(counts.encrypted, label);
      } else {
        const from = participantId ?? '';
        let opened = await frames.decrypt(from, data, info);
        // A new key can arrive just after the first frames sent under it: hold the stream briefly
        // rather than drop them (a dropped video frame costs a keyframe request, seconds of freeze).
        if (!opened.ok && opened.reason === 'no-key') {
          const kid = frames.kidOf(data, info);
          if (kid !== null && (await frames.waitForKey(from, kid, waitBudget(from, kid)))) opened = await frames.decrypt(from, data, info);
          else noteMissingKey(from, kid);
        }
        if (!opened.ok) return void bump(counts.dropped, `${label}:${opened.reason}`);
        frame.data = opened.data.slice().buffer;
        bump(counts.decrypted, label);
      }
      controller.enqueue(frame);
    },
  });
  void transformer.readable.pipeThrough(transform).pipeTo(transformer.writable);
};
