/**
 * Who is connected, on how many devices, and when each user was last seen.
 * Emits `presence` whenever a user goes online or offline.
 */
import { EventEmitter } from 'node:events';
import type { PresenceInfo, UserInfo } from '../protocol/index.ts';

interface UserRecord {
  info: UserInfo;
  sockets: Set<string>;
  lastSeen: number | null;
}

export type UserDirectoryEvents = {
  presence: [PresenceInfo];
};

export class UserDirectory extends EventEmitter<UserDirectoryEvents> {
  readonly #users = new Map<string, UserRecord>();

  /** Returns true when this is the user's first connected device (they just came online). */
  connect(user: UserInfo, socketId: string): boolean {
    const rec = this.#users.get(user.handle) ?? { info: user, sockets: new Set<string>(), lastSeen: null };
    rec.info = user; // the newest device's display name wins
    const cameOnline = rec.sockets.size === 0;
    rec.sockets.add(socketId);
    this.#users.set(user.handle, rec);
    if (cameOnline) this.emit('presence', this.#presenceOf(rec));
    return cameOnline;
  }

  /** Returns true when this was the user's last device (they just went offline). */
  disconnect(handle: string, socketId: string): boolean {
    const rec = this.#users.get(handle);
    if (!rec || !rec.sockets.delete(socketId)) return false;
    if (rec.sockets.size > 0) return false;
    rec.lastSeen = Date.now();
    this.emit('presence', this.#presenceOf(rec));
    return true;
  }

  isKnown(handle: string): boolean {
    return this.#users.has(handle);
  }

  isOnline(handle: string): boolean {
    return (this.#users.get(handle)?.sockets.size ?? 0) > 0;
  }

  socketsOf(handle: string): string[] {
    return [...(this.#users.get(handle)?.sockets ?? [])];
  }

  /**
   * Forgets users offline for longer than `maxOfflineMs`, and the longest-offline ones beyond
   * `maxUsers`, so the directory of everyone ever seen cannot grow without bound. Returns the
   * handles forgotten.
   */
  sweep(maxOfflineMs: number, maxUsers: number, now = Date.now()): string[] {
    const offline = [...this.#users.values()].filter((r) => r.sockets.size === 0).sort((a, b) => (a.lastSeen ?? 0) - (b.lastSeen ?? 0));
    const excess = Math.max(0, this.#users.size - maxUsers);
    const gone: string[] = [];
    for (const [i, r] of offline.entries()) {
      if (i < excess || now - (r.lastSeen ?? 0) > maxOfflineMs) {
        this.#users.delete(r.info.handle);
        gone.push(r.info.handle);
      }
    }
    return gone;
  }

  get size(): number {
    return this.#users.size;
  }

  info(handle: string): UserInfo | null {
    return this.#users.get(handle)?.info ?? null;
  }

  presence(handle: string): PresenceInfo {
    const rec = this.#users.get(handle);
    return rec ? this.#presenceOf(rec) : { handle, name: handle, online: false, lastSeen: null };
  }

  get onlineCount(): number {
    let n = 0;
    for (const r of this.#users.values()) if (r.sockets.size > 0) n++;
    return n;
  }

  close(): void {
    this.#users.clear();
    this.removeAllListeners();
  }

  #presenceOf(rec: UserRecord): PresenceInfo {
    const online = rec.sockets.size > 0;
    return { ...rec.info, online, lastSeen: online ? null : rec.lastSeen };
  }
}
