/**
 * One participant of the bare relay: who they are, which socket speaks for them, and their
 * mediasoup objects (one send and one recv transport, producers, consumers). Nothing else: no
 * limits, no reconnection, no media state beyond what `room.join` reported.
 */
import type { types } from 'mediasoup';
import { SignalingError, type ParticipantInfo } from '../../server/src/protocol/index.ts';

export type Source = 'mic' | 'camera';

/** What the relay remembers about a consumer, to describe it to its receiver again (`sfu.sync`). */
export interface BareConsumerMeta {
  participantId: string;
  source: Source;
  [key: string]: unknown;
}

export class BarePeer {
  send: types.WebRtcTransport | null = null;
  recv: types.WebRtcTransport | null = null;
  rtpCapabilities: types.RtpCapabilities | null = null;
  readonly producers = new Map<string, { producer: types.Producer; source: Source }>();
  readonly consumers = new Map<string, types.Consumer<BareConsumerMeta>>();
  /** Producer ids a consumer is being created for (BareRoom: one consumer per producer). */
  readonly pending = new Set<string>();

  constructor(
    readonly info: ParticipantInfo,
    readonly socketId: string,
  ) {}

  get id(): string {
    return this.info.id;
  }

  /** Consumers are only made once the participant can receive (`sfu.ready` after the recv transport). */
  get ready(): boolean {
    return this.recv !== null && this.rtpCapabilities !== null;
  }

  transport(id: string): types.WebRtcTransport {
    if (this.send?.id === id) return this.send;
    if (this.recv?.id === id) return this.recv;
    throw new SignalingError('unknown-transport', `no transport ${id} of yours`);
  }

  consumer(id: string): types.Consumer<BareConsumerMeta> {
    const c = this.consumers.get(id);
    if (!c) throw new SignalingError('unknown-consumer', `no consumer ${id} of yours`);
    return c;
  }

  /** Closing the transports closes their producers and consumers (and the consumers of others fed by them). */
  close(): void {
    this.send?.close();
    this.recv?.close();
    this.send = null;
    this.recv = null;
    this.producers.clear();
    this.consumers.clear();
    this.pending.clear();
  }
}
