/**
 * A headless call participant: the web app's own call model (Room → RemoteParticipant, CallMedia,
 * P2PPath of PeerLinks, SfuSession on mediasoup-client) run on wrtc with generated tracks — a
 * live-encoded Opus voice and optionally a VP8 camera. What the bot adds is measuring: join time
 * (connect → joined), time to first media (first inbound RTP packet, and first decoded audio
 * that is not silence), and per received stream packets, loss, jitter and bytes.
 *
 * Two modes, the two media paths of callwire:
 * - `sfu`: the bot waits until a third person moves the room to the SFU; resolves once its SFU
 *   session publishes.
 * - `p2p`: a call of two; resolves once the link to the other person is connected. A third
 *   person moving the room to the SFU is an error.
 *
 * Differences from a browser, all for the load test (`botMediaPaths`): no ICE servers unless
 * relay-only (everything is on loopback), one VP8 layer (libwebrtc in wrtc has no H.264 encoder),
 * Opus without DTX (a steady load), and optionally no audio decoding (wrtc.ts).
 *
 * `close()` leaves the room and releases the socket, peer connections and sources.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { ConsumerInfo, ParticipantInfo, RoomInfo } from '../../server/src/protocol/index.ts';
import type { MediaPath, MediaPaths } from '../../web/src/model/ports.ts';
import type { RemoteParticipant } from '../../web/src/model/RemoteParticipant.ts';
import { Room } from '../../web/src/model/Room.ts';
import { fixedTracks } from '../../web/src/rtc/fixedTracks.ts';
import { relayServersFor, type RelayTransport } from '../../web/src/rtc/iceServers.ts';
import { P2PPath } from '../../web/src/rtc/P2PPath.ts';
import { PeerLink } from '../../web/src/rtc/PeerLink.ts';
import { SfuSession } from '../../web/src/rtc/SfuSession.ts';
import {
  inboundCounts,
  outboundOf,
  rtpReceived,
  selectedPath,
  transportTotals,
  type InboundStats,
  type OutboundStats,
  type StatsEntry,
} from '../../web/src/rtc/stats.ts';
import { SignalingClient } from '../../web/src/signaling/SignalingClient.ts';
import { AudioGenerator, rms } from './AudioGenerator.ts';
import type { MediaClock } from './MediaClock.ts';
import { VideoGenerator, type VideoOptions } from './VideoGenerator.ts';
import { installWrtcGlobals, NO_DECODE, nonstandard, type WrtcAudioSink } from './wrtc.ts';
import { Device } from 'mediasoup-client';
import { Chrome111 } from 'mediasoup-client/handlers/Chrome111';

export type { InboundStats, OutboundStats };

export interface BotOptions {
  /** callwire server, e.g. http://127.0.0.1:3000 */
  url: string;
  roomId: string;
  /** Display name; also the base of the guest handle. */
  name: string;
  /** Picks the bot's voice (pitch, rhythm) and camera colour. */
  seed: number;
  /** Shared by all bots of the process: drives the live sources. */
  clock: MediaClock;
  /** Which media path the call takes (default `sfu`; `p2p` needs a room of exactly two). */
  mode?: BotMode;
  /**
   * P2P only: relay-only ICE through the TURN server the signaling server hands out, over this
   * transport (as the web app's `relay=udp|tcp`). Without it, loopback host candidates only.
   */
  relay?: RelayTransport | null;
  /** Also send a camera (the room must allow video: 8 people or fewer). */
  video?: VideoOptions | false;
  /**
   * Decode received audio (default true), as a real client does: per-stream statistics (packets,
   * loss, jitter, codec) and the time to the first decoded audio. Off, the packets are received
   * and counted only by the transport (see wrtc.ts): what lets 32 people fit on two cores.
   */
  decodeAudio?: boolean;
}

export type BotMode = 'sfu' | 'p2p';

