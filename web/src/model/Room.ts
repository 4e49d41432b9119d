/**
 * The call model the UI binds to (Room → Participant → tracks), in the spirit of LiveKit's SDK:
 * it joins through signaling, keeps one PeerLink per remote participant, and turns server events
 * into model events. It never touches the DOM.
 */
import { SignalingError, type IceServerInfo, type LobbyEntryInfo, type ParticipantInfo, type RoomInfo } from '@protocol';
import { Emitter } from '../lib/Emitter.ts';
import { relayServersFor, type RelayTransport } from '../rtc/iceServers.ts';
import type { IceConfig, LocalTracks, MediaPaths, SfuSessionPort, SignalingPort } from './ports.ts';
import { RemoteParticipant } from './RemoteParticipant.ts';

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
};

/** While escalating, how long an SFU stream may take to deliver before we switch anyway. */
const SWITCH_TIMEOUT_MS = 5_000;

export interface RoomOptions {
  name?: string;
  /** 'relay' hides our IP address: media only through TURN. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** With relay only: use just this TURN transport (diagnosis, or networks that block UDP). */
  relayTransport?: RelayTransport;
  /** Call links: the host secret we hold for this room (from `room.create` or an earlier join). */
  hostSecret?: string;
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
  /** The SFU side of a group call (null while the call is peer to peer). */
  session: SfuSessionPort | null = null;

  /**
   * `paths` makes the media paths: the browser's (RTCPeerConnection, mediasoup-client) in the
   * app, fakes in the model's unit tests.
   */
  constructor(
    private readonly signaling: SignalingPort,
    readonly id: string,
    readonly media: M,
    private readonly options: RoomOptions,
    private readonly paths: MediaPaths,
  ) {
    super();
  }

  async join(): Promise<void> {
    this.#setState('joining');
    this.#listen();
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
    this.session?.close();
    this.session = null;
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

  /** Restart ICE on every link (the network changed). */
  restartIce(): void {
    for (const p of this.participants.values()) p.link?.restartIce();
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
    });
    this.#admission = null;
    if (res.hostSecret) this.hostSecret = res.hostSecret;
    const resumed = this.self !== null && res.self.id === this.self.id;
    this.#iceServers = res.iceServers;
    this.#resume = { participantId: res.self.id, secret: res.resumeSecret };
    this.self = res.self;
    this.#setInfo(res.room);
    if (!res.self.videoEnabled && this.media.video) await this.media.setVideoEnabled(false);
    const previousSession = this.session;
    if (res.room.mode === 'sfu') this.#startSession();

