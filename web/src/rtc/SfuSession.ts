/**
 * This browser's side of a group call on the SFU (mediasoup-client): one send and one recv
 * transport, our microphone and camera as producers (camera simulcast, H.264 preferred), and a
 * consumer for every stream the server offers. It recovers by itself: ICE restart when a
 * transport fails, a full set-up again when the server's media worker restarted (`sfu.reset`)
 * or when a reconnection finds a different SFU session.
 */
import { Device, type types } from 'mediasoup-client';
import type { ConsumerInfo, IceServerInfo, RoomCodecs } from '@protocol';
import { Emitter } from '../lib/Emitter.ts';
import type { FrameTransforms, LocalTracks, MediaPath, MediaPathEvents, ReceivedStream, SignalingPort, StatsSource } from '../model/ports.ts';
import { statsEntries, type StatsEntry } from './stats.ts';

export type Source = 'mic' | 'camera';

/** A media path's events (`connection`: the worse of the two transports' states, for everyone), and two of its own. */
export type SfuSessionEvents = MediaPathEvents & {
  /** A stream is set up and resumed (with what the server said of it). */
  consumer: [stream: ConsumedStream];
  /** The media server restarted (`sfu.reset`): the session sets itself up again. */
  reset: [reason: string];
};

export interface SfuSessionOptions {
  iceServers: IceServerInfo[];
  iceTransportPolicy?: RTCIceTransportPolicy | undefined;
  /** A fresh mediasoup-client Device (default: the browser's handler; Node passes one on wrtc). */
  createDevice?: () => Device;
  /**
   * The camera's codec until the server names the room's (default H.264 Constrained Baseline).
   * The room's choice wins (`sfu.codecs`: VP8 when someone cannot decode H.264).
   */
  videoCodec?: 'video/h264' | 'video/vp8';
  /** Camera simulcast (default on; a probe sends one layer). */
  simulcast?: boolean;
  /** Send audio as RED (redundant Opus) where the room, the router and this device have it (default on). */
  red?: boolean;
  /** Set-up attempts while the media server is unavailable (default 12, about 30 s; a probe: 1). */
  startAttempts?: number;
  /** Opus options of the microphone (default DTX and in-band FEC on, as a browser call). */
  opus?: { dtx: boolean; fec: boolean; nack?: boolean };
  /** Extra RTCConfiguration of the receive transport (mediasoup-client `additionalSettings`). */
  recvSettings?: Partial<RTCConfiguration>;
  /** End-to-end encryption: a frame transform on every producer's sender and consumer's receiver, set before media flows. */
  frames?: FrameTransforms | undefined;
}

/** A stream we receive through the SFU. */
export interface ConsumedStream {
  info: ConsumerInfo;
  consumer: types.Consumer;
  /** The server paused it (the sender paused, or top-K audio left it out). */
  serverPaused: boolean;
}

interface ConsumerEntry extends ConsumedStream {
  participantId: string;
  layer: number | null;
}

const DISCONNECTED_RESTART_MS = 2_500;
/** Set-up attempts before giving up (about 30 s with the backoff). */
const START_ATTEMPTS = 12;

export class SfuSession extends Emitter<SfuSessionEvents> implements MediaPath {
  readonly kind = 'sfu' as const;
  #device: Device | null = null;
  #send: types.Transport | null = null;
  #recv: types.Transport | null = null;
  #routerId: string | null = null;
  readonly #producers = new Map<Source, types.Producer>();
  readonly #consumers = new Map<string, ConsumerEntry>();
  /** newConsumer events that arrived before the recv transport existed. */
  #pending: ConsumerInfo[] = [];
  #states = new Map<string, RTCPeerConnectionState>();
  #timers = new Map<string, ReturnType<typeof setTimeout>>();
  #off: (() => void)[] = [];
  #setup: Promise<void> | null = null;
  #syncing: Promise<void> = Promise.resolve();
  #closed = false;
  /** Receive-side height each participant's video is shown at, to pick simulcast layers. */
  readonly #wantedHeight = new Map<string, number>();
  /** The room's codecs, as the server last said (sfu.ready, sfu.codecs). */
  #roomCodecs: RoomCodecs | null = null;

