/**
 * The call model the UI binds to (Room → Participant → tracks), in the spirit of LiveKit's SDK:
 * it joins through signaling, knows who is in the call, and turns server events into model
 * events. Media (links, the SFU, the move between them) is CallMedia's. It never touches the
 * DOM; the browser app, the widget and the load-test bots all run it.
 */
import { SignalingError, type IceServerInfo, type LobbyEntryInfo, type ParticipantInfo, type RoomInfo } from '@protocol';
import { Emitter } from '../lib/Emitter.ts';
import { relayServersFor, type RelayTransport } from '../rtc/iceServers.ts';
import { CallMedia } from './CallMedia.ts';
import { RoomKeys } from '../e2ee/RoomKeys.ts';
import type { FrameCounts, IceConfig, KeyAgreement, LocalTracks, MediaPaths, SignalingPort } from './ports.ts';
import type { RemoteParticipant } from './RemoteParticipant.ts';
import { NetworkQuality, type UplinkSample } from './NetworkQuality.ts';
import { QualityReporter } from './QualityReporter.ts';
import { uplinkOf } from '../rtc/stats.ts';

/** Rejoin attempts while the service answers `unavailable` (about 20 s in all). */
const REJOIN_ATTEMPTS = 20;

/** `waiting`: the call is locked and we knocked; a host decides whether we come in. */
export type RoomState = 'idle' | 'joining' | 'waiting' | 'joined' | 'reconnecting' | 'left';

export type RoomEvents = {
  state: [RoomState];
  participantJoined: [RemoteParticipant];
  participantLeft: [RemoteParticipant];
  participantUpdated: [RemoteParticipant];
  /** Room info changed (a voice call became a video call). */
  roomUpdated: [RoomInfo];
  /** Our own participant info changed (mute, camera, name). */
  localUpdated: [ParticipantInfo];
  videoRequested: [{ requestId: string; from: RemoteParticipant | null }];
  videoResponded: [{ accept: boolean; from: RemoteParticipant | null }];
  /** Group calls: the dominant speaker as the SFU hears it. */
  activeSpeaker: [participantId: string | null];
  /** Hosts: who is waiting in the lobby (the whole list). */
  lobby: [LobbyEntryInfo[]];
  /** A host asks us to mute (we decide). */
  muteRequested: [from: RemoteParticipant | null];
  /** A host removed us; the room is left right after. */
  removed: [];
  /** Something the model did by itself failed (e.g. turning the camera on after a video upgrade). */
  error: [Error];
  /** A media path failed and is recovering by itself (an ICE restart, a new SFU session). */
  mediaFailure: [Error];
  /** End-to-end encryption: who holds keys changed (so did the safety code), or it was turned on or off. */
  encryptionChanged: [];
};

export interface RoomOptions {
  name?: string;
  /** 'relay' hides our IP address: media only through TURN. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** With relay only: use just this TURN transport (diagnosis, or networks that block UDP). */
  relayTransport?: RelayTransport;
  /** Call links: the host secret we hold for this room (from `room.create` or an earlier join). */
  hostSecret?: string;
  /**
   * End-to-end encryption: this device's identity key, and the frame transforms the media paths
   * put on every sender and receiver (`paths.frames`). Without it the join carries no identity
   * key, which a server with E2EE=required refuses (`e2ee-required`).
   */
  identity?: KeyAgreement;
  /**
   * Measure link quality (per participant and our own connection) and send call-quality reports
   * to the server. Default on; load-test bots turn it off (dozens of getStats a second).
   */
  quality?: boolean;
}

/** `M`: this device's tracks (the browser's LocalMedia, with device switching, in the app). */
export class Room<M extends LocalTracks = LocalTracks> extends Emitter<RoomEvents> {
  state: RoomState = 'idle';
  info: RoomInfo | null = null;
  self: ParticipantInfo | null = null;
  readonly participants = new Map<string, RemoteParticipant>();
  /** Hosts: who waits in the lobby. */
  lobby: LobbyEntryInfo[] = [];
  /** Set when we are a host: keep it to be host again after a reload. */
  hostSecret: string | null = null;
  #admission: string | null = null;
  #knock: { resolve: (ticket: string) => void; reject: (err: Error) => void } | null = null;
  #iceServers: IceServerInfo[] = [];
  #resume: { participantId: string; secret: string } | null = null;
  #unsubscribe: (() => void)[] = [];
  #frames: MediaPaths['frames'];
  /** Our media to and from the others: P2P links, the SFU, the move between them. */
  readonly callMedia: CallMedia;
  /** End-to-end encryption keys of this call (null without an identity or frame transforms). */
  readonly keys: RoomKeys | null;
  /** How well we hear each participant, and how our own connection is (null with `quality: false`). */
  readonly quality: NetworkQuality | null;
  #reporter: QualityReporter | null = null;