    if (resumed) {
      // Same seat: links survive a signaling blip; drop those who left meanwhile, nudge the rest.
      const present = new Set(res.participants.map((p) => p.id));
      for (const p of [...this.participants.values()]) if (!present.has(p.id)) this.#removeParticipant(p.id);
      for (const info of res.participants) {
        const known = this.participants.get(info.id);
        if (known) {
          known.update(info);
          if (known.connection !== 'connected') known.link?.restartIce();
        } else this.#addParticipant(info, true);
      }
      void this.session?.resync().catch((err) => console.warn('SFU resync failed', err));
    } else {
      // A new seat: an SFU session set up for the old one is void.
      if (previousSession) void previousSession.restart().catch((err) => console.warn('SFU restart failed', err));
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
          rp.update(p.participant);
          this.emit('participantUpdated', rp);
        }),
      ),
      s.onEvent('room.updated', (p) => {
        if (p.room.id !== this.id) return;
        this.#setInfo(p.room);
        // A third person is coming: move to the SFU while the P2P links keep playing.
        if (p.room.mode === 'sfu' && this.state !== 'left') this.#startSession();
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
        mine((p) => {
          void this.participants.get(p.from)?.link?.receive(p);
        }),
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
    const rp = new RemoteParticipant(info, this.paths.stream());
    if (this.info?.mode === 'sfu') {
      rp.statsSource = { getStats: () => this.#sfuStats(rp.id) };
      rp.setSfuConnection(this.session?.state ?? 'new');
      this.participants.set(info.id, rp);
      this.emit('participantJoined', rp);
      return;
    }
    const link = this.paths.peerLink({
      remoteId: info.id,
      initiator,
      // The newcomer (initiator) is impolite: its first offer wins a collision.
      polite: !initiator,
      ...this.#iceConfig(),
      send: (signal) => this.signaling.request('rtc.signal', { roomId: this.id, to: info.id, ...signal }).then(() => undefined),
    });
    rp.attach(link);
    link.setLocalTracks(this.media.audio, this.media.video, this.media.stream);
    this.participants.set(info.id, rp);
    this.emit('participantJoined', rp);
  }

  #removeParticipant(id: string): void {
    const rp = this.participants.get(id);
    if (!rp) return;
    this.participants.delete(id);
    this.emit('participantLeft', rp);
    rp.close();
  }

  readonly #onLocalMedia = () => {
    for (const p of this.participants.values()) p.link?.setLocalTracks(this.media.audio, this.media.video, this.media.stream);
    void this.session?.syncProducers();
  };

  /** Group calls: the size a participant's video is shown at chooses the simulcast layer we receive. */
  setPreferredVideoSize(participantId: string, height: number): void {
    this.session?.setPreferredHeight(participantId, height);
  }

  /** ICE settings for every media path of this room (P2P links and the SFU session alike). */
  #iceConfig(): IceConfig {
    const relay = this.options.relayTransport;
    return relay
      ? { iceServers: relayServersFor(this.#iceServers, relay), iceTransportPolicy: 'relay' }
      : { iceServers: this.#iceServers, iceTransportPolicy: this.options.iceTransportPolicy };
  }

  #startSession(): void {
    if (this.session) return;
    const session = this.paths.sfuSession(this.signaling, this.id, this.media, this.#iceConfig());
    this.session = session;
    session.on('track', (pid, track, receiver) => void this.#onSfuTrack(pid, track, receiver));
    session.on('trackEnded', (pid, track) => this.participants.get(pid)?.removeTrack(track));
    session.on('activeSpeaker', (pid) => this.emit('activeSpeaker', pid));
    session.on('state', (state) => {
      for (const p of this.participants.values()) p.setSfuConnection(state);
    });
    session.start().catch((err) => console.warn('SFU set-up failed', err));
  }

  /**
   * Make before break: a participant still on a P2P link keeps it until their SFU stream really
   * delivers (packets for audio, decoded frames for video); then the track is swapped in place
   * and the link closes once every kind they send has switched.
   */
  async #onSfuTrack(pid: string, track: MediaStreamTrack, receiver: RTCRtpReceiver | null): Promise<void> {
    const rp = this.participants.get(pid);
    if (!rp) return;
    if (rp.link && receiver) await waitForMedia(receiver, track.kind, SWITCH_TIMEOUT_MS);
    if (this.participants.get(pid) !== rp || track.readyState === 'ended') return;
    rp.setTrack(track, receiver);
    rp.statsSource = { getStats: () => this.#sfuStats(pid) };
    if (!rp.link) return;
    const kinds = new Set(rp.stream.getTracks().map((t) => t.kind));
    const sfuTracks = new Set(this.session?.consumersOf(pid).map((c) => c.track) ?? []);
    const allSwitched = rp.stream.getTracks().every((t) => sfuTracks.has(t)) && (kinds.has('video') || !rp.info.videoEnabled);
    // The other side may still be switching to our SFU stream: give it a moment.
    if (allSwitched) setTimeout(() => rp.detachLink(), 1_500);
  }

  /** One report with the stats of all of a participant's SFU consumers (and their transport). */
  async #sfuStats(pid: string): Promise<RTCStatsReport> {
    const merged = new Map<string, unknown>();
    for (const c of this.session?.consumersOf(pid) ?? []) (await c.getStats()).forEach((v: { id: string }) => merged.set(v.id, v));
    return merged as unknown as RTCStatsReport;
  }

  async #update(u: { audioMuted?: boolean; videoEnabled?: boolean; name?: string }): Promise<void> {
    if (this.state !== 'joined') return;
    this.self = await this.signaling.request('participant.update', { roomId: this.id, ...u });
    this.emit('localUpdated', this.self);
  }

  #setInfo(info: RoomInfo): void {
    this.info = info;
    this.emit('roomUpdated', info);
  }

  #setState(state: RoomState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }
}

/** Resolves once the receiver got media (audio packets / decoded video frames), or after `timeoutMs`. */
async function waitForMedia(receiver: RTCRtpReceiver, kind: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let flowing = false;
    (await receiver.getStats()).forEach((s: Record<string, unknown>) => {
      if (s['type'] !== 'inbound-rtp') return;
      if (kind === 'audio' ? Number(s['packetsReceived'] ?? 0) > 0 : Number(s['framesDecoded'] ?? 0) > 0) flowing = true;
    });
    if (flowing) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
