/**
 * A headless call participant. It joins a room through the public signaling protocol as the web
 * app does, sends a live-encoded Opus voice (and optionally a VP8 camera) on wrtc, receives
 * everyone, and measures: join time (connect → joined), time to first media (first inbound RTP
 * packet, and first decoded audio that is not silence), and per received stream packets, loss,
 * jitter and bytes.
 *
 * Two modes, the two media paths of callwire:
 * - `sfu`: the bot waits until a third person moves the room to the SFU, then publishes and
 *   consumes with the web app's own SfuSession (SfuPath: mediasoup-client on wrtc).
 * - `p2p`: a call of two; the bot links directly to the other person with the web app's own
 *   PeerLink over `rtc.signal` (P2PSession). A third person moving the room to the SFU is an error.
 *
 * `close()` leaves the room and releases the socket, peer connections and sources.
 */
import { EventEmitter } from 'node:events';
import type { ConsumerInfo, ParticipantInfo, RoomInfo } from '../../server/src/protocol/index.ts';
import { AudioGenerator, rms } from './AudioGenerator.ts';
import { randomBytes } from 'node:crypto';
import { SignalingClient } from '../../web/src/signaling/SignalingClient.ts';
import type { MediaClock } from './MediaClock.ts';
import { relayServersFor, type RelayTransport } from '../../web/src/rtc/iceServers.ts';
import { P2PSession, type P2PIceConfig } from './P2PSession.ts';
import type { InboundStats, MediaPath, OutboundStats } from './rtpStats.ts';
import { SfuPath, type ConsumedStream } from './SfuPath.ts';
import { VideoGenerator, type VideoOptions } from './VideoGenerator.ts';
import { installWrtcGlobals, nonstandard, type WrtcAudioSink } from './wrtc.ts';

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

/** How often to look for the first packet while waiting for it (a stats call on the recv transport). */
const FIRST_RTP_POLL_MS = 25;
/** −50 dBFS: quieter than any syllable of AudioGenerator, louder than comfort noise. */
const SILENCE_RMS = 0.003;
const MAX_RESETS = 5;

let handleCounter = 0;