  /**
   * `paths` makes the media paths: the browser's (RTCPeerConnection, mediasoup-client) in the
   * app, fakes in the model's unit tests.
   */
  constructor(
    private readonly signaling: SignalingPort,
    readonly id: string,
    readonly media: M,
    private readonly options: RoomOptions,
    paths: MediaPaths,
  ) {
    super();
    const frames = paths.frames ?? null;
    this.keys = options.identity && frames ? new RoomKeys(signaling, id, options.identity, frames) : null;
    this.keys?.on('changed', () => this.emit('encryptionChanged'));
    this.keys?.on('error', (err) => console.warn('e2ee:', err.message));
    this.#frames = frames;
    this.callMedia = new CallMedia(signaling, id, media, paths, () => this.#iceConfig());
    this.callMedia.on('activeSpeaker', (pid) => this.emit('activeSpeaker', pid));
    this.callMedia.on('failure', (err) => this.emit('mediaFailure', err));
    this.quality = options.quality === false ? null : new NetworkQuality(this, { uplink: () => this.#uplink() });
  }

  /** Our sending side, from the path our media leaves on (the SFU once we use it). */
  async #uplink(): Promise<UplinkSample | null> {
    const path = this.callMedia.sfu ?? this.callMedia.p2p;
    if (!path || this.state !== 'joined') return null;
    return uplinkOf(await path.reports('send'));
  }

  async join(): Promise<void> {
    this.#setState('joining');
    this.#listen();
    if (this.options.quality !== false && !this.#reporter) {
      this.#reporter = new QualityReporter(this, (report) => this.signaling.request('quality.report', report));
    }
    try {
      await this.#join();
    } catch (err) {
      if (!(err instanceof SignalingError) || err.code !== 'room-locked' || this.state === 'left') {
        this.close();
        throw err;
      }
      // A locked call: knock, wait for a host, then come in with the ticket they gave us.
      try {
        await this.#waitInLobby();
        await this.#join();
      } catch (e) {
        this.close();
        throw e;
      }
    }
  }

  /** Media in this call is end-to-end encrypted (every participant encrypts, and the server allows it). */
  get encrypted(): boolean {
    return this.keys !== null && this.info?.e2ee === true;
  }

  /** Frames encrypted, decrypted and dropped so far (null without encryption). */
  frameCounts(): Promise<FrameCounts> | null {
    return this.#frames?.counts() ?? null;
  }

  /** The call's safety code (null when the call is not encrypted): compare it with the others'. */
  async safetyCode(): Promise<string | null> {
    return this.encrypted && this.keys ? this.keys.safetyCode() : null;
  }

  get isHost(): boolean {
    return this.self?.host === true;
  }

  /** Host: lock the call (newcomers wait for a host) or unlock it. */
  async setLocked(locked: boolean): Promise<void> {
    const { room } = await this.signaling.request('room.lock', { roomId: this.id, locked });
    this.#setInfo(room);
  }

  /** Host: let someone waiting in, or turn them away. */
  async admit(lobbyId: string, admit: boolean): Promise<void> {
    this.lobby = this.lobby.filter((e) => e.id !== lobbyId);
    this.emit('lobby', this.lobby);
    await this.signaling.request('room.admit', { roomId: this.id, lobbyId, admit });
  }

  /** Host: remove a participant from the call. */
  async remove(participantId: string): Promise<void> {
    await this.signaling.request('room.remove', { roomId: this.id, participantId });
  }

  /** Host: ask a participant to mute. */
  async requestMute(participantId: string): Promise<void> {
    await this.signaling.request('participant.requestMute', { roomId: this.id, participantId });
  }

  async #waitInLobby(): Promise<void> {
    const ticket = new Promise<string>((resolve, reject) => (this.#knock = { resolve, reject }));
    await this.signaling.request('room.knock', { roomId: this.id, ...(this.options.name ? { name: this.options.name } : {}) });
    this.#setState('waiting');
    try {
      this.#admission = await ticket;
    } finally {
      this.#knock = null;
    }
    this.#setState('joining');
  }

  async leave(): Promise<void> {
    if (this.state === 'left') return;
    const wasJoined = this.state === 'joined';
    const wasWaiting = this.state === 'waiting';
    this.close();
    if (wasJoined) await this.signaling.request('room.leave', { roomId: this.id }).catch(() => {});
    if (wasWaiting) await this.signaling.request('room.knockCancel', { roomId: this.id }).catch(() => {});
  }

  /** Stops everything locally (the server already knows, e.g. a 1:1 call that ended). */
  close(): void {
    if (this.state === 'left') return;
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#knock?.reject(new SignalingError('invalid-state', 'left the call'));
    for (const p of this.participants.values()) p.close();
    this.participants.clear();
    this.callMedia.close();
    this.quality?.close();
    this.#reporter?.close();
    this.keys?.close();
    this.#frames?.close();
    this.media.off('changed', this.#onLocalMedia);
    this.#setState('left');
  }

  async setAudioMuted(muted: boolean): Promise<void> {
    this.media.setAudioMuted(muted);
    await this.#update({ audioMuted: muted });
  }

  /** Turns the camera on or off. In a voice call, use requestVideo() first. */
  async setVideoEnabled(on: boolean): Promise<void> {
    if (on && this.info?.media !== 'video') throw new SignalingError('video-not-allowed', 'this is a voice call: ask to switch to video first');
    if (!on) {
      await this.media.setVideoEnabled(false);
      await this.#update({ videoEnabled: false });
      return;
    }
    // Ask first (a large call refuses cameras), then open the camera.
    await this.#update({ videoEnabled: true });
    try {
      await this.media.setVideoEnabled(true);
    } catch (err) {
      await this.#update({ videoEnabled: false }).catch(() => {});
      throw err;
    }
  }

  async setName(name: string): Promise<void> {
    await this.#update({ name });
  }

  /** Voice → video: asks the others; resolves with the request id. */
  async requestVideo(): Promise<string> {
    const { requestId } = await this.signaling.request('video.request', { roomId: this.id });
    return requestId;
  }

  async respondVideo(requestId: string, accept: boolean): Promise<void> {
    const { room } = await this.signaling.request('video.respond', { roomId: this.id, requestId, accept });
    this.#setInfo(room);
    if (accept) await this.setVideoEnabled(true);
  }

  /** Restart ICE on every media path (the network changed). */
  restartIce(): void {
    this.callMedia.restartIce();
  }

  async #join(): Promise<void> {
    // The secret we were given, or the one this room handed us when we opened it.
    const host = this.hostSecret ?? this.options.hostSecret;
    const res = await this.signaling.request('room.join', {
      roomId: this.id,
      media: { audioMuted: this.media.audioMuted, videoEnabled: this.media.video !== null },
      ...(this.options.name ? { name: this.options.name } : {}),
      ...(this.#resume ? { resume: this.#resume } : {}),
      ...(host ? { host } : {}),
      ...(this.#admission ? { admission: this.#admission } : {}),
      ...(this.keys ? { publicKey: this.keys.publicKey } : {}),
    });
    this.#admission = null;
    if (res.hostSecret) this.hostSecret = res.hostSecret;
    const resumed = this.self !== null && res.self.id === this.self.id;
    this.#iceServers = res.iceServers;
    this.#resume = { participantId: res.self.id, secret: res.resumeSecret };
    this.self = res.self;
    this.#setInfo(res.room);
    // A fresh media key for whoever is here now (also after a rejoin: keys sent meanwhile may be lost).
    this.keys?.start(res.self, res.participants, res.room.e2ee);
    if (!res.self.videoEnabled && this.media.video) await this.media.setVideoEnabled(false);
    const hadSfu = this.callMedia.sfu !== null;
    if (res.room.mode === 'sfu') this.callMedia.useSfu();

    if (resumed) {
      // Same seat: links survive a signaling blip; drop those who left meanwhile, nudge the rest.
      const present = new Set(res.participants.map((p) => p.id));
      for (const p of [...this.participants.values()]) if (!present.has(p.id)) this.#removeParticipant(p.id);
      for (const info of res.participants) {
        const known = this.participants.get(info.id);
        if (known) {
          known.update(info);
          this.callMedia.nudge(known.id);
        } else this.#addParticipant(info, true);
      }
      void this.callMedia.resync().catch((err) => console.warn('SFU resync failed', err));
    } else {
      // A new seat: an SFU session set up for the old one is void.
      if (hadSfu) void this.callMedia.restartSfu().catch((err) => console.warn('SFU restart failed', err));
      for (const p of [...this.participants.keys()]) this.#removeParticipant(p);
      // We are the newcomer: we make the offers (the others already have their media ready).
      for (const info of res.participants) this.#addParticipant(info, true);
    }
    this.media.on('changed', this.#onLocalMedia);
    this.#setState('joined');
  }

  #listen(): void {
    const s = this.signaling;
    const mine =
      <T extends { roomId: string }>(fn: (p: T) => void) =>
      (p: T) => {
        if (p.roomId === this.id) fn(p);
      };
    this.#unsubscribe.push(
      s.onEvent(
        'room.participantJoined',
        mine((p) => this.#addParticipant(p.participant, false)),
      ),
      s.onEvent(
        'room.participantLeft',
        mine((p) => this.#removeParticipant(p.participantId)),
      ),
      s.onEvent(
        'room.participantUpdated',
        mine((p) => {
          const rp = this.participants.get(p.participant.id);
          if (!rp) return;
          this.keys?.updated(p.participant);
          rp.update(p.participant);
          this.emit('participantUpdated', rp);
        }),
      ),
      s.onEvent('room.updated', (p) => {
        if (p.room.id !== this.id) return;
        this.#setInfo(p.room);
        // A third person is coming: move to the SFU while the P2P links keep playing.
        if (p.room.mode === 'sfu' && this.state !== 'left') this.callMedia.useSfu();
      }),
      s.onEvent(
        'room.lobby',
        mine((p) => ((this.lobby = p.lobby), this.emit('lobby', p.lobby))),
      ),
      s.onEvent(
        'room.admitted',
        mine((p) => this.#knock?.resolve(p.ticket)),
      ),
      s.onEvent(
        'room.denied',
        mine(() => this.#knock?.reject(new SignalingError('forbidden', 'The host did not let you in.'))),
      ),
      s.onEvent(
        'room.muteRequested',
        mine((p) => this.emit('muteRequested', this.participants.get(p.from) ?? null)),
      ),
      s.onEvent(
        'room.removed',
        mine(() => {
          this.emit('removed');
          this.close();
        }),
      ),
      s.onEvent(
        'video.requested',
        mine((p) => this.emit('videoRequested', { requestId: p.requestId, from: this.participants.get(p.from) ?? null })),
      ),
      s.onEvent(
        'video.responded',
        mine((p) => {
          // They agreed to video: our camera comes on (the room already allows it by now).
          if (p.accept && !this.media.video)
            void this.setVideoEnabled(true).catch((err: unknown) => this.emit('error', err instanceof Error ? err : new Error(String(err))));
          this.emit('videoResponded', { accept: p.accept, from: this.participants.get(p.from) ?? null });
        }),
      ),
      s.onEvent(
        'rtc.signal',
        mine((p) => this.callMedia.receiveSignal(p)),
      ),
      s.on('state', (st) => {
        if (st === 'reconnecting' && this.state === 'joined') this.#setState('reconnecting');
      }),
      s.on('session', (_session, { reconnected }) => {
        if (!reconnected || this.state === 'left' || this.state === 'joining') return;
        this.#rejoin().catch((err) => {
          console.warn('rejoin failed', err);
          this.close();
        });
      }),
    );
  }

  /**
   * After a reconnection: take our seat back. A service that is briefly `unavailable` (its store
   * is coming back, or a node that ran our room died and another is taking over) is retried.
   */
  async #rejoin(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#join();
      } catch (err) {
        if (!(err instanceof SignalingError) || err.code !== 'unavailable' || attempt >= REJOIN_ATTEMPTS || this.state === 'left') throw err;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  #addParticipant(info: ParticipantInfo, initiator: boolean): void {
    if (this.participants.has(info.id) || info.id === this.self?.id) return;
    this.keys?.joined(info);
    const rp = this.callMedia.add(info, initiator);
    this.participants.set(info.id, rp);
    this.emit('participantJoined', rp);
  }

  #removeParticipant(id: string): void {
    const rp = this.participants.get(id);
    if (!rp) return;
    this.participants.delete(id);
    this.keys?.left(id);
    this.callMedia.remove(id);
    this.emit('participantLeft', rp);
    rp.close();
  }

  readonly #onLocalMedia = () => this.callMedia.syncLocalTracks();

  /** Group calls: the size a participant's video is shown at chooses the simulcast layer we receive. */
  setPreferredVideoSize(participantId: string, height: number): void {
    this.callMedia.setPreferredHeight(participantId, height);
  }

  /** ICE settings for every media path of this room (P2P links and the SFU session alike). */
  #iceConfig(): IceConfig {
    const relay = this.options.relayTransport;
    return relay
      ? { iceServers: relayServersFor(this.#iceServers, relay), iceTransportPolicy: 'relay' }
      : { iceServers: this.#iceServers, iceTransportPolicy: this.options.iceTransportPolicy };
  }

  async #update(u: { audioMuted?: boolean; videoEnabled?: boolean; name?: string }): Promise<void> {
    if (this.state !== 'joined') return;
    this.self = await this.signaling.request('participant.update', { roomId: this.id, ...u });
    this.emit('localUpdated', this.self);
  }

  #setInfo(info: RoomInfo): void {
    const encryptionChanged = this.info !== null && this.info.e2ee !== info.e2ee;
    this.info = info;
    if (encryptionChanged) {
      this.keys?.setEncrypted(info.e2ee);
      this.emit('encryptionChanged');
    }
    this.emit('roomUpdated', info);
  }

  #setState(state: RoomState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }
}
