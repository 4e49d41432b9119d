import { randomId, randomSecret } from '../identity/ids.ts';
import { Lobby } from './Lobby.ts';
import { SignalingError, type RequestOf, type RoomInfo } from '../protocol/index.ts';
import { Participant } from './Participant.ts';
import type { RoomSnapshot } from './RoomSnapshot.ts';

/** Group-call limits; null when there is no SFU (rooms then hold two people, peer to peer). */
export interface RoomLimits {
  maxVoice: number;
  maxVideo: number;
}

export interface RoomOptions {
  id: string;
  kind: RoomInfo['kind'];
  media: RoomInfo['media'];
  limits: RoomLimits | null;
  /** Throws a SignalingError when this handle may not join (1:1 call rooms). */
  admit?: (handle: string) => void;
  /** 1:1 call rooms: the only two handles that may enter (kept in snapshots). */
  allowed?: string[];
  /** The server's end-to-end encryption policy (E2EE; default `required`). */
  e2ee?: E2eeMode;
}

export type E2eeMode = 'required' | 'preferred' | 'off';

const VIDEO_REQUEST_TTL_MS = 60_000;

/**
 * A room: who is in it, what media it allows, and the offer/answer order between each pair
 * of participants, so an out-of-order SDP message is refused instead of confusing a peer.
 */
export class Room {
  readonly id: string;
  readonly kind: RoomInfo['kind'];
  readonly limits: RoomLimits | null;
  media: RoomInfo['media'];
  /** Two people talk peer to peer; the third arrival moves everyone to the SFU for good. */
  mode: RoomInfo['mode'] = 'p2p';
  readonly participants = new Map<string, Participant>();
  readonly #admit: ((handle: string) => void) | undefined;
  readonly #allowed: string[] | null;
  /** `${from}>${to}`: `from` sent an offer that `to` has not answered yet. */
  readonly #pendingOffers = new Set<string>();
  /** `${from}>${to}`: `from` has sent `to` at least one description, so candidates may follow. */
  readonly #described = new Set<string>();
  readonly #videoRequests = new Map<string, { from: string; expiresAt: number }>();
  /**
   * Call links: whoever joins with this secret is a host. Made when the link is created
   * (`room.create`), or when its first person opens it by joining.
   */
  hostSecret: string | null = null;
  /** A host locked the call: newcomers knock and wait in the lobby. */
  locked = false;
  /** Handles a host removed: they must knock to come back, and cannot while the call is locked. */
  readonly removed = new Set<string>();
  readonly lobby = new Lobby();
  readonly e2eeMode: E2eeMode;

  constructor(options: RoomOptions) {
    this.e2eeMode = options.e2ee ?? 'required';
    this.id = options.id;
    this.kind = options.kind;
    this.media = options.media;
    // 1:1 calls by handle only ever admit their two parties.
    this.limits = options.kind === 'call' ? null : options.limits;
    this.#admit = options.admit;
    this.#allowed = options.allowed ?? null;
    // An echo room exists to test the media path through the SFU, so it starts there.
    if (options.kind === 'echo') this.mode = 'sfu';
  }

  info(): RoomInfo {
    return { id: this.id, kind: this.kind, media: this.media, mode: this.mode, maxParticipants: this.capacity, locked: this.locked, e2ee: this.e2ee };
  }

  /** Media here is end-to-end encrypted: the server allows it and everyone has an identity key. */
  get e2ee(): boolean {
    if (this.e2eeMode === 'off') return false;
    for (const p of this.participants.values()) if (!p.publicKey) return false;
    return true;
  }

  /** Voice calls hold more people than calls where someone has a camera on. */
  get capacity(): number {
    if (this.kind === 'echo') return 1;
    if (!this.limits) return 2;
    const video = [...this.participants.values()].some((p) => p.videoEnabled);
    return video ? this.limits.maxVideo : this.limits.maxVoice;
  }