  constructor(
    private readonly signaling: SignalingPort,
    readonly roomId: string,
    private readonly media: LocalTracks,
    private readonly options: SfuSessionOptions,
  ) {
    super();
    const mine =
      <T extends { roomId: string }>(fn: (p: T) => void) =>
      (p: T) => {
        if (p.roomId === roomId && !this.#closed) fn(p);
      };
    this.#off.push(
      signaling.onEvent(
        'sfu.newConsumer',
        mine((info) => this.#consumeInBackground(info)),
      ),
      signaling.onEvent(
        'sfu.consumerClosed',
        mine(({ consumerId }) => this.#closeConsumer(consumerId)),
      ),
      signaling.onEvent(
        'sfu.activeSpeaker',
        mine(({ participantId }) => this.emit('activeSpeaker', participantId)),
      ),
      signaling.onEvent(
        'sfu.reset',
        mine(({ reason }) => {
          this.emit('reset', reason);
          void this.restart();
        }),
      ),
      signaling.onEvent(
        'sfu.codecs',
        mine(({ codecs }) => {
          this.#roomCodecs = codecs;
          void this.syncProducers();
        }),
      ),
      signaling.onEvent(
        'sfu.consumerPaused',
        mine(({ consumerId }) => this.#serverPaused(consumerId, true)),
      ),
      signaling.onEvent(
        'sfu.consumerResumed',
        mine(({ consumerId }) => this.#serverPaused(consumerId, false)),
      ),
    );
  }

  /** ICE restarts after a failed or lingering disconnected transport. */
  iceRestarts = 0;

  /** Every stream received now. */
  get streams(): ConsumedStream[] {
    return [...this.#consumers.values()];
  }

  get state(): RTCPeerConnectionState {
    const order: RTCPeerConnectionState[] = ['failed', 'disconnected', 'new', 'connecting', 'connected', 'closed'];
    const states = [...this.#states.values()];
    return order.find((s) => states.includes(s)) ?? 'new';
  }

  /** Consumers by participant, for stats and tests. */
  consumersOf(participantId: string): types.Consumer[] {
    return [...this.#consumers.values()].filter((c) => c.participantId === participantId).map((c) => c.consumer);
  }

  /** The server decides what we consume: people need no set-up of their own here. */
  addParticipant(): void {}
  removeParticipant(): void {}

  /** Everyone in a group call reaches us through the SFU. */
  has(): boolean {
    return true;
  }

  /** Offers and candidates are peer-to-peer business; mediasoup signals with parameters. */
  receiveSignal(): void {}

  syncLocalTracks(): void {
    void this.syncProducers();
  }

  connectionOf(): RTCPeerConnectionState {
    return this.state;
  }

  /** One report with the stats of all of a participant's consumers (and their transport). */
  statsOf(participantId: string): StatsSource {
    return {
      getStats: async () => {
        const merged = new Map<string, unknown>();
        for (const c of this.consumersOf(participantId)) (await c.getStats()).forEach((v: { id: string }) => merged.set(v.id, v));
        return merged as unknown as RTCStatsReport;
      },
    };
  }

  tracksOf(participantId: string): MediaStreamTrack[] {
    return this.consumersOf(participantId).map((c) => c.track);
  }

  received(): ReceivedStream[] {
    return [...this.#consumers.values()].map(({ info, consumer, serverPaused }) => ({
      id: info.consumerId,
      participantId: info.participantId,
      kind: info.kind,
      source: info.source,
      track: consumer.track,
      serverPaused,
    }));
  }

  /** One transport's statistics (what a probe or a bot measures with); none before it exists. */
  async reports(direction: 'send' | 'recv'): Promise<StatsEntry[][]> {
    const transport = direction === 'send' ? this.#send : this.#recv;
    return transport ? [statsEntries(await transport.getStats())] : [];
  }

  /** The network changed: restart ICE on both transports. */
  restartIce(): void {
    for (const t of [this.#send, this.#recv]) if (t) void this.#restartIce(t);
  }

  start(): Promise<void> {
    this.#setup ??= this.#startWithRetry().catch((err: unknown) => {
      this.#setup = null;
      throw err;
    });
    return this.#setup;
  }

  /** The media server may be restarting (sfu-unavailable): retry a bounded number of times. */
  async #startWithRetry(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#start();
      } catch (err) {
        if (this.#closed || attempt >= (this.options.startAttempts ?? START_ATTEMPTS)) throw err;
        console.warn(`SFU set-up failed (attempt ${attempt}), retrying`, err);
        this.#teardown();
        await new Promise((r) => setTimeout(r, Math.min(4_000, 300 * attempt)));
      }
    }
  }

  /** Tears everything down and sets it up again (the server's media worker restarted). */
  async restart(): Promise<void> {
    if (this.#closed) return;
    await this.#setup?.catch(() => {});
    this.#teardown();
    this.#setup = null;
    await this.start();
  }

  /** After a signaling reconnection: same SFU session → fetch missed consumers; else start over. */
  async resync(): Promise<void> {
    if (this.#closed) return;
    await this.#setup?.catch(() => {});
    const { consumers, routerId } = await this.signaling.request('sfu.sync', { roomId: this.roomId });
    if (routerId !== this.#routerId || !this.#recv) return this.restart();
    const wanted = new Set(consumers.map((c) => c.consumerId));
    for (const id of [...this.#consumers.keys()]) if (!wanted.has(id)) this.#closeConsumer(id);
    for (const c of consumers) if (!this.#consumers.has(c.consumerId)) await this.#consume({ roomId: this.roomId, ...c });
    for (const t of [this.#send, this.#recv]) if (t && t.connectionState !== 'connected') void this.#restartIce(t);
  }

  /** The codec a source is sent in now (lower case, e.g. `video/vp8`), null when it is not sent. */
  codecOf(source: Source): string | null {
    const p = this.#producers.get(source);
    return p && !p.closed ? (p.rtpParameters.codecs[0]?.mimeType.toLowerCase() ?? null) : null;
  }

  /** Brings our producers in line with LocalMedia (new tracks, camera on/off) and the room's codecs. Serialized. */
  syncProducers(): Promise<void> {
    this.#syncing = this.#syncing.then(() => this.#syncProducers()).catch((err) => console.warn('SFU producer sync failed', err));
    return this.#syncing;
  }

  /** The video of `participantId` is shown `height` pixels tall: ask for the matching layer. */
  setPreferredHeight(participantId: string, height: number): void {
    this.#wantedHeight.set(participantId, height);
    for (const [id, entry] of this.#consumers) {
      if (entry.participantId === participantId && entry.consumer.kind === 'video') void this.#applyLayer(id, entry);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#off.splice(0)) off();
    this.#teardown();
    this.removeAllListeners();
  }

  async #start(): Promise<void> {
    const req = this.signaling.request.bind(this.signaling);
    const roomId = this.roomId;
    const { routerRtpCapabilities, routerId } = await req('sfu.capabilities', { roomId });
    const device = this.options.createDevice?.() ?? new Device();
    await device.load({ routerRtpCapabilities });
    if (this.#closed) return;
    this.#device = device;
    this.#routerId = routerId;
    const common = { iceServers: this.options.iceServers as RTCIceServer[], iceTransportPolicy: this.options.iceTransportPolicy };

    const sendInfo = await req('sfu.createTransport', { roomId, direction: 'send' });
    const send = device.createSendTransport({ ...sendInfo, ...common });
    send.on('connect', ({ dtlsParameters }, ok, fail) => {
      req('sfu.connectTransport', { roomId, transportId: send.id, dtlsParameters }).then(() => ok(), fail);
    });
    send.on('produce', ({ kind, rtpParameters, appData }, ok, fail) => {
      req('sfu.produce', { roomId, transportId: send.id, kind, rtpParameters, source: appData['source'] as Source }).then(
        ({ producerId }) => ok({ id: producerId }),
        fail,
      );
    });
    this.#watch(send);
    this.#send = send;

    const recvInfo = await req('sfu.createTransport', { roomId, direction: 'recv' });
    const recv = device.createRecvTransport({
      ...recvInfo,
      ...common,
      ...(this.options.recvSettings ? { additionalSettings: this.options.recvSettings } : {}),
    });
    recv.on('connect', ({ dtlsParameters }, ok, fail) => {
      req('sfu.connectTransport', { roomId, transportId: recv.id, dtlsParameters }).then(() => ok(), fail);
    });
    this.#watch(recv);
    this.#recv = recv;

    const { codecs } = await req('sfu.ready', { roomId, rtpCapabilities: device.rtpCapabilities });
    this.#roomCodecs = codecs;
    for (const info of this.#pending.splice(0)) this.#consumeInBackground({ ...info, roomId });
    await this.syncProducers();
  }

  async #syncProducers(): Promise<void> {
    const send = this.#send;
    if (!send || this.#closed) return;
    await this.#syncSource(send, 'mic', this.media.audio);
    await this.#syncSource(send, 'camera', this.media.video);
  }

  async #syncSource(send: types.Transport, source: Source, track: MediaStreamTrack | null): Promise<void> {
    const producer = this.#producers.get(source);
    if (producer && !producer.closed && track && this.#wrongCodec(source)) {
      // The room changed its codecs: stop this stream (receivers drop its consumer) and send anew.
      await this.#closeProducer(producer, source);
    } else if (producer && !producer.closed) {
      if (!track) {
        await this.#closeProducer(producer, source);
      } else if (producer.track !== track) {
        await producer.replaceTrack({ track });
      }
      return;
    }
    if (!track) return;
    const produced =
      source === 'mic'
        ? await send.produce({
            track,
            // opusNack: the SFU asks us to resend audio packets lost on the way to it (Chromium keeps
            // an audio send history when the answer offers NACK). Only the uplink: browsers do not
            // NACK audio they receive, so the downlink relies on FEC. docs/network-quality.md.
            codecOptions: { opusDtx: this.options.opus?.dtx ?? true, opusFec: this.options.opus?.fec ?? true, opusNack: this.options.opus?.nack ?? true },
            codec: this.#codecFor('mic'),
            appData: { source },
            stopTracks: false,
            onRtpSender: (sender) => this.options.frames?.attachSender(sender, 'audio'),
          })
        : await send.produce({
            track,
            ...(this.options.simulcast === false ? {} : { encodings: simulcastEncodings(track) }),
            codec: this.#codecFor('camera'),
            appData: { source },
            stopTracks: false,
            onRtpSender: (sender) => this.options.frames?.attachSender(sender, 'video'),
          });
    this.#producers.set(source, produced);
  }

  /**
   * The codec to send a source in: the room's (sfu.codecs), when this device and the router have
   * it. The microphone: RED unless the room or our options say plain Opus. The camera: before the
   * room said, our option, else H.264 Constrained Baseline with packetization-mode 1. Undefined
   * lets mediasoup-client take the first the device has (Firefox without OpenH264: VP8).
   */
  #codecFor(source: Source): types.RtpCodecCapability | undefined {
    const want =
      source === 'mic'
        ? this.options.red === false
          ? 'audio/opus'
          : (this.#roomCodecs?.audio ?? 'audio/red')
        : (this.#roomCodecs?.video.toLowerCase() ?? this.options.videoCodec ?? 'video/h264');
    return this.#device?.rtpCapabilities.codecs?.find(
      (c) =>
        c.mimeType.toLowerCase() === want &&
        (want !== 'video/h264' ||
          (String(c.parameters?.['profile-level-id']).toLowerCase() === '42e01f' && Number(c.parameters?.['packetization-mode']) === 1)),
    );
  }

  /** A source is sent in another codec than the room's, and this device could send the room's. */
  #wrongCodec(source: Source): boolean {
    const want = this.#codecFor(source);
    return want !== undefined && this.codecOf(source) !== want.mimeType.toLowerCase();
  }

  async #closeProducer(producer: types.Producer, source: Source): Promise<void> {
    producer.close();
    this.#producers.delete(source);
    await this.signaling.request('sfu.closeProducer', { roomId: this.roomId, producerId: producer.id }).catch(() => {});
  }

  #serverPaused(consumerId: string, paused: boolean): void {
    const entry = this.#consumers.get(consumerId);
    if (entry) entry.serverPaused = paused;
  }

  /**
   * A consumer set up in the background. It fails when the session is torn down meanwhile (a
   * reset, a new seat, leaving): reported, never thrown (a bot's Node process would die of it).
   */
  #consumeInBackground(info: ConsumerInfo & { roomId: string }): void {
    this.#consume(info).catch((err: unknown) => {
      if (!this.#closed) this.emit('failure', new Error(`receiving ${info.kind} of ${info.participantId}: ${(err as Error).message}`));
    });
  }

  async #consume(info: ConsumerInfo & { roomId: string }): Promise<void> {
    const recv = this.#recv;
    if (!recv) {
      this.#pending.push(info);
      return;
    }
    if (this.#consumers.has(info.consumerId)) return;
    const consumer = await recv.consume({
      id: info.consumerId,
      producerId: info.producerId,
      kind: info.kind,
      rtpParameters: info.rtpParameters,
      // Before the answer is applied: a transform set later never sees the frames (Chromium).
      onRtpReceiver: (receiver) => this.options.frames?.attachReceiver(receiver, info.participantId, info.kind),
    });
    if (this.#closed || recv !== this.#recv) return consumer.close();
    const entry: ConsumerEntry = { consumer, info, serverPaused: info.paused, participantId: info.participantId, layer: null };
    this.#consumers.set(consumer.id, entry);
    this.emit('track', info.participantId, consumer.track, consumer.rtpReceiver ?? null);
    await this.signaling.request('sfu.resumeConsumer', { roomId: this.roomId, consumerId: consumer.id }).then(
      () => this.emit('consumer', entry),
      (err: unknown) => this.emit('failure', new Error(`resuming ${info.kind} of ${info.participantId}: ${(err as Error).message}`)),
    );
    if (consumer.kind === 'video') await this.#applyLayer(consumer.id, entry);
  }

  #closeConsumer(consumerId: string): void {
    const entry = this.#consumers.get(consumerId);
    if (!entry) {
      this.#pending = this.#pending.filter((p) => p.consumerId !== consumerId);
      return;
    }
    this.#consumers.delete(consumerId);
    entry.consumer.close();
    this.emit('trackEnded', entry.participantId, entry.consumer.track);
  }

  async #applyLayer(consumerId: string, entry: ConsumerEntry): Promise<void> {
    const height = this.#wantedHeight.get(entry.participantId);
    if (height === undefined) return;
    // Layers are 1/4, 1/2 and full resolution of the sender's camera.
    const layer = height <= 160 ? 0 : height <= 320 ? 1 : 2;
    if (entry.layer === layer) return;
    entry.layer = layer;
    await this.signaling.request('sfu.setPreferredLayers', { roomId: this.roomId, consumerId, spatialLayer: layer }).catch(() => {});
  }

  #watch(transport: types.Transport): void {
    this.#states.set(transport.id, 'new');
    transport.on('connectionstatechange', (state) => {
      this.#states.set(transport.id, state as RTCPeerConnectionState);
      this.emit('connection', null, this.state);
      clearTimeout(this.#timers.get(transport.id));
      if (state === 'failed') void this.#restartIce(transport);
      else if (state === 'disconnected') {
        this.#timers.set(
          transport.id,
          setTimeout(() => {
            if (transport.connectionState === 'disconnected') void this.#restartIce(transport);
          }, DISCONNECTED_RESTART_MS),
        );
      }
    });
  }

  async #restartIce(transport: types.Transport): Promise<void> {
    if (this.#closed || transport.closed) return;
    this.iceRestarts++;
    this.emit('failure', new Error(`${transport.direction} transport ${transport.connectionState}; restarting ICE`));
    try {
      const { iceParameters } = await this.signaling.request('sfu.restartIce', { roomId: this.roomId, transportId: transport.id });
      await transport.restartIce({ iceParameters });
    } catch (err) {
      console.warn('SFU ICE restart failed', err);
    }
  }

  #teardown(): void {
    for (const id of [...this.#consumers.keys()]) this.#closeConsumer(id);
    for (const p of this.#producers.values()) p.close();
    this.#producers.clear();
    this.#pending = [];
    this.#send?.close();
    this.#recv?.close();
    this.#send = null;
    this.#recv = null;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#states.clear();
    this.#device = null;
    this.#routerId = null;
    this.#roomCodecs = null;
  }
}

/**
 * Simulcast layers for the camera's size. Chromium caps the layer count by resolution (one below
 * ~480x270, two below 960x540, three from there), and sends only the lowest layers when asked for
 * more, so ask for exactly what it will send: each layer half the size of the next.
 */
/** The lowest simulcast layer's bitrate when there are several (see simulcastEncodings). */
export const FALLBACK_LAYER_BPS = 50_000;

export function simulcastEncodings(track: MediaStreamTrack): RTCRtpEncodingParameters[] {
  const height = track.getSettings().height ?? 480;
  const layers = height >= 540 ? 3 : height >= 360 ? 2 : 1;
  const bitrates = [1_200_000, 500_000, 150_000]; // top layer first
  return Array.from({ length: layers }, (_, i) => {
    const fromTop = layers - 1 - i;
    // The lowest of several layers is the fallback of a receiver on a poor link: small enough
    // that two people's video and everyone's voice fit in ~300 kbit/s (it then slows to 15 fps
    // instead of freezing). docs/network-quality.md.
    if (i === 0 && layers > 1) return { scaleResolutionDownBy: 2 ** fromTop, maxBitrate: FALLBACK_LAYER_BPS, maxFramerate: 15 };
    return { scaleResolutionDownBy: 2 ** fromTop, maxBitrate: bitrates[fromTop]! };
  });
}
