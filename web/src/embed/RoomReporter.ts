/**
 * Turns the Room model (plus ActiveSpeaker and NetworkQuality) into the embed events of
 * contract.ts. It only reads the model, so it keeps working when group calls move to the SFU.
 * Ordering is part of the contract: `joined` comes before the `participant-joined` of people who
 * were already in the room, and `mute-changed` fires only on a real change.
 */
import type { ParticipantInfo } from '@protocol';
import { ActiveSpeaker } from '../model/ActiveSpeaker.ts';
import type { NetworkQuality } from '../model/NetworkQuality.ts';
import type { RemoteParticipant } from '../model/RemoteParticipant.ts';
import type { Room, RoomState } from '../model/Room.ts';
import type { EventMap, EventName, LeaveReason, ParticipantSummary } from './contract.ts';

export type Report = <E extends EventName>(event: E, data: EventMap[E]) => void;

const summary = (info: ParticipantInfo): ParticipantSummary => ({
  id: info.id,
  name: info.name,
  audioMuted: info.audioMuted,
  videoMuted: !info.videoEnabled,
  host: info.host,
});

export class RoomReporter {
  readonly #announced = new Set<string>();
  readonly #mute = new Map<string, string>();
  readonly #off: (() => void)[] = [];
  readonly #speaker: ActiveSpeaker;
  readonly #quality: NetworkQuality | null;
  #joined = false;
  #locked: boolean | null = null;
  #leaveReason: LeaveReason = 'disconnected';

  constructor(
    private readonly room: Room,
    private readonly report: Report,
  ) {
    this.#speaker = new ActiveSpeaker(room);
    // The room's own measurement (the call view shows the same numbers).
    this.#quality = room.quality;
    this.#off.push(
      room.on('state', (s) => this.#onState(s)),
      room.on('participantJoined', (p) => {
        if (room.state === 'joined') this.#announce(p);
      }),
      room.on('participantLeft', (p) => {
        this.#mute.delete(p.id);
        if (this.#announced.delete(p.id)) report('participant-left', { id: p.id, name: p.info.name });
      }),
      room.on('participantUpdated', (p) => this.#muteChanged(p.info, false)),
      room.on('localUpdated', (info) => this.#muteChanged(info, true)),
      room.on('lobby', (entries) => report('lobby', { waiting: entries.map((e) => ({ id: e.id, name: e.name, handle: e.handle })) })),
      room.on('muteRequested', (from) => report('mute-requested', { from: from ? { id: from.id, name: from.info.name } : null })),
      room.on('roomUpdated', (info) => {
        if (this.#locked !== info.locked) {
          const first = this.#locked === null;
          this.#locked = info.locked;
          if (!first || info.locked) report('locked', { locked: info.locked });
        }
      }),
      this.#speaker.on('changed', (p) => report('active-speaker', { id: p?.id ?? null, name: p?.info.name ?? null })),
      ...(this.#quality
        ? [
            this.#quality.on('changed', ({ participant, score, rttMs, loss }) =>
              report('network-quality', {
                id: participant.id,
                score,
                level: score >= 4 ? 'good' : score >= 3 ? 'fair' : 'poor',
                rttMs: rttMs === null ? null : Math.round(rttMs),
                loss,
              }),
            ),
          ]
        : []),
    );
  }

  /** Why the next `left` happens (set just before leaving on purpose). */
  set leaveReason(reason: LeaveReason) {
    this.#leaveReason = reason;
  }

  close(): void {
    for (const off of this.#off.splice(0)) off();
    this.#speaker.close();
  }

  #onState(state: RoomState): void {
    const room = this.room;
    if (state === 'waiting') this.report('waiting', { room: room.id });
    if (state === 'joined') {
      if (!this.#joined && room.self) {
        this.#joined = true;
        this.#mute.set(room.self.id, muteKey(room.self));
        this.report('joined', {
          room: room.id,
          self: summary(room.self),
          participants: [...room.participants.values()].map((p) => summary(p.info)),
          encrypted: room.encrypted,
        });
      }
      // Those who were there when we (re)joined.
      for (const p of room.participants.values()) this.#announce(p);
    } else if (state === 'left' && this.#joined) {
      this.#joined = false;
      this.report('left', { reason: this.#leaveReason });
      this.close();
    }
  }

  #announce(p: RemoteParticipant): void {
    if (this.#announced.has(p.id)) return;
    this.#announced.add(p.id);
    this.#mute.set(p.id, muteKey(p.info));
    this.report('participant-joined', summary(p.info));
  }

  #muteChanged(info: ParticipantInfo, local: boolean): void {
    const key = muteKey(info);
    if (!this.#mute.has(info.id) || this.#mute.get(info.id) === key) return;
    this.#mute.set(info.id, key);
    this.report('mute-changed', { id: info.id, local, audioMuted: info.audioMuted, videoMuted: !info.videoEnabled });
  }
}

function muteKey(info: ParticipantInfo): string {
  return `${info.audioMuted}/${info.videoEnabled}`;
}
