/**
 * All rooms of this server: joining (and resuming after a dropped connection), leaving,
 * media state, the video-upgrade handshake and the relay of SDP/ICE between participants.
 */
import { EventEmitter } from 'node:events';
import { randomRoomName, sameSecret } from '../identity/ids.ts';
import {
  CALL_ROOM_PREFIX,
  ECHO_ROOM_PREFIX,
  SignalingError,
  type LeaveReason,
  type ParticipantInfo,
  type RequestOf,
  type RoomInfo,
  type ServerEventMap,
  type UserInfo,
} from '../protocol/index.ts';
import type { Notifier } from '../signaling/Notifier.ts';
import { Participant } from './Participant.ts';
import { Room, type E2eeMode, type RoomLimits, type RoomOptions } from './Room.ts';
import type { RoomSnapshot } from './RoomSnapshot.ts';

export interface RoomManagerOptions {
  /** How long a participant whose connection dropped keeps its seat. */
  reconnectGraceMs: number;
  /** Group-call limits when the SFU runs; null keeps rooms at two people (peer to peer). */
  limits: RoomLimits | null;
  /** Rooms one connection may be in at once (ROOMS_PER_CONNECTION); echo rooms: one at a time. */
  roomsPerConnection: number;
  /** End-to-end encryption policy (E2EE; default `required`). */
  e2ee?: E2eeMode;
}

export type RoomManagerEvents = {
  participantLeft: [room: Room, participant: Participant, reason: LeaveReason];
  roomClosed: [room: Room];
  /** Who is in the room or its settings changed (a cluster keeps a snapshot). */
  changed: [room: Room];
  /** A person took (on) or gave up (off) a seat: they are busy while they hold one. */
  seat: [handle: string, marker: string, on: boolean];
  /** A room was taken over from a node that died. */
  restored: [room: Room];
  /** `handle` joined a room where `others` are: from now on they may follow each other's presence. */
  met: [handle: string, others: string[]];
  /** The room moved from peer to peer to the SFU (a third person is joining). */
  escalated: [room: Room];
};

export interface JoinResult {
  room: RoomInfo;
  self: ParticipantInfo;
  participants: ParticipantInfo[];
  resumeSecret: string;
  hostSecret?: string;
}

/** A link room created with `room.create` that nobody joins is dropped after this long. */
const UNUSED_ROOM_TTL_MS = 10 * 60_000;

