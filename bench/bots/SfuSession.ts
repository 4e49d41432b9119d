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
import type { BotSignaling } from './BotSignaling.ts';
import { NO_DECODE } from './wrtc.ts';

export interface ConsumedStream {
  info: ConsumerInfo;
  consumer: types.Consumer;
  ssrc: number | undefined;
  /** The server paused it (the sender paused, or top-K audio left it out). */
  serverPaused: boolean;
}

export interface InboundStats {
  consumerId: string;
  participantId: string;
  kind: 'audio' | 'video';
  source: 'mic' | 'camera';
  /** The codec the packets arrived in, from the receiver's own statistics. */
  codec: string;
  packetsReceived: number;
  packetsLost: number;
  /** Interarrival jitter, ms (RFC 3550, as the receiver computes it). */
  jitterMs: number;
  bytesReceived: number;
  serverPaused: boolean;
}

export interface OutboundStats {
  kind: 'audio' | 'video';
  codec: string;
  packetsSent: number;
  bytesSent: number;
}

export interface SfuSessionHooks {
  /** A consumer is set up and resumed. */
  onConsumer(stream: ConsumedStream): void;
  /** A transport failed or something the session did in the background went wrong. */
  onFailure(error: Error): void;
}

type StatsEntry = Record<string, unknown> & { type: string; id: string };

export class SfuSession {
  readonly consumers = new Map<string, ConsumedStream>();
  #device: Device | null = null;
  #send: types.Transport | null = null;
  #recv: types.Transport | null = null;
  readonly #producers: types.Producer[] = [];
  #closed = false;

  constructor(
    private readonly signaling: BotSignaling,
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
    await device.load({ routerRtpCapabilities: routerRtpCapabilities as types.RtpCapabilities });
    this.#assertOpen();
    this.#device = device;

    const sendInfo = await signaling.request('sfu.createTransport', { roomId, direction: 'send' });
    this.#assertOpen();
    // No ICE servers: the SFU is on loopback and the bots never talk to anything else.
    const send = device.createSendTransport({ ...(sendInfo as types.TransportOptions), iceServers: [] });
    this.#send = send;
    this.#wireConnect(send);
    send.on('produce', ({ kind, rtpParameters, appData }, ok, fail) => {
      const source = (appData as { source: 'mic' | 'camera' }).source;
      signaling.request('sfu.produce', { roomId, transportId: send.id, kind, rtpParameters: rtpParameters as never, source }).then(
        ({ producerId }) => ok({ id: producerId }),
        (err: Error) => fail(err),
      );
    });

    const recvInfo = await signaling.request('sfu.createTransport', { roomId, direction: 'recv' });
    this.#assertOpen();
    const recv = device.createRecvTransport({
      ...(recvInfo as types.TransportOptions),
      iceServers: [],
      ...(this.decodeAudio ? {} : { additionalSettings: { [NO_DECODE]: true } as Partial<RTCConfiguration> }),
    });
    this.#recv = recv;
    this.#wireConnect(recv);
    await signaling.request('sfu.ready', { roomId, rtpCapabilities: device.rtpCapabilities as never });

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
      rtpParameters: info.rtpParameters as types.RtpParameters,
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
    let n = 0;
    for (const s of (await this.#recv.getStats()).values() as Iterable<StatsEntry>) {
      if (this.decodeAudio ? s.type === 'inbound-rtp' : s.type === 'transport') n += Number(s['packetsReceived'] ?? 0);
    }
    return n;
  }

  /** Packets and bytes received by the recv transport (every stream, RTP and RTCP). */
  async transportReceived(): Promise<{ packets: number; bytes: number }> {
    if (!this.#recv || this.#closed) return { packets: 0, bytes: 0 };
    let packets = 0;
    let bytes = 0;
    for (const s of (await this.#recv.getStats()).values() as Iterable<StatsEntry>) {
      if (s.type !== 'transport') continue;
      packets += Number(s['packetsReceived'] ?? 0);
      bytes += Number(s['bytesReceived'] ?? 0);
    }
    return { packets, bytes };
  }

  async inbound(): Promise<InboundStats[]> {
    if (!this.#recv || this.#closed) return [];
    const report = await this.#recv.getStats();
    const entries = [...(report.values() as Iterable<StatsEntry>)];
    const bySsrc = new Map<number, StatsEntry>();
    for (const s of entries) if (s.type === 'inbound-rtp') bySsrc.set(Number(s['ssrc']), s);
    const codecOf = (s: StatsEntry | undefined) => String(entries.find((c) => c.type === 'codec' && c.id === s?.['codecId'])?.['mimeType'] ?? '');
    return [...this.consumers.values()].map((c) => {
      const s = c.ssrc === undefined ? undefined : bySsrc.get(c.ssrc);
      return {
        consumerId: c.info.consumerId,
        participantId: c.info.participantId,
        kind: c.info.kind,
        source: c.info.source,
        codec: codecOf(s),
        packetsReceived: Number(s?.['packetsReceived'] ?? 0),
        packetsLost: Number(s?.['packetsLost'] ?? 0),
        jitterMs: Number(s?.['jitter'] ?? 0) * 1000,
        bytesReceived: Number(s?.['bytesReceived'] ?? 0),
        serverPaused: c.serverPaused,
      };
    });
  }

  async outbound(): Promise<OutboundStats[]> {
    if (!this.#send || this.#closed) return [];
    const entries = [...((await this.#send.getStats()).values() as Iterable<StatsEntry>)];
    return entries
      .filter((s) => s.type === 'outbound-rtp')
      .map((s) => ({
        kind: (s['kind'] ?? s['mediaType']) as 'audio' | 'video',
        codec: String(entries.find((c) => c.type === 'codec' && c.id === s['codecId'])?.['mimeType'] ?? ''),
        packetsSent: Number(s['packetsSent'] ?? 0),
        bytesSent: Number(s['bytesSent'] ?? 0),
      }));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#producers) p.close();
    for (const c of this.consumers.values()) c.consumer.close();
    this.consumers.clear();
    this.#send?.close();
    this.#recv?.close();
    this.#device = null;
  }

  #wireConnect(transport: types.Transport): void {
    transport.on('connect', ({ dtlsParameters }, ok, fail) => {
      this.signaling.request('sfu.connectTransport', { roomId: this.roomId, transportId: transport.id, dtlsParameters: dtlsParameters as never }).then(
        () => ok(),
        (err: Error) => fail(err),
      );
    });
    transport.on('connectionstatechange', (state) => {
      if (state === 'failed' && !this.#closed) this.hooks.onFailure(new Error(`${transport.direction} transport ${state}`));
    });
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('SFU session closed during set-up');
  }
}
