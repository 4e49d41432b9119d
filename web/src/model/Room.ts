/**
 * The call model the UI binds to (Room → Participant → tracks), in the spirit of LiveKit's SDK:
 * it joins through signaling, keeps one PeerLink per remote participant, and turns server events
 * into model events. It never touches the DOM.
 */
import { SignalingError, type IceServerInfo, type ParticipantInfo, type RoomInfo } from '@protocol';
import { Emitter } from '../lib/Emitter.ts';
import type { LocalMedia } from '../rtc/LocalMedia.ts';
import { PeerLink } from '../rtc/PeerLink.ts';
import { relayServersFor, type RelayTransport } from '../rtc/iceServers.ts';
import type { SignalingClient } from '../signaling/SignalingClient.ts';
import { RemoteParticipant } from './RemoteParticipant.ts';

export type RoomState = 'idle' | 'joining' | 'joined' | 'reconnecting' | 'left';

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
};

export interface RoomOptions {
  name?: string;
  /** 'relay' hides our IP address: media only through TURN. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** With relay only: use just this TURN transport (diagnosis, or networks that block UDP). */
  relayTransport?: RelayTransport;
}

export class Room extends Emitter<RoomEvents> {
  state: RoomState = 'idle';
  info: RoomInfo | null = null;
  self: ParticipantInfo | null = null;
  readonly participants = new Map<string, RemoteParticipant>();
  #iceServers: IceServerInfo[] = [];
  #resume: { participantId: string; secret: string } | null = null;
  #unsubscribe: (() => void)[] = [];

  constructor(
    private readonly signaling: SignalingClient,
    readonly id: string,
    readonly media: LocalMedia,
    private readonly options: RoomOptions = {},
  ) {
    super();
  }

  async join(): Promise<void> {
    this.#setState('joining');
    this.#listen();
    try {
      await this.#join();
    } catch (err) {
      this.close();
      throw err;
    }
  }

  async leave(): Promise<void> {
    if (this.state === 'left') return;
    const wasJoined = this.state === 'joined';
    this.close();
    if (wasJoined) await this.signaling.request('room.leave', { roomId: this.id }).catch(() => {});
  }

  /** Stops everything locally (the server already knows, e.g. a 1:1 call that ended). */
  close(): void {
    if (this.state === 'left') return;
    for (const off of this.#unsubscribe.splice(0)) off();
    for (const p of this.participants.values()) p.close();
    this.participants.clear();
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
    await this.media.setVideoEnabled(on);
    await this.#update({ videoEnabled: on });
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
    const res = await this.signaling.request('room.join', {
      roomId: this.id,
      media: { audioMuted: this.media.audioMuted, videoEnabled: this.media.video !== null },
      ...(this.options.name ? { name: this.options.name } : {}),
      ...(this.#resume ? { resume: this.#resume } : {}),
    });
    const resumed = this.self !== null && res.self.id === this.self.id;
    this.#iceServers = res.iceServers;
    this.#resume = { participantId: res.self.id, secret: res.resumeSecret };
    this.self = res.self;
    this.#setInfo(res.room);
    if (!res.self.videoEnabled && this.media.video) await this.media.setVideoEnabled(false);

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
    } else {
      for (const p of [...this.participants.keys()]) this.#removeParticipant(p);
      // We are the newcomer: we make the offers (the others already have their media ready).
      for (const info of res.participants) this.#addParticipant(info, true);
    }
    this.media.on('changed', this.#onLocalMedia);
    this.#setState('joined');
  }

  #listen(): void {
    const s = this.signaling;
    const mine = <T extends { roomId: string }>(fn: (p: T) => void) => (p: T) => {
      if (p.roomId === this.id) fn(p);
    };
    this.#unsubscribe.push(
      s.onEvent('room.participantJoined', mine((p) => this.#addParticipant(p.participant, false))),
      s.onEvent('room.participantLeft', mine((p) => this.#removeParticipant(p.participantId))),
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
        if (p.room.id === this.id) this.#setInfo(p.room);
      }),
      s.onEvent('video.requested', mine((p) => this.emit('videoRequested', { requestId: p.requestId, from: this.participants.get(p.from) ?? null }))),
      s.onEvent('video.responded', mine((p) => this.emit('videoResponded', { accept: p.accept, from: this.participants.get(p.from) ?? null }))),
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
        this.#join().catch((err) => {
          console.warn('rejoin failed', err);
          this.close();
        });
      }),
    );
  }

  #addParticipant(info: ParticipantInfo, initiator: boolean): void {
    if (this.participants.has(info.id) || info.id === this.self?.id) return;
    const rp = new RemoteParticipant(info);
    const link = new PeerLink({
      remoteId: info.id,
      initiator,
      // The newcomer (initiator) is impolite: its first offer wins a collision.
      polite: !initiator,
      iceServers: this.options.relayTransport ? relayServersFor(this.#iceServers, this.options.relayTransport) : this.#iceServers,
      iceTransportPolicy: this.options.relayTransport ? 'relay' : this.options.iceTransportPolicy,
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
  };

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
