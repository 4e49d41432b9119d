/**
 * A media round trip through the SFU, in the browser and in Node (mediasoup-client on wrtc):
 * join an echo room (the server sends us our own streams back), publish the given tracks,
 * consume them, wait for the first packets, then measure for a few seconds: round trip, jitter,
 * loss, received bitrate, and whether the path is UDP or TCP (direct or through TURN).
 */
import type { Device, types } from 'mediasoup-client';
import type { ConsumerInfo, IceServerInfo } from '@protocol';
import { echoRoomId, type MediaMetrics } from './checks.ts';
import type { SignalingClient } from '../signaling/SignalingClient.ts';
import { selectedPair, type StatsEntry } from '../rtc/selectedPair.ts';

export interface EchoProbeOptions {
  signaling: SignalingClient;
  /** A fresh, unloaded mediasoup-client Device (the caller picks the handler: browser or wrtc). */
  device: Device;
  audio: MediaStreamTrack;
  video: MediaStreamTrack | null;
  /** Prefer this video codec when the router and the device have it. */
  videoCodec?: 'video/h264' | 'video/vp8';
  /** Measurement window once media flows. */
  measureMs: number;
  /** Deadline for the first packet back. */
  firstMediaTimeoutMs: number;
  signal: AbortSignal;
  progress(text: string): void;
  /** Overrides the iceServers of the join reply (tests; Node clients that only want the SFU). */
  iceServers?: IceServerInfo[];
}

export class EchoProbe {
  readonly roomId = echoRoomId();
  #send: types.Transport | null = null;
  #recv: types.Transport | null = null;
  readonly #producers: types.Producer[] = [];
  readonly #consumers: types.Consumer[] = [];
  #off: (() => void)[] = [];
  #joined = false;
  #closed = false;

  constructor(private readonly o: EchoProbeOptions) {}

