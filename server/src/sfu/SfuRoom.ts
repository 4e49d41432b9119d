/**
 * One group call on the SFU: a router on some worker, every participant's transports,
 * producers and consumers, the active-speaker observer, and top-K audio forwarding (in large
 * calls only the K most recent loudest speakers are forwarded; everyone else's audio consumers
 * stay paused, so 32 people cost 32×K audio streams instead of 32×31).
 */
import type { types } from 'mediasoup';
import type { Logger } from '../logger.ts';
import { SignalingError, type ConsumerInfo, type ServerEventMap, type RoomCodecs, type TransportInfo } from '../protocol/index.ts';
import { SfuPeer, type ConsumerMeta, type MediaSource } from './SfuPeer.ts';
import { DownlinkGuard } from './DownlinkGuard.ts';
import type { WorkerPool, WorkerSlot } from './WorkerPool.ts';

export interface SfuRoomOptions {
  maxIncomingBitrate: number;
  topK: number;
  topKThreshold: number;
  /** Echo room (connectivity test): each participant also receives their own producers back. */
  echo?: boolean;
}

export interface SfuRoomHooks {
  /** Sends to one participant (dropped while they are reconnecting; they resync). */
  send<E extends keyof ServerEventMap>(participantId: string, event: E, payload: ServerEventMap[E]): void;
  /** Sends to everyone in the room. */
  broadcast<E extends keyof ServerEventMap>(event: E, payload: ServerEventMap[E]): void;
  /** Throws when this participant may not send video now (too many people). */
  checkVideoAllowed(participantId: string): void;
  logger: Logger;
}

/** Audio level observer cadence: the extra delay before a new speaker in a large call is heard. */
const LEVEL_INTERVAL_MS = 200;

export class SfuRoom {
  readonly peers = new Map<string, SfuPeer>();
  /** Audio producer ids forwarded in top-K mode, most recent speaker first. */
  #forwarded: string[] = [];
  /** The latest pause/resume step queued for each consumer (see #applyForwarding). */
  readonly #steps = new WeakMap<types.Consumer<ConsumerMeta>, Promise<void>>();
  /** Lowers a receiver's video layers while their link loses packets (see DownlinkGuard). */
  readonly #guard = new DownlinkGuard(() => this.peers.values());
  /** The codecs everyone sends (see #chooseCodecs). */
  #codecs: RoomCodecs = { audio: 'audio/red', video: 'video/H264' };
  #closed = false;