export class RoomManager extends EventEmitter<RoomManagerEvents> {
  readonly #rooms = new Map<string, Room>();
  readonly #unusedTimers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly notifier: Notifier,
    private readonly options: RoomManagerOptions,
  ) {
    super();
  }

  /** Group-call limits apply to rooms opened from now on (set once the SFU is up). */
  setLimits(limits: RoomLimits | null): void {
    this.options.limits = limits;
  }

  /** Open rooms by media path (for metrics). */
  countByMode(): Record<'p2p' | 'sfu', number> {
    const out = { p2p: 0, sfu: 0 };
    for (const room of this.#rooms.values()) out[room.mode]++;
    return out;
  }

  get roomCount(): number {
    return this.#rooms.size;
  }

  get(roomId: string): Room | undefined {
    return this.#rooms.get(roomId);
  }

  createLinkRoom(media: RoomInfo['media'], id = randomRoomName()): Room {
    while (this.#rooms.has(id)) id = randomRoomName();
    const room = this.#open({ id, kind: 'link', media, limits: this.options.limits });
    room.makeHostSecret();
    this.emit('changed', room);
    this.#unusedTimers.set(
      id,
      setTimeout(() => {
        if (room.participants.size === 0) this.closeRoom(id);
      }, UNUSED_ROOM_TTL_MS),
    );
    return room;
  }

  createCallRoom(id: string, media: RoomInfo['media'], allowed: [string, string], admit: RoomOptions['admit']): Room {
    const room = this.#open({ id, kind: 'call', media, limits: null, admit, allowed });
    this.emit('changed', room);
    return room;
  }

  /**
   * Takes over a room from a node that died. Participants whose socket is gone keep their seat
   * for the grace period (they resume on reconnecting); the others stay connected.
   */
  restore(snapshot: RoomSnapshot, connected: (p: Participant) => boolean): Room {
    const existing = this.#rooms.get(snapshot.id);
    if (existing) return existing;
    const room = Room.fromSnapshot(snapshot, this.options.e2ee);
    this.#rooms.set(room.id, room);
    for (const p of room.participants.values()) {
      this.emit('seat', p.handle, seatMarker(room, p), true);
      if (!connected(p)) this.#detach(room, p);
    }
    this.emit('changed', room);
    this.emit('restored', room);
    if (room.participants.size === 0) this.closeRoom(room.id);
    return room;
  }

  join(user: UserInfo, socketId: string, req: RequestOf<'room.join'>, node: string | null = null): JoinResult {
    // Echo rooms carry only your own test media back to you: nothing to keep from the server, so
    // a client that cannot encrypt (the connectivity CLI) may still test the path.
    if ((this.options.e2ee ?? 'required') === 'required' && !req.publicKey && !req.roomId.startsWith(ECHO_ROOM_PREFIX))
      throw new SignalingError(
        'e2ee-required',
        'this server allows only end-to-end encrypted calls, and this browser cannot encrypt them (it lacks encoded transforms): use a current Chrome, Edge, Firefox or Safari',
      );
    this.#checkHeld(socketId, req.roomId);
    let room = this.#rooms.get(req.roomId);
    let opened = false;
    if (!room) {
      // Call links create their room on first join, like a meeting link; 1:1 call rooms only
      // exist while their call does.
      if (req.roomId.startsWith(CALL_ROOM_PREFIX)) throw new SignalingError('unknown-room', `no room ${req.roomId}`);
      const echo = req.roomId.startsWith(ECHO_ROOM_PREFIX);
      // Echo rooms are SFU rooms; without the SFU (limits unset) they cannot work, so say so now.
      if (echo && !this.options.limits) throw new SignalingError('sfu-unavailable', 'echo rooms need the media server (SFU), which is not running');
      room = this.#open({ id: req.roomId, kind: echo ? 'echo' : 'link', media: 'video', limits: this.options.limits });
      opened = true;
    }
    for (const p of room.participants.values()) {
      if (p.socketId === socketId) throw new SignalingError('invalid-state', 'already in this room');
    }

    if (req.resume) {
      const p = room.participants.get(req.resume.participantId);
      if (p && p.handle === user.handle && !p.connected && sameSecret(req.resume.secret, p.resumeSecret)) {
        p.attach(socketId, node);
        this.emit('changed', room);
        return this.#joinResult(room, p);
      }
      // A stale or foreign resume ticket is not an error: the client simply joins afresh.
    }
    // A reload without a resume ticket: the same user's dropped seat gives way to the new one.
    for (const p of room.participants.values()) {
      if (p.handle === user.handle && !p.connected) this.#removeParticipant(room, p, 'left');
    }

    // Call links have hosts: whoever holds the host secret, or the person who opened the link by
    // joining it. Everyone else passes the lock (and a removal) only with a host's admission.
    const host = room.kind === 'link' && (opened || (req.host !== undefined && room.hostSecret !== null && sameSecret(req.host, room.hostSecret)));
    if (room.kind === 'link' && !host && (room.locked || room.removed.has(user.handle))) {
      if (room.locked && room.removed.has(user.handle)) throw new SignalingError('forbidden', 'a host removed you from this call, and it is locked');
      if (!req.admission || !room.lobby.redeem(req.admission, user.handle)) {
        throw new SignalingError(
          'room-locked',
          room.locked ? 'this call is locked: ask the host to let you in' : 'a host removed you from this call: ask to be let back in',
        );
      }
      room.removed.delete(user.handle);
    }
    try {
      room.admit(user.handle);
    } catch (err) {
      if (opened) this.closeRoom(room.id);
      throw err;
    }
    if (host) room.makeHostSecret();
    if (room.mode === 'p2p' && room.participants.size >= 2) {
      // Make before break: the two already talking set up the SFU while their P2P link still runs.
      room.mode = 'sfu';
      this.#broadcast(room, null, 'room.updated', { room: room.info() });
      this.emit('escalated', room);
    }
    const wantsVideo = req.media.videoEnabled && room.media === 'video' && (!room.limits || room.participants.size < room.limits.maxVideo);
    const media = { audioMuted: req.media.audioMuted, videoEnabled: wantsVideo };
    const p = new Participant(user, req.name ?? user.name, socketId, media, node);
    p.host = host;
    // With E2EE off nobody encrypts, so nobody's key is handed out.
    p.publicKey = room.e2eeMode === 'off' ? null : (req.publicKey ?? null);
    const wasEncrypted = room.e2ee;
    room.add(p);
    this.emit('seat', p.handle, seatMarker(room, p), true);
    const others = [...new Set(room.others(p.id).map((o) => o.handle))].filter((h) => h !== p.handle);
    if (others.length > 0) this.emit('met', p.handle, others);
    this.emit('changed', room);
    this.#broadcast(room, p.id, 'room.participantJoined', { roomId: room.id, participant: p.info() });
    if (room.e2ee !== wasEncrypted) this.#broadcast(room, p.id, 'room.updated', { room: room.info() });
    if (host && room.lobby.size > 0) this.notifier.toSocket(socketId, 'room.lobby', { roomId: room.id, lobby: room.lobby.list() });
    return this.#joinResult(room, p);
  }

  // ---- hosts of call links ---------------------------------------------------------------------

  /** Host: lock or unlock. Unlocking lets everyone waiting in the lobby in. */
  lock(socketId: string, req: RequestOf<'room.lock'>): RoomInfo {
    const { room } = this.#asHost(socketId, req.roomId);
    if (room.locked !== req.locked) {
      room.locked = req.locked;
      if (!req.locked) {
        for (const e of room.lobby.drain()) {
          if (room.removed.has(e.handle)) this.notifier.toSocket(e.socketId, 'room.denied', { roomId: room.id });
          else this.notifier.toSocket(e.socketId, 'room.admitted', { roomId: room.id, ticket: room.lobby.issueTicket(e.handle) });
        }
        this.#lobbyChanged(room);
      }
      this.emit('changed', room);
      this.#broadcast(room, null, 'room.updated', { room: room.info() });
    }
    return room.info();
  }

  /** Someone outside a locked call link asks to come in; its hosts see them in the lobby. */
  knock(user: UserInfo, socketId: string, req: RequestOf<'room.knock'>): { lobbyId: string } {
    const room = this.#rooms.get(req.roomId);
    if (!room) throw new SignalingError('unknown-room', `no room ${req.roomId}`);
    if (room.kind !== 'link') throw new SignalingError('invalid-state', 'only call links have a lobby');
    for (const p of room.participants.values()) if (p.socketId === socketId) throw new SignalingError('invalid-state', 'you are already in this call');
    const removed = room.removed.has(user.handle);
    if (!room.locked && !removed) throw new SignalingError('invalid-state', 'this call is not locked: join it');
    if (room.locked && removed) throw new SignalingError('forbidden', 'a host removed you from this call, and it is locked');
    if (room.hosts().length === 0) throw new SignalingError('room-locked', 'this call is locked and its host is not in it; try again later');
    const entry = room.lobby.knock(user, req.name ?? user.name, socketId);
    this.#lobbyChanged(room);
    return { lobbyId: entry.id };
  }

  knockCancel(socketId: string, roomId: string): void {
    const room = this.#rooms.get(roomId);
    if (room?.lobby.leave(socketId)) this.#lobbyChanged(room);
  }

  /** Host: let someone in the lobby in (they get a single-use ticket) or turn them away. */
  admit(socketId: string, req: RequestOf<'room.admit'>): void {
    const { room } = this.#asHost(socketId, req.roomId);
    const entry = room.lobby.take(req.lobbyId);
    if (!entry) throw new SignalingError('unknown-participant', 'nobody with that id is waiting (they left, or another host answered)');
    if (req.admit) this.notifier.toSocket(entry.socketId, 'room.admitted', { roomId: room.id, ticket: room.lobby.issueTicket(entry.handle) });
    else this.notifier.toSocket(entry.socketId, 'room.denied', { roomId: room.id });
    this.#lobbyChanged(room);
  }

  /** Host: remove a participant. They are told, and cannot come back without a host letting them in. */
  remove(socketId: string, req: RequestOf<'room.remove'>): void {
    const { room, participant } = this.#asHost(socketId, req.roomId);
    const target = room.participants.get(req.participantId);
    if (!target || target === participant) throw new SignalingError('unknown-participant', `no other participant ${req.participantId} in this call`);
    if (target.host) throw new SignalingError('forbidden', 'a host cannot be removed');
    room.removed.add(target.handle);
    if (target.socketId) this.notifier.toSocket(target.socketId, 'room.removed', { roomId: room.id });
    this.#removeParticipant(room, target, 'removed');
  }

  /** Host: ask a participant to mute. Only a request: their microphone stays theirs. */
  requestMute(socketId: string, req: RequestOf<'participant.requestMute'>): void {
    const { room, participant } = this.#asHost(socketId, req.roomId);
    const target = room.participants.get(req.participantId);
    if (!target || target === participant) throw new SignalingError('unknown-participant', `no other participant ${req.participantId} in this call`);
    if (target.socketId) this.notifier.toSocket(target.socketId, 'room.muteRequested', { roomId: room.id, from: participant.id });
  }

  #asHost(socketId: string, roomId: string): { room: Room; participant: Participant } {
    const found = this.find(socketId, roomId);
    if (!found.participant.host) throw new SignalingError('forbidden', 'only the host of this call can do that');
    return found;
  }

  #lobbyChanged(room: Room): void {
    const lobby = room.lobby.list();
    for (const h of room.hosts()) this.notifier.toSocket(h.socketId!, 'room.lobby', { roomId: room.id, lobby });
  }

  /**
   * One connection cannot make this node hold rooms without end: it may sit in
   * `roomsPerConnection` rooms at once, and in one echo room (each is an SFU router of its own).
   */
  #checkHeld(socketId: string, joining: string): void {
    let held = 0;
    let echo = false;
    for (const room of this.#rooms.values()) {
      if (room.id === joining) continue;
      for (const p of room.participants.values()) {
        if (p.socketId !== socketId) continue;
        held++;
        if (room.kind === 'echo') echo = true;
      }
    }
    if (held >= this.options.roomsPerConnection) {
      throw new SignalingError(
        'limit-reached',
        `this connection is already in ${held} rooms (ROOMS_PER_CONNECTION=${this.options.roomsPerConnection}); leave one first`,
      );
    }
    if (echo && joining.startsWith(ECHO_ROOM_PREFIX))
      throw new SignalingError('limit-reached', 'one echo room per connection at a time; leave the other first');
  }

  leave(socketId: string, roomId: string): void {
    const { room, participant } = this.find(socketId, roomId);
    this.#removeParticipant(room, participant, 'left');
  }

  update(socketId: string, req: RequestOf<'participant.update'>): ParticipantInfo {
    const { room, participant } = this.find(socketId, req.roomId);
    if (req.videoEnabled === true && !participant.videoEnabled) {
      if (room.media !== 'video') throw new SignalingError('video-not-allowed', 'this is a voice call: ask the others to switch to video first');
      room.checkVideoAllowed();
    }
    if (req.name !== undefined) participant.name = req.name;
    if (req.audioMuted !== undefined) participant.audioMuted = req.audioMuted;
    if (req.videoEnabled !== undefined) participant.videoEnabled = req.videoEnabled;
    this.emit('changed', room);
    const info = participant.info();
    this.#broadcast(room, participant.id, 'room.participantUpdated', { roomId: room.id, participant: info });
    return info;
  }

  signal(socketId: string, req: RequestOf<'rtc.signal'>): void {
    const { room, participant } = this.find(socketId, req.roomId);
    if (room.acceptSignal(participant.id, req)) this.emit('changed', room);
    const target = room.participants.get(req.to)!;
    this.notifier.toSocket(target.socketId!, 'rtc.signal', {
      roomId: room.id,
      from: participant.id,
      ...(req.description ? { description: req.description } : { candidate: req.candidate ?? null }),
    });
  }

  /** End-to-end encryption: relays a media key, encrypted to its recipient, as is. */
  relayKey(socketId: string, req: RequestOf<'e2ee.key'>): void {
    const { room, participant } = this.find(socketId, req.roomId);
    const target = room.participants.get(req.to);
    if (!target || target === participant) throw new SignalingError('unknown-participant', `no other participant ${req.to} in room ${room.id}`);
    if (!target.socketId) throw new SignalingError('invalid-state', 'that participant is reconnecting; retry shortly');
    this.notifier.toSocket(target.socketId, 'e2ee.key', { roomId: room.id, from: participant.id, keyId: req.keyId, wrapped: req.wrapped });
  }

  /** Whose `quality.report` this is: the reporter must be in the room (telemetry is never anonymous). */
  reporterOf(socketId: string, roomId: string): string {
    return this.find(socketId, roomId).participant.id;
  }

  requestVideo(socketId: string, roomId: string): string {
    const { room, participant } = this.find(socketId, roomId);
    if (room.participants.size < 2) throw new SignalingError('invalid-state', 'nobody else is in the call yet');
    const requestId = room.requestVideo(participant.id);
    this.#broadcast(room, participant.id, 'video.requested', { roomId, requestId, from: participant.id });
    return requestId;
  }

  respondVideo(socketId: string, req: RequestOf<'video.respond'>): RoomInfo {
    const { room, participant } = this.find(socketId, req.roomId);
    const requester = room.respondVideo(participant.id, req.requestId, req.accept);
    if (req.accept) this.emit('changed', room);
    // Room first: by the time the requester hears "accepted", the room already allows video.
    if (req.accept) this.#broadcast(room, null, 'room.updated', { room: room.info() });
    const requesterSocket = room.participants.get(requester)?.socketId;
    if (requesterSocket) {
      this.notifier.toSocket(requesterSocket, 'video.responded', {
        roomId: room.id,
        requestId: req.requestId,
        from: participant.id,
        accept: req.accept,
      });
    }
    return room.info();
  }

  /** The socket is gone: its participants keep their seats for the grace period. */
  socketClosed(socketId: string): void {
    for (const room of [...this.#rooms.values()]) {
      if (room.lobby.leave(socketId)) this.#lobbyChanged(room);
      for (const p of [...room.participants.values()]) {
        if (p.socketId !== socketId) continue;
        this.#detach(room, p);
        if (this.#rooms.get(room.id) === room) this.emit('changed', room);
      }
    }
  }

  #detach(room: Room, p: Participant): void {
    if (this.options.reconnectGraceMs === 0) {
      this.#removeParticipant(room, p, 'disconnected');
      return;
    }
    p.detach(this.options.reconnectGraceMs, () => {
      if (room.participants.get(p.id) === p && !p.connected) this.#removeParticipant(room, p, 'disconnected');
    });
  }

  /** Every room this node runs (for tests and health). */
  get all(): Room[] {
    return [...this.#rooms.values()];
  }

  /** Closes a room; its remaining participants are dropped without `participantLeft` events. */
  closeRoom(roomId: string): void {
    const room = this.#rooms.get(roomId);
    if (!room) return;
    clearTimeout(this.#unusedTimers.get(roomId));
    this.#unusedTimers.delete(roomId);
    this.#rooms.delete(roomId);
    for (const p of room.participants.values()) this.emit('seat', p.handle, seatMarker(room, p), false);
    room.close();
    this.emit('roomClosed', room);
  }

  close(): void {
    for (const id of [...this.#rooms.keys()]) this.closeRoom(id);
    this.removeAllListeners();
  }

  #open(options: RoomOptions): Room {
    const room = new Room({ ...options, e2ee: this.options.e2ee ?? 'required' });
    this.#rooms.set(room.id, room);
    return room;
  }

  /** The room and this socket's participant in it, or a typed error. */
  find(socketId: string, roomId: string): { room: Room; participant: Participant } {
    const room = this.#rooms.get(roomId);
    if (!room) throw new SignalingError('unknown-room', `no room ${roomId}`);
    for (const participant of room.participants.values()) {
      if (participant.socketId === socketId) return { room, participant };
    }
    throw new SignalingError('not-in-room', `you are not in room ${roomId}`);
  }

  #removeParticipant(room: Room, p: Participant, reason: LeaveReason): void {
    const wasEncrypted = room.e2ee;
    if (!room.remove(p.id)) return;
    this.emit('seat', p.handle, seatMarker(room, p), false);
    p.close();
    this.#broadcast(room, p.id, 'room.participantLeft', { roomId: room.id, participantId: p.id, reason });
    if (room.participants.size > 0 && room.e2ee !== wasEncrypted) this.#broadcast(room, null, 'room.updated', { room: room.info() });
    // Nobody is left to answer the people waiting: tell them, rather than leave them hanging.
    if (p.host && room.hosts().length === 0) for (const e of room.lobby.drain()) this.notifier.toSocket(e.socketId, 'room.denied', { roomId: room.id });
    this.emit('participantLeft', room, p, reason);
    if (room.participants.size === 0 && this.#rooms.get(room.id) === room) this.closeRoom(room.id);
    else if (this.#rooms.get(room.id) === room) this.emit('changed', room);
  }

  #joinResult(room: Room, p: Participant): JoinResult {
    return {
      room: room.info(),
      self: p.info(),
      participants: room.others(p.id).map((o) => o.info()),
      resumeSecret: p.resumeSecret,
      ...(p.host && room.hostSecret ? { hostSecret: room.hostSecret } : {}),
    };
  }

  #broadcast<E extends keyof ServerEventMap>(room: Room, exceptId: string | null, event: E, payload: ServerEventMap[E]): void {
    for (const p of room.participants.values()) {
      if (p.id !== exceptId && p.socketId) this.notifier.toSocket(p.socketId, event, payload);
    }
  }
}

/** The busy marker of one seat. */
const seatMarker = (room: Room, p: Participant) => `seat:${room.id}:${p.id}`;
