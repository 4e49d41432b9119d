/**
 * One room of the bare relay: a router on the relay's worker and its participants. Every
 * producer is consumed by every other participant, created paused and resumed when the receiver
 * asks (`sfu.resumeConsumer`), as mediasoup's documentation recommends. No active-speaker or
 * audio-level observer, no top-K, no admission limits, no reconnection: this is the floor that
 * callwire's SFU is compared against. Transports are set up as callwire sets them up (same
 * WebRtcServer use, same first bandwidth estimate, same incoming bitrate cap unless turned off),
 * so the two differ in what they do around mediasoup, not in what they ask mediasoup to do.
 */
import type { types } from 'mediasoup';
import { SignalingError, type ConsumerInfo, type ServerEventMap, type TransportInfo } from '../../server/src/protocol/index.ts';
import type { BareConsumerMeta, BarePeer, Source } from './BarePeer.ts';

export type Send = <E extends keyof ServerEventMap>(socketId: string, event: E, payload: ServerEventMap[E]) => void;

export class BareRoom {
  readonly peers = new Map<string, BarePeer>();
  #closed = false;

  constructor(
    readonly id: string,
    readonly router: types.Router,
    private readonly webRtcServer: types.WebRtcServer,
    private readonly send: Send,
  ) {}

  get closed(): boolean {
    return this.#closed || this.router.closed;
  }

  add(peer: BarePeer): void {
    this.peers.set(peer.id, peer);
  }

  /** Removes a participant; their producers close, so everyone's consumers of them close too. */
  remove(peerId: string): void {
    const peer = this.peers.get(peerId);
    if (!peer) return;
    this.peers.delete(peerId);
    peer.close();
  }

  async createTransport(peer: BarePeer, direction: 'send' | 'recv', maxIncomingBitrate: number | null): Promise<TransportInfo> {
    if (peer[direction]) throw new SignalingError('invalid-state', `you already have a ${direction} transport (one each)`);
    // The same transport settings as callwire's SfuRoom (one WebRtcServer port, UDP preferred, the
    // same first bandwidth estimate), so the two servers differ only in what they do around it.
    const transport = await this.router.createWebRtcTransport({
      webRtcServer: this.webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: 1_000_000,
    });
    if (this.closed || this.peers.get(peer.id) !== peer || peer[direction]) {
      transport.close();
      throw new SignalingError('invalid-state', 'the call changed while the transport was created');
    }
    peer[direction] = transport;
    if (direction === 'send' && maxIncomingBitrate !== null) await transport.setMaxIncomingBitrate(maxIncomingBitrate);
    return { id: transport.id, iceParameters: transport.iceParameters, iceCandidates: transport.iceCandidates, dtlsParameters: transport.dtlsParameters };
  }

  /** `sfu.ready`: the participant can receive, so they get a consumer of everything already sent. */
  async ready(peer: BarePeer, rtpCapabilities: types.RtpCapabilities): Promise<void> {
    if (!peer.recv) throw new SignalingError('invalid-state', 'create the recv transport first');
    const first = peer.rtpCapabilities === null;
    peer.rtpCapabilities = rtpCapabilities;
    if (!first) return;
    for (const other of this.peers.values()) {
      if (other === peer) continue;
      for (const { producer, source } of other.producers.values()) await this.#consume(peer, other, producer, source);
    }
  }

  async produce(peer: BarePeer, transportId: string, kind: 'audio' | 'video', rtpParameters: types.RtpParameters, source: Source): Promise<string> {
    const transport = peer.transport(transportId);
    if (transport !== peer.send) throw new SignalingError('invalid-state', 'produce on your send transport');
    const producer = await transport.produce({ kind, rtpParameters });
    peer.producers.set(producer.id, { producer, source });
    producer.observer.once('close', () => peer.producers.delete(producer.id));
    for (const other of this.peers.values()) {
      if (other !== peer && other.ready) await this.#consume(other, peer, producer, source);
    }
    return producer.id;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.peers.values()) p.close();
    this.peers.clear();
    this.router.close();
  }

  static info(c: types.Consumer<BareConsumerMeta>): ConsumerInfo {
    return {
      consumerId: c.id,
      producerId: c.producerId,
      participantId: c.appData.participantId,
      kind: c.kind,
      source: c.appData.source,
      rtpParameters: c.rtpParameters,
      paused: c.producerPaused,
    };
  }

  async #consume(to: BarePeer, from: BarePeer, producer: types.Producer, source: Source): Promise<void> {
    if (!to.recv || !to.rtpCapabilities || producer.closed) return;
    // `ready` (consume everything) and a concurrent `produce` (consume it everywhere) can both
    // reach the same pair across their awaits: one consumer per producer and receiver.
    if (this.#consuming(to, producer.id)) return;
    to.pending.add(producer.id);
    try {
      await this.#createConsumer(to, from, producer, source);
    } finally {
      to.pending.delete(producer.id);
    }
  }

  #consuming(to: BarePeer, producerId: string): boolean {
    if (to.pending.has(producerId)) return true;
    for (const c of to.consumers.values()) if (c.producerId === producerId) return true;
    return false;
  }

  async #createConsumer(to: BarePeer, from: BarePeer, producer: types.Producer, source: Source): Promise<void> {
    if (!to.recv || !to.rtpCapabilities || !this.router.canConsume({ producerId: producer.id, rtpCapabilities: to.rtpCapabilities })) return;
    const consumer = await to.recv.consume<BareConsumerMeta>({
      producerId: producer.id,
      rtpCapabilities: to.rtpCapabilities,
      paused: true,
      appData: { participantId: from.id, source },
    });
    if (consumer.closed || to.recv === null) return consumer.close();
    to.consumers.set(consumer.id, consumer);
    const gone = () => {
      if (to.consumers.delete(consumer.id)) this.send(to.socketId, 'sfu.consumerClosed', { roomId: this.id, consumerId: consumer.id });
    };
    consumer.on('transportclose', gone);
    consumer.on('producerclose', gone);
    consumer.on('producerpause', () => this.send(to.socketId, 'sfu.consumerPaused', { roomId: this.id, consumerId: consumer.id }));
    consumer.on('producerresume', () => this.send(to.socketId, 'sfu.consumerResumed', { roomId: this.id, consumerId: consumer.id }));
    this.send(to.socketId, 'sfu.newConsumer', { roomId: this.id, ...BareRoom.info(consumer) });
  }
}
