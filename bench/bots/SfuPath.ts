/**
 * A bot's media path in a group call: the web app's own SfuSession (the same set-up, consuming,
 * ICE restart and recovery after `sfu.reset` as a browser), on wrtc through mediasoup-client's
 * Chrome111 handler (libwebrtc speaks the same unified-plan SDP). What the bot adds is
 * measuring: packets, loss, jitter and bytes per received stream, and what it sends.
 *
 * Differences from a browser, all for the load test: no ICE servers (the SFU is on loopback),
 * one VP8 layer (libwebrtc in wrtc has no H.264 encoder), Opus without DTX (a steady load), and
 * optionally no audio decoding (wrtc.ts).
 */
import { Device } from 'mediasoup-client';
import { Chrome111 } from 'mediasoup-client/handlers/Chrome111';
import { fixedTracks } from '../../web/src/rtc/fixedTracks.ts';
import { SfuSession, type ConsumedStream } from '../../web/src/rtc/SfuSession.ts';
import type { SignalingClient } from '../../web/src/signaling/SignalingClient.ts';
import {
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

export type { ConsumedStream };

export interface SfuPathHooks {
  /** A stream is set up and resumed. */
  onConsumer(stream: ConsumedStream): void;
  /** A transport failed or something the session did in the background went wrong. */
  onFailure(error: Error): void;
  /** The media server restarted; the session is setting itself up again. */
  onReset(reason: string): void;
}

export class SfuPath implements MediaPath {
  readonly session: SfuSession;

  constructor(
    signaling: SignalingClient,
    roomId: string,
    tracks: { audio: MediaStreamTrack; video: MediaStreamTrack | null },
    /** false: audio is received but not decoded (wrtc.ts), so only the transport counts it. */
    private readonly decodeAudio: boolean,
    hooks: SfuPathHooks,
  ) {
    this.session = new SfuSession(signaling, roomId, fixedTracks(tracks.audio, tracks.video), {
      iceServers: [],
      createDevice: () => new Device({ handlerFactory: Chrome111.createFactory() }),
      videoCodec: 'video/vp8',
      simulcast: false,
      opus: { dtx: false, fec: true },
      ...(decodeAudio ? {} : { recvSettings: { [NO_DECODE]: true } as Partial<RTCConfiguration> }),
    });
    this.session.on('consumer', (stream) => hooks.onConsumer(stream));
    this.session.on('failure', (err) => hooks.onFailure(err));
    this.session.on('reset', (reason) => hooks.onReset(reason));
  }

  get iceRestarts(): number {
    return this.session.iceRestarts;
  }

  /** Sets up both transports and sends the tracks. */
  start(): Promise<void> {
    return this.session.start();
  }

  /**
   * Packets in so far (cheap enough to poll while waiting for media): RTP of the streams when
   * decoding, else every packet of the transport (the SFU sends RTCP about a stream only after
   * its RTP, so the first one is RTP in practice).
   */
  async packetsReceived(): Promise<number> {
    const recv = await this.session.transportStats('recv');
    return this.decodeAudio ? rtpReceived(recv) : transportTotals(recv).packets;
  }

  async path(): Promise<string | null> {
    return selectedPath(await this.session.transportStats('recv'));
  }

  /** Packets and bytes received by the recv transport (every stream, RTP and RTCP). */
  async transportReceived(): Promise<{ packets: number; bytes: number }> {
    return transportTotals(await this.session.transportStats('recv'));
  }

  async inbound(): Promise<InboundStats[]> {
    const recv = await this.session.transportStats('recv');
    const bySsrc = new Map<number, StatsEntry>();
    for (const s of recv) if (s.type === 'inbound-rtp') bySsrc.set(Number(s['ssrc']), s);
    return this.session.streams.map((c) => {
      const ssrc = c.consumer.rtpParameters.encodings?.[0]?.ssrc;
      return {
        consumerId: c.info.consumerId,
        participantId: c.info.participantId,
        kind: c.info.kind,
        source: c.info.source,
        ...inboundCounts(recv, ssrc === undefined ? undefined : bySsrc.get(ssrc)),
        serverPaused: c.serverPaused,
      };
    });
  }

  async outbound(): Promise<OutboundStats[]> {
    return outboundOf(await this.session.transportStats('send'));
  }

  close(): void {
    this.session.close();
  }
}
