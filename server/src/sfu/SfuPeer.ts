import type { types } from 'mediasoup';
import { SignalingError } from '../protocol/index.ts';

export type MediaSource = 'mic' | 'camera';

export type ConsumerMeta = {
  participantId: string;
  source: MediaSource;
  /** The client finished setting the consumer up and asked to resume it. */
  clientReady: boolean;
  [key: string]: unknown;
};

/** One participant's SFU state: at most one send and one recv transport, its producers and consumers. */
export class SfuPeer {
  send: types.WebRtcTransport | null = null;
  recv: types.WebRtcTransport | null = null;
  rtpCapabilities: types.RtpCapabilities | null = null;
  readonly producers = new Map<MediaSource, types.Producer>();
  readonly consumers = new Map<string, types.Consumer<ConsumerMeta>>();
  /** Producers this peer receives or is about to (consume() is async: ready and produce can race). */
  readonly receiving = new Set<string>();

  constructor(readonly participantId: string) {}

  get ready(): boolean {
    return this.recv !== null && this.rtpCapabilities !== null;
  }

  transport(id: string): types.WebRtcTransport {
    if (this.send?.id === id) return this.send;
    if (this.recv?.id === id) return this.recv;
    throw new SignalingError('unknown-transport', `no transport ${id} of yours`);
  }

  producer(id: string): types.Producer {
    for (const p of this.producers.values()) if (p.id === id) return p;
    throw new SignalingError('unknown-producer', `no producer ${id} of yours`);
  }

  consumer(id: string): types.Consumer<ConsumerMeta> {
    const c = this.consumers.get(id);
    if (!c) throw new SignalingError('unknown-consumer', `no consumer ${id} of yours`);
    return c;
  }

  /** Closing the transports closes their producers and consumers too. */
  close(): void {
    this.send?.close();
    this.recv?.close();
    this.send = null;
    this.recv = null;
    this.producers.clear();
    this.consumers.clear();
    this.receiving.clear();
  }
}