  /** Throws room-full (or forbidden) when this handle may not join now. */
  admit(handle: string): void {
    this.#admit?.(handle);
    if (this.#allowed && !this.#allowed.includes(handle)) throw new SignalingError('forbidden', 'this call room is only for its caller and callee');
    if (this.participants.size >= this.capacity) {
      const why = this.limits ? '' : this.kind === 'call' ? ' — this is a 1:1 call' : ' — group calls need the SFU, which is not running';
      throw new SignalingError('room-full', `call is full (${this.capacity} people)${why}`);
    }
  }

  /** Gives this call link a host secret (once). */
  makeHostSecret(): string {
    this.hostSecret ??= randomSecret();
    return this.hostSecret;
  }

  /** Connected hosts, whom lobby news goes to. */
  hosts(): Participant[] {
    return [...this.participants.values()].filter((p) => p.host && p.connected);
  }

  /** A camera may be on only while the room is small enough for video. */
  checkVideoAllowed(): void {
    if (this.limits && this.participants.size > this.limits.maxVideo) {
      throw new SignalingError('video-not-allowed', `video is limited to calls of ${this.limits.maxVideo} people or fewer`);
    }
  }

  add(p: Participant): void {
    this.participants.set(p.id, p);
  }

  remove(participantId: string): Participant | undefined {
    const p = this.participants.get(participantId);
    if (!p) return undefined;
    this.participants.delete(participantId);
    for (const key of [...this.#pendingOffers, ...this.#described]) {
      const [a, b] = key.split('>');
      if (a === participantId || b === participantId) {
        this.#pendingOffers.delete(key);
        this.#described.delete(key);
      }
    }
    for (const [id, r] of this.#videoRequests) if (r.from === participantId) this.#videoRequests.delete(id);
    return p;
  }

  others(participantId: string): Participant[] {
    return [...this.participants.values()].filter((p) => p.id !== participantId);
  }

  snapshot(): RoomSnapshot {
    return {
      id: this.id,
      kind: this.kind,
      media: this.media,
      mode: this.mode,
      limits: this.limits,
      allowed: this.#allowed,
      participants: [...this.participants.values()].map((p) => p.snapshot()),
      hostSecret: this.hostSecret,
      locked: this.locked,
      removed: [...this.removed],
      pendingOffers: [...this.#pendingOffers],
      described: [...this.#described],
    };
  }

  /** A room taken over from another node: same participants, seats, resume secrets and SDP order. */
  static fromSnapshot(s: RoomSnapshot, e2ee: E2eeMode = 'required'): Room {
    const room = new Room({ id: s.id, kind: s.kind, media: s.media, limits: s.limits, e2ee, ...(s.allowed ? { allowed: s.allowed } : {}) });
    room.mode = s.mode;
    room.hostSecret = s.hostSecret;
    room.locked = s.locked;
    for (const h of s.removed) room.removed.add(h);
    for (const p of s.participants) room.add(Participant.fromSnapshot(p));
    for (const k of s.pendingOffers) room.#pendingOffers.add(k);
    for (const k of s.described) room.#described.add(k);
    return room;
  }

  /**
   * Checks that a signal fits the offer/answer order and records it. Changes nothing if it throws.
   * Returns whether the order changed (a description), i.e. whether a snapshot is due.
   */
  acceptSignal(from: string, msg: RequestOf<'rtc.signal'>): boolean {
    const to = msg.to;
    const target = this.participants.get(to);
    if (!target || to === from) throw new SignalingError('unknown-participant', `no participant ${to} in room ${this.id}`);
    if (!target.connected) throw new SignalingError('invalid-state', 'that participant is reconnecting; retry shortly');
    const forward = `${from}>${to}`;
    const backward = `${to}>${from}`;
    if (msg.description?.type === 'offer') {
      this.#pendingOffers.add(forward);
      this.#described.add(forward);
    } else if (msg.description?.type === 'answer') {
      if (!this.#pendingOffers.has(backward)) {
        throw new SignalingError('invalid-state', 'answer without an offer');
      }
      // An answer settles both directions: in a glare the polite side rolled its own offer back.
      this.#pendingOffers.delete(backward);
      this.#pendingOffers.delete(forward);
      this.#described.add(forward);
    } else if (!this.#described.has(forward)) {
      throw new SignalingError('invalid-state', 'ICE candidate before any offer or answer');
    }
    return msg.description !== undefined;
  }

  requestVideo(from: string): string {
    if (this.media === 'video') throw new SignalingError('invalid-state', 'this call already allows video');
    const now = Date.now();
    for (const [id, r] of this.#videoRequests) if (r.expiresAt < now) this.#videoRequests.delete(id);
    const requestId = randomId(10);
    this.#videoRequests.set(requestId, { from, expiresAt: now + VIDEO_REQUEST_TTL_MS });
    return requestId;
  }

  /** Returns the requester's participant id. */
  respondVideo(responder: string, requestId: string, accept: boolean): string {
    const req = this.#videoRequests.get(requestId);
    if (!req || req.expiresAt < Date.now()) throw new SignalingError('invalid-state', 'no such video request (expired or answered)');
    if (req.from === responder) throw new SignalingError('forbidden', 'you cannot answer your own request');
    this.#videoRequests.delete(requestId);
    if (accept) this.media = 'video';
    return req.from;
  }

  close(): void {
    for (const p of this.participants.values()) p.close();
    this.participants.clear();
    this.#pendingOffers.clear();
    this.#described.clear();
    this.#videoRequests.clear();
    this.lobby.clear();
  }
}