  async run(): Promise<MediaMetrics> {
    const { signaling, device } = this.o;
    const req = signaling.request.bind(signaling);
    const roomId = this.roomId;
    this.o.progress('joining an echo room on the media server');
    const join = await req('room.join', { roomId, media: { audioMuted: false, videoEnabled: this.o.video !== null } });
    this.#joined = true;
    this.#check();
    const iceServers = (this.o.iceServers ?? join.iceServers) as RTCIceServer[];
    const pending: ConsumerInfo[] = [];
    const consumed: Promise<void>[] = [];
    this.#off.push(
      signaling.onEvent('sfu.newConsumer', (info) => {
        if (info.roomId !== roomId) return;
        if (this.#recv) consumed.push(this.#consume(info));
        else pending.push(info);
      }),
    );

    const { routerRtpCapabilities } = await req('sfu.capabilities', { roomId });
    await device.load({ routerRtpCapabilities });
    this.#check();
    const sendInfo = await req('sfu.createTransport', { roomId, direction: 'send' });
    const send = (this.#send = device.createSendTransport({ ...sendInfo, iceServers }));
    this.#wireConnect(send);
    send.on('produce', ({ kind, rtpParameters, appData }, ok, fail) => {
      req('sfu.produce', { roomId, transportId: send.id, kind, rtpParameters, source: appData['source'] as 'mic' | 'camera' }).then(
        ({ producerId }) => ok({ id: producerId }),
        fail,
      );
    });
    const recvInfo = await req('sfu.createTransport', { roomId, direction: 'recv' });
    this.#recv = device.createRecvTransport({ ...recvInfo, iceServers });
    this.#wireConnect(this.#recv);
    await req('sfu.ready', { roomId, rtpCapabilities: device.rtpCapabilities });
    for (const info of pending.splice(0)) consumed.push(this.#consume(info));

    this.o.progress('publishing a test stream');
    this.#producers.push(await send.produce({ track: this.o.audio, appData: { source: 'mic' }, stopTracks: false }));
    if (this.o.video) {
      const codec = device.rtpCapabilities.codecs?.find(
        (c) =>
          c.mimeType.toLowerCase() === this.o.videoCodec &&
          (this.o.videoCodec !== 'video/h264' ||
            (String(c.parameters?.['profile-level-id']).toLowerCase() === '42e01f' && Number(c.parameters?.['packetization-mode']) === 1)),
      );
      this.#producers.push(await send.produce({ track: this.o.video, appData: { source: 'camera' }, stopTracks: false, ...(codec ? { codec } : {}) }));
    }

    this.o.progress('waiting for our own stream to come back');
    const firstBy = performance.now() + this.o.firstMediaTimeoutMs;
    let first = await this.#sample();
    while (first.audioPackets === 0 && performance.now() < firstBy) {
      this.#check();
      await sleep(200);
      await Promise.allSettled(consumed);
      first = await this.#sample();
    }
    if (first.audioPackets === 0) return { ...this.#empty(), ...first.path };

    const t0 = performance.now();
    const steps = Math.max(1, Math.round(this.o.measureMs / 1000));
    let last = first;
    for (let i = 1; i <= steps; i++) {
      await sleep(this.o.measureMs / steps);
      this.#check();
      last = await this.#sample();
      this.o.progress(`measuring: ${i} of ${steps} s, ${last.audioPackets} audio packets back`);
    }
    const seconds = (performance.now() - t0) / 1000;
    const expected = last.received + last.lost - (first.received + first.lost);
    return {
      ...last.path,
      rttMs: last.rttMs,
      jitterMs: last.jitterMs,
      lossRatio: expected > 0 ? Math.max(0, last.lost - first.lost) / expected : null,
      audioPacketsReceived: last.audioPackets,
      videoFramesDecoded: this.o.video ? last.framesDecoded : null,
      bitrateKbps: seconds > 0 ? ((last.bytes - first.bytes) * 8) / seconds / 1000 : null,
      seconds,
    };
  }

  /** Leaves the echo room and releases transports (the tracks belong to the caller). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#off.splice(0)) off();
    for (const c of this.#consumers) c.close();
    for (const p of this.#producers) p.close();
    this.#send?.close();
    this.#recv?.close();
    if (this.#joined) await this.o.signaling.request('room.leave', { roomId: this.roomId }, 3_000).catch(() => {});
  }

  async #consume(info: ConsumerInfo): Promise<void> {
    const recv = this.#recv;
    if (!recv || this.#closed) return;
    const consumer = await recv.consume({
      id: info.consumerId,
      producerId: info.producerId,
      kind: info.kind,
      rtpParameters: info.rtpParameters,
    });
    if (this.#closed) return consumer.close();
    this.#consumers.push(consumer);
    await this.o.signaling.request('sfu.resumeConsumer', { roomId: this.roomId, consumerId: consumer.id });
  }

  #wireConnect(transport: types.Transport): void {
    transport.on('connect', ({ dtlsParameters }, ok, fail) => {
      this.o.signaling.request('sfu.connectTransport', { roomId: this.roomId, transportId: transport.id, dtlsParameters }).then(() => ok(), fail);
    });
  }

  #check(): void {
    if (this.o.signal.aborted) throw this.o.signal.reason instanceof Error ? this.o.signal.reason : new Error('cancelled');
  }

  #empty(): MediaMetrics {
    return {
      transport: null,
      candidateType: null,
      rttMs: null,
      jitterMs: null,
      lossRatio: null,
      audioPacketsReceived: 0,
      videoFramesDecoded: null,
      bitrateKbps: null,
      seconds: 0,
    };
  }

  /** One look at both transports' statistics. */
  async #sample() {
    const recv = this.#recv ? [...((await this.#recv.getStats()).values() as Iterable<StatsEntry>)] : [];
    const send = this.#send ? [...((await this.#send.getStats()).values() as Iterable<StatsEntry>)] : [];
    let audioPackets = 0;
    let received = 0;
    let lost = 0;
    let bytes = 0;
    let framesDecoded = 0;
    let jitter: number | null = null;
    for (const s of recv) {
      if (s.type !== 'inbound-rtp') continue;
      const kind = s['kind'] ?? s['mediaType'];
      received += Number(s['packetsReceived'] ?? 0);
      lost += Math.max(0, Number(s['packetsLost'] ?? 0));
      bytes += Number(s['bytesReceived'] ?? 0);
      if (kind === 'audio') {
        audioPackets += Number(s['packetsReceived'] ?? 0);
        if (typeof s['jitter'] === 'number') jitter = Math.max(jitter ?? 0, s['jitter'] * 1000);
      } else framesDecoded += Number(s['framesDecoded'] ?? 0);
    }
    const pathOf = (entries: StatsEntry[]) => selectedPath(entries);
    const sendPath = pathOf(send);
    const recvPath = pathOf(recv);
    // The send side's RTCP receiver reports give a round trip too, when ICE has none yet.
    const rr = send.find((s) => s.type === 'remote-inbound-rtp' && typeof s['roundTripTime'] === 'number');
    const rttMs = sendPath.rttMs ?? recvPath.rttMs ?? (rr ? Number(rr['roundTripTime']) * 1000 : null);
    const path = { transport: recvPath.transport ?? sendPath.transport, candidateType: recvPath.candidateType ?? sendPath.candidateType };
    return { audioPackets, received, lost, bytes, framesDecoded, jitterMs: jitter, rttMs, path };
  }
}

/** The selected candidate pair of a transport's stats: protocol to the SFU, type, round trip. */
export function selectedPath(entries: readonly StatsEntry[]): { transport: 'udp' | 'tcp' | null; candidateType: string | null; rttMs: number | null } {
  const pair = selectedPair(entries);
  return { transport: pair?.transport ?? null, candidateType: pair?.localType ?? null, rttMs: pair?.rttMs ?? null };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