export type BotEvents = {
  joined: [info: { ms: number; self: ParticipantInfo; room: RoomInfo }];
  /** SFU: transports are up and the bot is producing. P2P: the link to the other person is connected. */
  publishing: [];
  consumer: [info: ConsumerInfo];
  /** First inbound RTP packet of the call (ms since `start()`). */
  firstRtp: [ms: number];
  /** First decoded, non-silent audio frame (ms since `start()`). */
  firstAudio: [ms: number];
  /** The media server restarted: the bot set its SFU session up again. */
  reset: [reason: string];
  /** Something failed after `start()` resolved (a transport, the connection); recorded in stats. */
  failure: [error: Error];
  closed: [];
};

export interface BotStats {
  name: string;
  mode: BotMode;
  roomId: string;
  participantId: string | null;
  /** connect → room.join answered, ms. */
  joinMs: number | null;
  /** start → first inbound RTP packet, ms. */
  firstRtpMs: number | null;
  /** start → first decoded non-silent audio, ms (null when not measured or never heard). */
  firstAudioMs: number | null;
  /**
   * Whether this bot decodes received audio. If not, packets and bytes are the recv transport's
   * (all streams, RTP and RTCP) and loss, jitter and streams with media are unknown (null).
   */
  decoding: boolean;
  /** Open P2P links (0 on the SFU). */
  links: number;
  /** The ICE path media arrives on, e.g. `host udp 127.0.0.1 → host 127.0.0.1` (P2P: to the other bot; SFU: from the SFU). */
  path: string | null;
  /** Streams being received, and how many of them carried packets. */
  streams: number;
  streamsWithMedia: number | null;
  packetsReceived: number;
  packetsLost: number | null;
  /** Mean and max interarrival jitter over received streams that carried packets, ms. */
  jitterMs: number | null;
  maxJitterMs: number | null;
  bytesReceived: number;
  packetsSent: number;
  bytesSent: number;
  sendsVideo: boolean;
  resets: number;
  /** ICE restarts of the current media path after it failed. */
  iceRestarts: number;
  errors: string[];
  inbound: InboundStats[];
  outbound: OutboundStats[];
}

/** How often to look for the first packet while waiting for it (a stats call on the recv side). */
const FIRST_RTP_POLL_MS = 25;
/** −50 dBFS: quieter than any syllable of AudioGenerator, louder than comfort noise. */
const SILENCE_RMS = 0.003;
const MAX_RESETS = 5;

let handleCounter = 0;

