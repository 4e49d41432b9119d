/** Messages between the page (FrameTransforms) and the frame-transform worker (frameWorker.ts). */

/** What each RTCRtpScriptTransform is told about its frames. */
export interface TransformOptions {
  side: 'send' | 'recv';
  kind: 'audio' | 'video';
  /** Receivers: whose frames these are (their key decrypts them). */
  participantId?: string;
}

export type WorkerMessage =
  | { type: 'enable'; on: boolean }
  | { type: 'sendKey'; kid: number; key: Uint8Array }
  | { type: 'recvKey'; participantId: string; kid: number; key: Uint8Array }
  | { type: 'remove'; participantId: string }
  | { type: 'counts'; id: number };

export type { FrameCounts as WorkerCounts } from '../model/ports.ts';
