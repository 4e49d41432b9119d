/**
 * The lobby of a locked call link: who knocked and waits for a host, and the single-use
 * admission tickets hosts hand out. Kept in memory by the room's node only: if that node dies,
 * people waiting knock again (docs/protocol.md, Hosts).
 */
import { randomId, randomSecret } from '../identity/ids.ts';
import { SignalingError, type LobbyEntryInfo, type UserInfo } from '../protocol/index.ts';

export interface LobbyEntry extends LobbyEntryInfo {
  socketId: string;
}

/** At most this many people wait at once; more knocks answer `limit-reached`. */
export const LOBBY_SIZE = 20;
/** An admission ticket is good for one join within this long. */
const TICKET_TTL_MS = 60_000;

export class Lobby {
  readonly #entries = new Map<string, LobbyEntry>();
  readonly #tickets = new Map<string, { handle: string; expiresAt: number }>();

  get size(): number {
    return this.#entries.size;
  }

  /** Adds a knock (the same connection knocking again keeps its place). */
  knock(user: UserInfo, name: string, socketId: string): LobbyEntry {
    for (const e of this.#entries.values()) if (e.socketId === socketId) return e;
    if (this.#entries.size >= LOBBY_SIZE) throw new SignalingError('limit-reached', `${LOBBY_SIZE} people are already waiting for this call's host`);
    const entry: LobbyEntry = { id: randomId(12), handle: user.handle, name, at: Date.now(), socketId };
    this.#entries.set(entry.id, entry);
    return entry;
  }

  /** Removes and returns one entry (a host answered it). */
  take(id: string): LobbyEntry | undefined {
    const e = this.#entries.get(id);
    this.#entries.delete(id);
    return e;
  }

  /** Removes the entries of a connection (it left the lobby or went away); returns whether any were. */
  leave(socketId: string): boolean {
    let any = false;
    for (const [id, e] of this.#entries) {
      if (e.socketId !== socketId) continue;
      this.#entries.delete(id);
      any = true;
    }
    return any;
  }

  /** Empties the lobby, returning who was waiting. */
  drain(): LobbyEntry[] {
    const all = [...this.#entries.values()];
    this.#entries.clear();
    return all;
  }

  /** A single-use ticket that lets `handle` join past the lock. */
  issueTicket(handle: string, now = Date.now()): string {
    for (const [t, v] of this.#tickets) if (v.expiresAt < now) this.#tickets.delete(t);
    const ticket = randomSecret();
    this.#tickets.set(ticket, { handle, expiresAt: now + TICKET_TTL_MS });
    return ticket;
  }

  /**
   * Uses up a ticket issued to `handle`: true when it has not expired. Someone else's ticket does
   * nothing. A plain map look-up: a ticket is 144 random bits, used once and only by its handle,
   * so timing tells an attacker nothing they could use.
   */
  redeem(ticket: string, handle: string, now = Date.now()): boolean {
    const t = this.#tickets.get(ticket);
    if (!t || t.handle !== handle) return false;
    this.#tickets.delete(ticket);
    return t.expiresAt >= now;
  }

  list(): LobbyEntryInfo[] {
    return [...this.#entries.values()].map(({ id, handle, name, at }) => ({ id, handle, name, at }));
  }

  clear(): void {
    this.#entries.clear();
    this.#tickets.clear();
  }
}
