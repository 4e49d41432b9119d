/**
 * One SFU session of a bot, as the browser client does it with mediasoup-client: load a Device
 * with the router's codecs, one send and one recv WebRtcTransport, produce the microphone (and
 * camera), tell the server it is ready, then consume whatever it pushes. Runs on wrtc through
 * mediasoup-client's own Chrome111 handler (libwebrtc speaks the same unified-plan SDP).
 * A new session is made after `sfu.reset` (the router is gone); `close()` releases everything.
 */
import { Device, type types } from 'mediasoup-client';
import { Chrome111 } from 'mediasoup-client/handlers/Chrome111';
import type { ConsumerInfo } from '../../server/src/protocol/index.ts';
import type { SignalingClient } from '../../web/src/signaling/SignalingClient.ts';
import {
  entriesOf,
  inboundCounts,
  outboundOf,
  rtpReceived,
  selectedPath,
  transportTotals,
  type InboundStats,
  type MediaPath,
  type OutboundStats,
  type StatsEntry,
} from './rtpStats.ts';
import { NO_DECODE } from './wrtc.ts';

export type { InboundStats, OutboundStats } from './rtpStats.ts';

export interface ConsumedStream {
  info: ConsumerInfo;
  consumer: types.Consumer;
  ssrc: number | undefined;
  /** The server paused it (the sender paused, or top-K audio left it out). */
  serverPaused: boolean;
}

export interface SfuSessionHooks {
  /** A consumer is set up and resumed. */
  onConsumer(stream: ConsumedStream): void;
  /** A transport failed or something the session did in the background went wrong. */
  onFailure(error: Error): void;
}

export class SfuSession implements MediaPath {
  readonly consumers = new Map<string, ConsumedStream>();
  /** ICE restarts after a failed transport. */
  iceRestarts = 0;
  #send: types.Transport | null = null;
  #recv: types.Transport | null = null;
  readonly #producers: types.Producer[] = [];
  #closed = false;

