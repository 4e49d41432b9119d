import { randomId, randomSecret } from '../identity/ids.ts';
import type { ParticipantInfo, UserInfo } from '../protocol/index.ts';
import type { ParticipantSnapshot } from './RoomSnapshot.ts';

/** One person's presence in one room, bound to one socket (or none while reconnecting). */
export class Participant {
  readonly id: string = randomId(12);
  readonly handle: string;
  readonly joinedAt: number = Date.now();
  /** Lets the same client take this participant back after its connection dropped. */
  readonly resumeSecret: string = randomSecret();
  name: string;
  audioMuted: boolean;
  videoEnabled: boolean;
  /** A host of this call link (joined with its host secret). */
  host = false;
  /** End-to-end encryption identity key (P-256, base64url); null if this client cannot encrypt. */
  publicKey: string | null = null;
  socketId: string | null;
  /** The cluster node that holds the socket (multi-node deployments). */
  node: string | null;
  #graceTimer: NodeJS.Timeout | null = null;

  constructor(user: UserInfo, name: string, socketId: string, media: { audioMuted: boolean; videoEnabled: boolean }, node: string | null = null) {
    this.handle = user.handle;
    this.name = name;
    this.socketId = socketId;
    this.node = node;
    this.audioMuted = media.audioMuted;
    this.videoEnabled = media.videoEnabled;
  }

  /** A participant taken over from a snapshot (its node died): same id and resume secret. */
  static fromSnapshot(s: ParticipantSnapshot): Participant {
    const p = new Participant({ handle: s.handle, name: s.name }, s.name, s.socketId ?? '', s, s.node);
    Object.assign(p, { id: s.id, joinedAt: s.joinedAt, resumeSecret: s.resumeSecret });
    p.host = s.host;
    p.publicKey = s.publicKey;
    p.socketId = s.socketId;
    return p;
  }

  snapshot(): ParticipantSnapshot {
    return {
      id: this.id,
      handle: this.handle,
      name: this.name,
      socketId: this.socketId,
      node: this.node,
      audioMuted: this.audioMuted,
      videoEnabled: this.videoEnabled,
      joinedAt: this.joinedAt,
      resumeSecret: this.resumeSecret,
      host: this.host,
      publicKey: this.publicKey,
    };
  }

  get connected(): boolean {
    return this.socketId !== null;
  }

  /** The socket went away: keep the seat for `graceMs`, then call `onExpire`. */
  detach(graceMs: number, onExpire: () => void): void {
    this.socketId = null;
    this.#clearTimer();
    this.#graceTimer = setTimeout(onExpire, graceMs);
  }

  attach(socketId: string, node: string | null = this.node): void {
    this.#clearTimer();
    this.socketId = socketId;
    this.node = node;
  }

  info(): ParticipantInfo {
    return {
      id: this.id,
      handle: this.handle,
      name: this.name,
      audioMuted: this.audioMuted,
      videoEnabled: this.videoEnabled,
      joinedAt: this.joinedAt,
      host: this.host,
      publicKey: this.publicKey,
    };
  }

  close(): void {
    this.#clearTimer();
    this.socketId = null;
  }

  #clearTimer(): void {
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    this.#graceTimer = null;
  }
}