export class Bot extends EventEmitter<BotEvents> {
  readonly signaling: SignalingClient;
  readonly audio: AudioGenerator;
  readonly video: VideoGenerator | null;
  /** The web app's call model, on wrtc. */
  readonly room: Room;
  /** The SFU session the model made with this bot's media paths (to know when it publishes). */
  #sfu: SfuSession | null = null;
  #stopSources: (() => void)[] = [];
  #sinks: WrtcAudioSink[] = [];
  #listening = new Set<MediaStreamTrack>();
  #t0 = 0;
  #joinMs: number | null = null;
  #firstRtpMs: number | null = null;
  #firstAudioMs: number | null = null;
  #resets = 0;
  #errors: string[] = [];
  #pollTimer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(readonly options: BotOptions) {
    super();
    installWrtcGlobals();
    const handle = `bot-${process.pid % 10_000}-${++handleCounter}-${Math.random().toString(36).slice(2, 6)}`;
    // The web app's own signaling client: WebSocket only, and no reconnection (a bot that lost
    // its server is a failed bot: the load test reports it rather than hiding it).
    this.signaling = new SignalingClient(
      { guest: { handle: handle.slice(0, 32), name: options.name, key: randomBytes(16).toString('hex') } },
      { url: options.url, transports: ['websocket'], reconnect: false },
    );
    this.audio = new AudioGenerator(options.seed);
    this.video = options.video ? new VideoGenerator(options.seed, options.video) : null;
    this.room = new Room(
      this.signaling,
      options.roomId,
      fixedTracks(this.audio.track, this.video?.track ?? null),
      { name: options.name, quality: false, ...(options.relay ? { relayTransport: options.relay } : {}) },
      this.#mediaPaths(),
    );
  }

  get participantId(): string | null {
    return this.room.self?.id ?? null;
  }

  /** start → first decoded non-silent audio, ms; null until then. */
  get firstAudioMs(): number | null {
    return this.#firstAudioMs;
  }

  get mode(): BotMode {
    return this.options.mode ?? 'sfu';
  }

  /**
   * Connects and joins; resolves once the bot's media path is up: publishing on the SFU, or the
   * P2P link to the other person connected. Rejects if that takes longer than `timeoutMs`.
   */
  async start(timeoutMs = 60_000): Promise<void> {
    this.#t0 = performance.now();
    const { room, signaling, options } = this;
    const p2p = this.mode === 'p2p';
    let ready: (() => void) | null = null;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    // Listen before joining: what a second or third person's join causes can arrive together
    // with the join answer.
    room.on('roomUpdated', (info) => {
      if (info.mode !== 'sfu') return;
      if (p2p) this.#error('the room moved to the SFU (a third person joined): P2P bots need rooms of two');
      else ready?.();
    });
    // Fires for the people already there too (the join answer adds them).
    room.on('participantJoined', (rp) => this.#watch(rp, () => ready?.()));
    room.on('mediaFailure', (err) => this.#error(err.message));
    signaling.on('state', (state) => {
      if (state === 'failed' && !this.#closed) this.#error(`signaling disconnected: ${signaling.lastError?.message ?? 'lost'}`);
    });
    const { iceServers } = await signaling.ready();
    if (options.relay && relayServersFor(iceServers, options.relay).length === 0)
      throw new Error(`the server offers no TURN relay over ${options.relay} (it handed out: ${JSON.stringify(iceServers.map((s) => s.urls))})`);
    await room.join();
    const self = room.self!;
    const info = room.info!;
    this.#joinMs = performance.now() - this.#t0;
    this.emit('joined', { ms: this.#joinMs, self, room: info });
    if (this.video && !self.videoEnabled) this.#error('the room refused video (too many people for cameras); sending voice only');
    if (p2p && info.mode === 'sfu') throw new Error(`room ${options.roomId} is already on the SFU: P2P bots need rooms of two`);
    this.#startSources();

    const up = () => (p2p ? [...room.participants.values()].some((rp) => rp.connection === 'connected') : room.info?.mode === 'sfu');
    if (!up()) {
      let timer: NodeJS.Timeout | undefined;
      const waiting = p2p ? 'no P2P link came up (bots need a second person in the room)' : 'the room did not move to the SFU (SFU bots need 3+ people)';
      await Promise.race([
        isReady,
        new Promise<never>(
          (_, reject) => (timer = setTimeout(() => reject(new Error(`room ${options.roomId}: ${waiting} within ${timeoutMs} ms`)), timeoutMs)),
        ),
      ]).finally(() => clearTimeout(timer));
    }
    if (!p2p) {
      if (!this.#sfu) throw new Error('the room is on the SFU but no SFU session was made');
      await this.#sfu.start();
    }
    this.emit('publishing');
    this.#pollFirstRtp();
  }

  async stats(): Promise<BotStats> {
    const path = this.#path();
    const recv = path ? await path.reports('recv') : [];
    const send = path ? (path.kind === 'p2p' ? recv : await path.reports('send')) : [];
    const entries = recv.flat();
    const inbound: InboundStats[] = (path?.received() ?? []).map((s) => ({
      consumerId: s.id,
      participantId: s.participantId,
      kind: s.kind,
      source: s.source,
      ...inboundCounts(
        entries,
        entries.find((e) => e.type === 'inbound-rtp' && e['trackIdentifier'] === s.track.id),
      ),
      serverPaused: s.serverPaused,
    }));
    const outbound = send.flatMap((r) => outboundOf(r));
    const transport = totals(recv);
    const live = inbound.filter((i) => i.packetsReceived > 0);
    const decoding = this.#decoding;
    const paths = [...new Set(recv.map((r) => selectedPath(r)).filter((p) => p !== null))];
    return {
      name: this.options.name,
      mode: this.mode,
      roomId: this.options.roomId,
      participantId: this.participantId,
      joinMs: this.#joinMs,
      firstRtpMs: this.#firstRtpMs,
      firstAudioMs: this.#firstAudioMs,
      decoding,
      links: [...this.room.participants.values()].filter((p) => this.room.callMedia.p2p?.has(p.id)).length,
      path: paths.join('; ') || null,
      streams: inbound.length,
      streamsWithMedia: decoding ? live.length : null,
      packetsReceived: decoding ? sum(inbound.map((i) => i.packetsReceived)) : transport.packets,
      packetsLost: decoding ? sum(inbound.map((i) => Math.max(0, i.packetsLost))) : null,
      jitterMs: decoding ? (live.length ? sum(live.map((i) => i.jitterMs)) / live.length : 0) : null,
      maxJitterMs: decoding ? Math.max(0, ...live.map((i) => i.jitterMs)) : null,
      bytesReceived: decoding ? sum(inbound.map((i) => i.bytesReceived)) : transport.bytes,
      packetsSent: sum(outbound.map((o) => o.packetsSent)),
      bytesSent: sum(outbound.map((o) => o.bytesSent)),
      sendsVideo: outbound.some((o) => o.kind === 'video'),
      resets: this.#resets,
      iceRestarts: path?.iceRestarts ?? 0,
      errors: [...this.#errors],
      inbound,
      outbound,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopPolling();
    this.#stopSinks();
    if (this.signaling.state === 'connected') await this.room.leave();
    else this.room.close();
    for (const stop of this.#stopSources) stop();
    this.audio.close();
    this.video?.close();
    this.signaling.close();
    this.emit('closed');
    this.removeAllListeners();
  }

  /**
   * The web app's media paths, set up for a bot: loopback only (no STUN; TURN only when asked
   * for relay), VP8 in one layer, Opus without DTX, and optionally no audio decoding.
   */
  #mediaPaths(): MediaPaths {
    const decodeAudio = this.options.decodeAudio ?? true;
    return {
      p2p: (signaling, roomId, media, ice) =>
        new P2PPath(
          signaling,
          roomId,
          media,
          ice.iceTransportPolicy === 'relay' ? ice : { iceServers: [], iceTransportPolicy: undefined },
          (o) => new PeerLink(o),
        ),
      sfu: (signaling, roomId, media) => {
        const session = new SfuSession(signaling, roomId, media, {
          iceServers: [],
          createDevice: () => new Device({ handlerFactory: Chrome111.createFactory() }),
          videoCodec: 'video/vp8',
          simulcast: false,
          opus: { dtx: false, fec: true },
          ...(decodeAudio ? {} : { recvSettings: { [NO_DECODE]: true } as Partial<RTCConfiguration> }),
        });
        session.on('consumer', ({ info }) => this.emit('consumer', info));
        session.on('reset', (reason) => this.#onReset(reason));
        this.#sfu = session;
        return session;
      },
      stream: () => new MediaStream(),
    };
  }

  /** The media path this bot measures: its P2P links, or its SFU session. */
  #path(): MediaPath | null {
    return this.mode === 'p2p' ? this.room.callMedia.p2p : this.room.callMedia.sfu;
  }

  /** Follows a participant through the model: the first voice they send us, and (P2P) their link coming up. */
  #watch(rp: RemoteParticipant, onUp: () => void): void {
    const onMedia = () => {
      for (const t of rp.stream.getAudioTracks()) this.#listenForVoice(t);
    };
    rp.on('media', onMedia);
    onMedia();
    if (this.mode !== 'p2p') return;
    const onConnection = (state: RTCPeerConnectionState) => {
      if (state === 'connected') onUp();
    };
    rp.on('connection', onConnection);
    onConnection(rp.connection);
  }

  /** P2P bots always decode: each receives one voice, and nothing else counts it per stream. */
  get #decoding(): boolean {
    return this.mode === 'p2p' || (this.options.decodeAudio ?? true);
  }

  #startSources(): void {
    if (this.#stopSources.length > 0) return;
    this.#stopSources.push(this.options.clock.add(this.audio, 10));
    if (this.video) this.#stopSources.push(this.options.clock.add(this.video, 1000 / this.video.options.fps));
  }

  /** The media server restarted: the session sets itself up again; a bot gives up after MAX_RESETS. */
  #onReset(reason: string): void {
    if (this.#closed) return;
    this.#resets++;
    this.emit('reset', reason);
    if (this.#resets <= MAX_RESETS) return;
    this.#error(`more than ${MAX_RESETS} SFU resets; giving up`);
    this.room.close();
  }

  /** Decodes a received voice until the first non-silent frame: the time to first audio. */
  #listenForVoice(track: MediaStreamTrack): void {
    if (this.#firstAudioMs !== null || !this.#decoding || this.#closed || this.#listening.has(track)) return;
    this.#listening.add(track);
    const sink = new nonstandard.RTCAudioSink(track);
    this.#sinks.push(sink);
    sink.ondata = ({ samples }) => {
      if (this.#firstAudioMs !== null || rms(samples) < SILENCE_RMS) return;
      this.#firstAudioMs = performance.now() - this.#t0;
      this.emit('firstAudio', this.#firstAudioMs);
      // Stop decoding into JS: the measurement is done.
      setImmediate(() => this.#stopSinks());
    };
  }

  /**
   * Packets in so far: RTP of the streams when decoding, else every packet of the receiving
   * transports (the SFU sends RTCP about a stream only after its RTP, so the first one is RTP in
   * practice).
   */
  async #packetsReceived(): Promise<number> {
    const recv = (await this.#path()?.reports('recv')) ?? [];
    return this.#decoding ? sum(recv.map((r) => rtpReceived(r))) : totals(recv).packets;
  }

  #pollFirstRtp(): void {
    if (this.#firstRtpMs !== null || this.#pollTimer) return;
    const poll = async () => {
      this.#pollTimer = null;
      if (this.#closed) return;
      const n = await this.#packetsReceived().catch(() => 0);
      if (n > 0 && this.#firstRtpMs === null) {
        this.#firstRtpMs = performance.now() - this.#t0;
        this.emit('firstRtp', this.#firstRtpMs);
        return;
      }
      // Bounded by close(): a bot alone in its room keeps polling cheaply until it is closed.
      if (!this.#closed) this.#pollTimer = setTimeout(() => void poll(), FIRST_RTP_POLL_MS);
    };
    this.#pollTimer = setTimeout(() => void poll(), FIRST_RTP_POLL_MS);
  }

  #stopPolling(): void {
    if (this.#pollTimer) clearTimeout(this.#pollTimer);
    this.#pollTimer = null;
  }

  #stopSinks(): void {
    for (const s of this.#sinks.splice(0)) s.stop();
  }

  #error(message: string): void {
    this.#errors.push(message);
    if (this.listenerCount('failure') > 0) this.emit('failure', new Error(message));
  }
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** Packets and bytes received by the transports of several reports. */
function totals(reports: StatsEntry[][]): { packets: number; bytes: number } {
  const t = reports.map((r) => transportTotals(r));
  return { packets: sum(t.map((x) => x.packets)), bytes: sum(t.map((x) => x.bytes)) };
}