  constructor(
    private readonly signaling: SignalingClient,
    private readonly roomId: string,
    /** false: audio is received but not decoded (wrtc.ts), so only the transport counts it. */
    private readonly decodeAudio: boolean,
    private readonly hooks: SfuSessionHooks,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  /** Sets up both transports and sends the given tracks. */
  async start(tracks: { audio: MediaStreamTrack; video: MediaStreamTrack | null }): Promise<void> {
    const { roomId, signaling } = this;
    const { routerRtpCapabilities } = await signaling.request('sfu.capabilities', { roomId });
    const device = new Device({ handlerFactory: Chrome111.createFactory() });
    await device.load({ routerRtpCapabilities });
    this.#assertOpen();

    const sendInfo = await signaling.request('sfu.createTransport', { roomId, direction: 'send' });
    this.#assertOpen();
    // No ICE servers: the SFU is on loopback and the bots never talk to anything else.
    const send = device.createSendTransport({ ...sendInfo, iceServers: [] });
    this.#send = send;
    this.#wireConnect(send);
    send.on('produce', ({ kind, rtpParameters, appData }, ok, fail) => {
      const source = (appData as { source: 'mic' | 'camera' }).source;
      signaling.request('sfu.produce', { roomId, transportId: send.id, kind, rtpParameters, source }).then(
        ({ producerId }) => ok({ id: producerId }),
        (err: Error) => fail(err),
      );
    });

    const recvInfo = await signaling.request('sfu.createTransport', { roomId, direction: 'recv' });
    this.#assertOpen();
    const recv = device.createRecvTransport({
      ...recvInfo,
      iceServers: [],
      ...(this.decodeAudio ? {} : { additionalSettings: { [NO_DECODE]: true } as Partial<RTCConfiguration> }),
    });
    this.#recv = recv;
    this.#wireConnect(recv);
    await signaling.request('sfu.ready', { roomId, rtpCapabilities: device.rtpCapabilities });

    this.#producers.push(await send.produce({ track: tracks.audio, appData: { source: 'mic' } }));
    if (tracks.video) {
      // VP8 explicitly: the router prefers H.264, which libwebrtc in wrtc cannot encode.
      const vp8 = device.rtpCapabilities.codecs?.find((c) => c.mimeType.toLowerCase() === 'video/vp8');
      this.#producers.push(await send.produce({ track: tracks.video, appData: { source: 'camera' }, ...(vp8 ? { codec: vp8 } : {}) }));
    }
  }

  /** `sfu.newConsumer`: receive it, then ask the server to resume it. */
  async consume(info: ConsumerInfo): Promise<void> {
    const recv = this.#recv;
    if (!recv || this.#closed) return;
    const consumer = await recv.consume({
      id: info.consumerId,
      producerId: info.producerId,
      kind: info.kind,
      rtpParameters: info.rtpParameters,
    });
    if (this.#closed) return consumer.close();
    const stream: ConsumedStream = { info, consumer, ssrc: consumer.rtpParameters.encodings?.[0]?.ssrc, serverPaused: info.paused };
    this.consumers.set(info.consumerId, stream);
    await this.signaling.request('sfu.resumeConsumer', { roomId: this.roomId, consumerId: info.consumerId });
    this.hooks.onConsumer(stream);
  }

  closeConsumer(consumerId: string): void {
    this.consumers.get(consumerId)?.consumer.close();
    this.consumers.delete(consumerId);
  }

  setServerPaused(consumerId: string, paused: boolean): void {
    const s = this.consumers.get(consumerId);
    if (s) s.serverPaused = paused;
  }

  /**
   * Packets in so far (cheap enough to poll while waiting for media): RTP of the streams when
   * decoding, else every packet of the transport (the SFU sends RTCP about a stream only after
   * its RTP, so the first one is RTP in practice).
   */
  async packetsReceived(): Promise<number> {
    if (!this.#recv || this.#closed) return 0;
    const entries = entriesOf(await this.#recv.getStats());
    return this.decodeAudio ? rtpReceived(entries) : transportTotals(entries).packets;
  }

  async path(): Promise<string | null> {
    if (!this.#recv || this.#closed) return null;
    return selectedPath(entriesOf(await this.#recv.getStats()));
  }

  /** Packets and bytes received by the recv transport (every stream, RTP and RTCP). */
  async transportReceived(): Promise<{ packets: number; bytes: number }> {
    if (!this.#recv || this.#closed) return { packets: 0, bytes: 0 };
    return transportTotals(entriesOf(await this.#recv.getStats()));
  }

  async inbound(): Promise<InboundStats[]> {
    if (!this.#recv || this.#closed) return [];
    const entries = entriesOf(await this.#recv.getStats());
    const bySsrc = new Map<number, StatsEntry>();
    for (const s of entries) if (s.type === 'inbound-rtp') bySsrc.set(Number(s['ssrc']), s);
    return [...this.consumers.values()].map((c) => ({
      consumerId: c.info.consumerId,
      participantId: c.info.participantId,
      kind: c.info.kind,
      source: c.info.source,
      ...inboundCounts(entries, c.ssrc === undefined ? undefined : bySsrc.get(c.ssrc)),
      serverPaused: c.serverPaused,
    }));
  }

  async outbound(): Promise<OutboundStats[]> {
    if (!this.#send || this.#closed) return [];
    return outboundOf(entriesOf(await this.#send.getStats()));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#producers) p.close();
    for (const c of this.consumers.values()) c.consumer.close();
    this.consumers.clear();
    this.#send?.close();
    this.#recv?.close();
  }

  #wireConnect(transport: types.Transport): void {
    transport.on('connect', ({ dtlsParameters }, ok, fail) => {
      this.signaling.request('sfu.connectTransport', { roomId: this.roomId, transportId: transport.id, dtlsParameters }).then(
        () => ok(),
        (err: Error) => fail(err),
      );
    });
    transport.on('connectionstatechange', (state) => {
      if (state !== 'failed' || this.#closed) return;
      // As the web app does: new ICE credentials from the server, then ICE again on this side.
      this.iceRestarts++;
      this.hooks.onFailure(new Error(`${transport.direction} transport failed; restarting ICE`));
      this.signaling
        .request('sfu.restartIce', { roomId: this.roomId, transportId: transport.id })
        .then(({ iceParameters }) => (this.#closed || transport.closed ? undefined : transport.restartIce({ iceParameters })))
        .catch((err: Error) => this.hooks.onFailure(new Error(`${transport.direction} transport ICE restart: ${err.message}`)));
    });
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('SFU session closed during set-up');
  }
}