  private constructor(
    readonly roomId: string,
    readonly router: types.Router,
    readonly slot: WorkerSlot,
    private readonly pool: WorkerPool,
    private readonly activeSpeaker: types.ActiveSpeakerObserver,
    private readonly levels: types.AudioLevelObserver,
    private readonly hooks: SfuRoomHooks,
    private readonly options: SfuRoomOptions,
  ) {
    activeSpeaker.on('dominantspeaker', ({ producer }) => {
      const participantId = (producer.appData as { participantId?: string }).participantId ?? null;
      hooks.broadcast('sfu.activeSpeaker', { roomId, participantId });
    });
    levels.on('volumes', (volumes) => this.#promote(volumes.map((v) => v.producer.id)));
  }

  static async create(roomId: string, pool: WorkerPool, hooks: SfuRoomHooks, options: SfuRoomOptions): Promise<SfuRoom> {
    const { router, slot } = await pool.createRouter();
    const activeSpeaker = await router.createActiveSpeakerObserver({ interval: 300 });
    const levels = await router.createAudioLevelObserver({ maxEntries: options.topK, threshold: -70, interval: LEVEL_INTERVAL_MS });
    return new SfuRoom(roomId, router, slot, pool, activeSpeaker, levels, hooks, options);
  }

  get closed(): boolean {
    return this.#closed || this.router.closed;
  }

  get consumerCount(): number {
    let n = 0;
    for (const p of this.peers.values()) n += p.consumers.size;
    return n;
  }

  peer(participantId: string): SfuPeer {
    let p = this.peers.get(participantId);
    if (!p) {
      this.peers.set(participantId, (p = new SfuPeer(participantId)));
      // Growing past the threshold switches top-K on: consumers resumed before must follow it.
      if (this.peers.size === this.options.topKThreshold + 1) void this.#applyAllForwarding();
    }
    return p;
  }

  async createTransport(participantId: string, direction: 'send' | 'recv'): Promise<TransportInfo> {
    const peer = this.peer(participantId);
    if (peer[direction]) throw new SignalingError('invalid-state', `you already have a ${direction} transport (one each)`);
    const transport = await this.router.createWebRtcTransport({
      webRtcServer: this.slot.webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: 1_000_000,
    });
    if (this.closed || this.peers.get(participantId) !== peer) {
      transport.close();
      throw new SignalingError('invalid-state', 'the call changed while the transport was created');
    }
    if (direction === 'send') await transport.setMaxIncomingBitrate(this.options.maxIncomingBitrate);
    peer[direction] = transport;
    return { id: transport.id, iceParameters: transport.iceParameters, iceCandidates: transport.iceCandidates, dtlsParameters: transport.dtlsParameters };
  }

  async connectTransport(participantId: string, transportId: string, dtlsParameters: unknown): Promise<void> {
    const transport = this.peer(participantId).transport(transportId);
    await mediasoupCall(() => transport.connect({ dtlsParameters: dtlsParameters as types.DtlsParameters }));
  }

  async restartIce(participantId: string, transportId: string): Promise<unknown> {
    return this.peer(participantId).transport(transportId).restartIce();
  }

  /** The codecs senders use now (see #chooseCodecs). */
  get codecs(): RoomCodecs {
    return this.#codecs;
  }

  /**
   * The participant can receive: consume everything already being sent. Returns the room's
   * codecs, which this participant may just have changed (they cannot decode H.264 or RED).
   */
  async ready(participantId: string, rtpCapabilities: unknown): Promise<RoomCodecs> {
    const peer = this.peer(participantId);
    if (!peer.recv) throw new SignalingError('invalid-state', 'create the recv transport first');
    // The protocol schema checked the shape; streams this device cannot decode are skipped (and logged).
    const caps = rtpCapabilities as types.RtpCapabilities;
    const first = peer.rtpCapabilities === null;
    peer.rtpCapabilities = caps;
    this.#chooseCodecs();
    if (!first) return this.#codecs;
    for (const other of this.peers.values()) {
      if (other === peer && !this.options.echo) continue;
      for (const [source, producer] of other.producers) await this.#consume(peer, other, producer, source);
    }
    return this.#codecs;
  }

  async produce(participantId: string, transportId: string, kind: 'audio' | 'video', rtpParameters: unknown, source: MediaSource): Promise<string> {
    const peer = this.peer(participantId);
    const transport = peer.transport(transportId);
    if (transport !== peer.send) throw new SignalingError('invalid-state', 'produce on your send transport');
    if ((source === 'mic') !== (kind === 'audio'))
      throw new SignalingError('invalid-message', `source ${source} must be ${source === 'mic' ? 'audio' : 'video'}`);
    if (peer.producers.has(source)) throw new SignalingError('invalid-state', `you already send a ${source} stream`);
    if (kind === 'video') this.hooks.checkVideoAllowed(participantId);
    const producer = await mediasoupCall(() =>
      transport.produce({ kind, rtpParameters: rtpParameters as types.RtpParameters, appData: { participantId, source } }),
    );
    if (peer.producers.has(source) || this.peers.get(participantId) !== peer) {
      producer.close();
      throw new SignalingError('invalid-state', `you already send a ${source} stream`);
    }
    peer.producers.set(source, producer);
    producer.observer.once('close', () => {
      if (peer.producers.get(source) === producer) peer.producers.delete(source);
      this.#forwarded = this.#forwarded.filter((id) => id !== producer.id);
    });
    if (kind === 'audio') {
      await this.activeSpeaker.addProducer({ producerId: producer.id }).catch(() => {});
      await this.levels.addProducer({ producerId: producer.id }).catch(() => {});
    }
    for (const other of this.peers.values()) {
      if ((other !== peer || this.options.echo) && other.ready) await this.#consume(other, peer, producer, source);
    }
    return producer.id;
  }

  closeProducer(participantId: string, producerId: string): void {
    this.peer(participantId).producer(producerId).close();
  }

  async resumeConsumer(participantId: string, consumerId: string): Promise<void> {
    const consumer = this.peer(participantId).consumer(consumerId);
    consumer.appData.clientReady = true;
    await this.#applyForwarding(consumer);
  }

  async setPreferredLayers(participantId: string, consumerId: string, spatialLayer: number): Promise<void> {
    const peer = this.peer(participantId);
    const consumer = peer.consumer(consumerId);
    if (consumer.type !== 'simulcast') return; // a single-layer stream has nothing to choose
    consumer.appData['wantSpatial'] = spatialLayer;
    await consumer.setPreferredLayers(this.#guard.layersFor(peer, consumer));
  }

  sync(participantId: string): ConsumerInfo[] {
    return [...this.peer(participantId).consumers.values()].map((c) => this.#info(c));
  }

  removePeer(participantId: string): void {
    const peer = this.peers.get(participantId);
    if (!peer) return;
    this.peers.delete(participantId);
    peer.close();
    this.#recount();
    this.#chooseCodecs();
    void this.#applyAllForwarding();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#guard.close();
    for (const p of this.peers.values()) p.close();
    this.peers.clear();
    this.router.close();
  }

  async #consume(to: SfuPeer, from: SfuPeer, producer: types.Producer, source: MediaSource): Promise<void> {
    if (!to.recv || !to.rtpCapabilities || producer.closed) return;
    // One consumer per producer and receiver, even when sfu.ready and sfu.produce interleave.
    if (to.receiving.has(producer.id)) return;
    if (!this.router.canConsume({ producerId: producer.id, rtpCapabilities: to.rtpCapabilities })) {
      this.hooks.logger.warn(`participant ${to.participantId} cannot receive ${producer.kind} ${producer.id}`);
      return;
    }
    to.receiving.add(producer.id);
    let consumer: types.Consumer<ConsumerMeta>;
    try {
      consumer = await to.recv.consume<ConsumerMeta>({
        producerId: producer.id,
        rtpCapabilities: to.rtpCapabilities,
        paused: true,
        appData: { participantId: from.participantId, source, clientReady: false },
      });
    } catch (err) {
      to.receiving.delete(producer.id);
      throw err;
    }
    if (to.recv === null || consumer.closed) {
      to.receiving.delete(producer.id);
      return consumer.close();
    }
    to.consumers.set(consumer.id, consumer);
    const gone = () => {
      to.receiving.delete(consumer.producerId);
      if (!to.consumers.delete(consumer.id)) return;
      this.#recount();
      this.hooks.send(to.participantId, 'sfu.consumerClosed', { roomId: this.roomId, consumerId: consumer.id });
    };
    consumer.on('transportclose', gone);
    consumer.on('producerclose', gone);
    consumer.on('producerpause', () => this.hooks.send(to.participantId, 'sfu.consumerPaused', { roomId: this.roomId, consumerId: consumer.id }));
    consumer.on('producerresume', () => this.hooks.send(to.participantId, 'sfu.consumerResumed', { roomId: this.roomId, consumerId: consumer.id }));
    // Start simulcast at the middle layer; the receiver asks for what its tile needs.
    if (consumer.type === 'simulcast') {
      consumer.appData['wantSpatial'] = 1;
      await consumer.setPreferredLayers(this.#guard.layersFor(to, consumer)).catch(() => {});
    }
    this.#recount();
    this.hooks.send(to.participantId, 'sfu.newConsumer', { roomId: this.roomId, ...this.#info(consumer) });
  }

  /**
   * The room's codecs, chosen again whenever someone becomes ready or leaves. The SFU forwards
   * and cannot transcode, so a sender must use what every receiver decodes:
   * - camera: H.264 (hardware decoders everywhere) while every participant decodes it, VP8 (every
   *   WebRTC browser decodes it) as soon as one cannot, e.g. Firefox without its OpenH264 plugin;
   * - microphone: RED (redundant Opus, holds up under loss) while everyone decodes it, plain Opus
   *   as soon as one cannot (Firefox has no RED).
   * Senders are told (`sfu.codecs`) and send again in the new codec; a stream someone cannot
   * decode meanwhile is simply not forwarded to them (#consume), so the switch costs a moment.
   */
  #chooseCodecs(): void {
    const ready = [...this.peers.values()].filter((p) => p.rtpCapabilities);
    const decodes = (mime: string) => (p: SfuPeer) => p.rtpCapabilities?.codecs?.some((c) => c.mimeType.toLowerCase() === mime) ?? false;
    const codecs: RoomCodecs = {
      audio: ready.every(decodes('audio/red')) ? 'audio/red' : 'audio/opus',
      video: ready.every(decodes('video/h264')) ? 'video/H264' : 'video/VP8',
    };
    if (codecs.audio === this.#codecs.audio && codecs.video === this.#codecs.video) return;
    this.#codecs = codecs;
    this.hooks.logger.info(`room ${this.roomId}: codecs now ${codecs.audio} and ${codecs.video} (${ready.length} participants ready)`);
    this.hooks.broadcast('sfu.codecs', { roomId: this.roomId, codecs });
  }

  #info(c: types.Consumer<ConsumerMeta>): ConsumerInfo {
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

  get #topKActive(): boolean {
    return this.peers.size > this.options.topKThreshold;
  }

  #isForwarded(c: types.Consumer<ConsumerMeta>): boolean {
    return c.kind !== 'audio' || !this.#topKActive || this.#forwarded.includes(c.producerId);
  }

  /**
   * Brings one consumer to what it should be (paused or not). Steps for one consumer run one
   * after another, each deciding when it runs: mediasoup updates `consumer.paused` only once the
   * worker answered, so two overlapping steps could both read the old value and leave a new
   * speaker paused (or an old one playing) until the next change of speaker.
   */
  #applyForwarding(c: types.Consumer<ConsumerMeta>): Promise<void> {
    const step = async () => {
      if (c.closed) return;
      const on = c.appData.clientReady && this.#isForwarded(c);
      if (on && c.paused) await c.resume().catch(() => {});
      else if (!on && !c.paused) await c.pause().catch(() => {});
    };
    const next = (this.#steps.get(c) ?? Promise.resolve()).then(step);
    this.#steps.set(c, next);
    return next;
  }

  async #applyAllForwarding(): Promise<void> {
    const steps: Promise<void>[] = [];
    for (const p of this.peers.values()) for (const c of p.consumers.values()) if (c.kind === 'audio') steps.push(this.#applyForwarding(c));
    await Promise.all(steps);
  }

  /** The loudest producers of this interval become the most recent speakers. */
  #promote(loudest: string[]): void {
    const before = this.#forwarded.join();
    this.#forwarded = [...loudest, ...this.#forwarded.filter((id) => !loudest.includes(id))].slice(0, this.options.topK);
    if (this.#forwarded.join() !== before && this.#topKActive) void this.#applyAllForwarding();
  }

  #recount(): void {
    if (!this.router.closed) this.pool.setConsumerCount(this.router, this.consumerCount);
  }
}

/** mediasoup rejects bad parameters with TypeError / UnsupportedError: those are the client's fault. */
async function mediasoupCall<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof SignalingError) throw err;
    const e = err as Error;
    if (e instanceof TypeError || e.name === 'UnsupportedError' || e.name === 'TypeError') {
      throw new SignalingError('invalid-message', `rejected by the media server: ${e.message}`);
    }
    throw err;
  }
}