export class Bot extends EventEmitter<BotEvents> {
  readonly signaling: SignalingClient;
  readonly audio: AudioGenerator;
  readonly video: VideoGenerator | null;
  #session: SfuPath | null = null;
  #p2p: P2PSession | null = null;
  /** A P2P link reached `connected` (what `start()` waits for in P2P mode). */
  #p2pUp = false;
  #sessionStarting: Promise<void> | null = null;
  #stopSources: (() => void)[] = [];
  #sinks: WrtcAudioSink[] = [];
  #t0 = 0;
  #joinMs: number | null = null;
  #firstRtpMs: number | null = null;
  #firstAudioMs: number | null = null;
  #participantId: string | null = null;
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
  }

  get participantId(): string | null {
    return this.#participantId;
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
    const { signaling, options } = this;
    const p2p = this.mode === 'p2p';
    // Listen before joining: the join answer and what a second or third person's join causes
    // (room.updated, participantJoined, their first offer) can arrive in one read, before the
    // code after `await room.join` runs.
    let sfuMode = false;
    let ready: (() => void) | null = null;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    signaling.onEvent('room.updated', ({ room }) => {
      if (room.id !== options.roomId || room.mode !== 'sfu' || sfuMode) return;
      sfuMode = true;
      if (p2p) this.#error('the room moved to the SFU (a third person joined): P2P bots need rooms of two');
      else ready?.();
    });
    this.#listen();
    await signaling.ready();
    if (p2p) this.#openP2P(await this.#p2pIce(), () => ready?.());
    const joined = await signaling.request('room.join', {
      roomId: options.roomId,
      name: options.name,
      media: { audioMuted: false, videoEnabled: this.video !== null },
    });
    this.#joinMs = performance.now() - this.#t0;
    this.#participantId = joined.self.id;
    this.emit('joined', { ms: this.#joinMs, self: joined.self, room: joined.room });
    if (this.video && !joined.self.videoEnabled) this.#error('the room refused video (too many people for cameras); sending voice only');
    if (p2p) {
      if (joined.room.mode === 'sfu') throw new Error(`room ${options.roomId} is already on the SFU: P2P bots need rooms of two`);
      // We are the newcomer: we offer to whoever is there (as the web app's Room does).
      for (const p of joined.participants) this.#p2p?.connect(p.id, true);
    } else if (joined.room.mode === 'sfu') sfuMode = true;

    if (!(p2p ? this.#p2pUp : sfuMode)) {
      let timer: NodeJS.Timeout | undefined;
      const waiting = p2p ? 'no P2P link came up (bots need a second person in the room)' : 'the room did not move to the SFU (SFU bots need 3+ people)';
      await Promise.race([
        isReady,
        new Promise<never>(
          (_, reject) => (timer = setTimeout(() => reject(new Error(`room ${options.roomId}: ${waiting} within ${timeoutMs} ms`)), timeoutMs)),
        ),
      ]).finally(() => clearTimeout(timer));
    }
    if (!p2p) await this.#startSession();
  }

  async stats(): Promise<BotStats> {
    const s = this.#media();
    const inbound = s ? await s.inbound() : [];
    const outbound = s ? await s.outbound() : [];
    const transport = s ? await s.transportReceived() : { packets: 0, bytes: 0 };
    const live = inbound.filter((i) => i.packetsReceived > 0);
    const decoding = this.#decoding;
    return {
      name: this.options.name,
      mode: this.mode,
      roomId: this.options.roomId,
      participantId: this.#participantId,
      joinMs: this.#joinMs,
      firstRtpMs: this.#firstRtpMs,
      firstAudioMs: this.#firstAudioMs,
      decoding,
      links: this.#p2p?.remotes.length ?? 0,
      path: s ? await s.path() : null,
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
      iceRestarts: s?.iceRestarts ?? 0,
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
    if (this.signaling.state === 'connected' && this.#participantId) {
      await this.signaling.request('room.leave', { roomId: this.options.roomId }).catch(() => {});
    }
    this.#session?.close();
    this.#session = null;
    this.#p2p?.close();
    this.#p2p = null;
    for (const stop of this.#stopSources) stop();
    this.audio.close();
    this.video?.close();
    this.signaling.close();
    this.emit('closed');
    this.removeAllListeners();
  }

  #listen(): void {
    const { signaling, options } = this;
    const mine = (p: { roomId: string }) => p.roomId === options.roomId;
    // SFU: the session (the web app's) consumes, follows server pauses and recovers from
    // `sfu.reset` by itself; the bot only counts resets (#onReset).
    // P2P: links follow the room's people; the server relays each one's offers and candidates.
    signaling.onEvent('room.participantJoined', ({ roomId, participant }) => {
      if (roomId === options.roomId && participant.id !== this.#participantId) this.#p2p?.connect(participant.id, false);
    });
    signaling.onEvent('room.participantLeft', (p) => mine(p) && this.#p2p?.disconnect(p.participantId));
    signaling.onEvent('rtc.signal', (signal) => mine(signal) && this.#p2p?.receive(signal));
    signaling.on('state', (state) => {
      if (state === 'failed' && !this.#closed) this.#error(`signaling disconnected: ${signaling.lastError?.message ?? 'lost'}`);
    });
  }

  async #startSession(): Promise<void> {
    if (this.#sessionStarting) return this.#sessionStarting;
    const tracks = { audio: this.audio.track, video: this.video?.track ?? null };
    const session = new SfuPath(this.signaling, this.options.roomId, tracks, this.options.decodeAudio ?? true, {
      onConsumer: (stream) => this.#onConsumer(stream),
      onFailure: (err) => this.#error(err.message),
      onReset: (reason) => this.#onReset(reason),
    });
    this.#session = session;
    this.#sessionStarting = (async () => {
      try {
        await session.start();
      } catch (err) {
        session.close();
        if (this.#session === session) this.#session = null;
        throw err;
      } finally {
        this.#sessionStarting = null;
      }
      this.#startSources();
      this.emit('publishing');
      this.#pollFirstRtp();
    })();
    return this.#sessionStarting;
  }

  /** Bots never talk to anything but this machine: no STUN, and TURN only when asked for. */
  async #p2pIce(): Promise<P2PIceConfig> {
    const relay = this.options.relay;
    if (!relay) return { iceServers: [] };
    const { iceServers } = await this.signaling.ready();
    const servers = relayServersFor(iceServers, relay);
    if (servers.length === 0)
      throw new Error(`the server offers no TURN relay over ${relay} (it handed out: ${JSON.stringify(iceServers.map((s) => s.urls))})`);
    return { iceServers: servers, iceTransportPolicy: 'relay' };
  }

  /** Created before the join, so that links opened by events racing the join answer have a home. */
  #openP2P(ice: P2PIceConfig, onUp: () => void): void {
    this.#p2p = new P2PSession(this.signaling, this.options.roomId, { audio: this.audio.track, video: this.video?.track ?? null }, ice, {
      onTrack: (_remoteId, track) => {
        if (track.kind === 'audio') this.#listenForVoice(track);
      },
      onConnected: () => {
        if (this.#p2pUp) return;
        this.#p2pUp = true;
        this.emit('publishing');
        this.#pollFirstRtp();
        onUp();
      },
      onFailure: (err) => this.#error(err.message),
    });
    this.#startSources();
  }

  /** The media path in use (P2P links or the SFU session). */
  #media(): MediaPath | null {
    return this.#p2p ?? this.#session;
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
    this.#session?.close();
    this.#session = null;
  }

  #onConsumer({ info, consumer }: ConsumedStream): void {
    this.emit('consumer', info);
    if (info.kind === 'audio') this.#listenForVoice(consumer.track);
  }

  /** Decodes a received voice until the first non-silent frame: the time to first audio. */
  #listenForVoice(track: MediaStreamTrack): void {
    if (this.#firstAudioMs !== null || !this.#decoding || this.#closed) return;
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

  #pollFirstRtp(): void {
    if (this.#firstRtpMs !== null || this.#pollTimer) return;
    const poll = async () => {
      this.#pollTimer = null;
      const session = this.#media();
      if (this.#closed || !session) return;
      const n = await session.packetsReceived().catch(() => 0);
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
