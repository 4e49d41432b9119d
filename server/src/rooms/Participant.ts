import { randomBytes } from 'node:crypto';
import { randomId } from '../identity/ids.ts';
import type { ParticipantInfo, UserInfo } from '../protocol/index.ts';

/** One person's presence in one room, bound to one socket (or none while reconnecting). */
export class Participant {
  readonly id = randomId(12);
  readonly handle: string;
  readonly joinedAt = Date.now();
  /** Lets the same client take this participant back after its connection dropped. */
  readonly resumeSecret = randomBytes(18).toString('base64url');
  name: string;
  audioMuted: boolean;
  videoEnabled: boolean;
  socketId: string | null;
  #graceTimer: NodeJS.Timeout | null = null;

  constructor(user: UserInfo, name: string, socketId: string, media: { audioMuted: boolean; videoEnabled: boolean }) {
    this.handle = user.handle;
    this.name = name;
    this.socketId = socketId;
    this.audioMuted = media.audioMuted;
    this.videoEnabled = media.videoEnabled;
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

  attach(socketId: string): void {
    this.#clearTimer();
    this.socketId = socketId;
  }

  info(): ParticipantInfo {
    return {
      id: this.id,
      handle: this.handle,
      name: this.name,
      audioMuted: this.audioMuted,
      videoEnabled: this.videoEnabled,
      joinedAt: this.joinedAt,
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
