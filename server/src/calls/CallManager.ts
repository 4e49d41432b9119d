/**
 * WhatsApp-style calling by handle: ring, accept, decline, busy, cancel, no answer, hang up,
 * and missed-call records for everything the callee did not pick up.
 */
import { randomId } from '../identity/ids.ts';
import type { UserDirectory } from '../identity/UserDirectory.ts';
import { SignalingError, type CallEndReason, type MissedCallReason, type RequestOf, type ResponseMap, type UserInfo } from '../protocol/index.ts';
import type { Room } from '../rooms/Room.ts';
import type { RoomManager } from '../rooms/RoomManager.ts';
import type { Notifier } from '../signaling/Notifier.ts';
import { Call } from './Call.ts';
import type { MissedCallStore } from './MissedCallStore.ts';

export interface CallManagerOptions {
  ringTimeoutMs: number;
  /** Guest mode: only handles that have connected since start-up can be called. */
  requireKnownCallee: boolean;
}

/** Ended calls are remembered this long so late messages get `call-ended`, not `unknown-call`. */
const TOMBSTONE_MS = 60_000;

export class CallManager {
  readonly #calls = new Map<string, Call>();

  constructor(
    private readonly notifier: Notifier,
    private readonly users: UserDirectory,
    private readonly rooms: RoomManager,
    private readonly missed: MissedCallStore,
    private readonly options: CallManagerOptions,
  ) {
    rooms.on('participantLeft', (room) => this.#onParticipantLeft(room));
  }

  get liveCount(): number {
    let n = 0;
    for (const c of this.#calls.values()) if (c.live) n++;
    return n;
  }

  /** Busy: placing a call, being rung, in an answered call, or in any room. */
  isBusy(handle: string): boolean {
    for (const c of this.#calls.values()) {
      if (!c.live) continue;
      if (c.caller.handle === handle) return true;
      if (c.callee === handle && (c.state === 'ringing' || c.state === 'accepted')) return true;
    }
    return this.rooms.isInAnyRoom(handle);
  }

  invite(user: UserInfo, socketId: string, req: RequestOf<'call.invite'>): ResponseMap['call.invite'] {
    if (req.to === user.handle) throw new SignalingError('self-call', 'you cannot call yourself');
    if (this.options.requireKnownCallee && !this.users.isKnown(req.to)) {
      throw new SignalingError('unknown-user', `nobody with the handle "${req.to}" has been here`);
    }
    if (this.isBusy(user.handle)) throw new SignalingError('busy', 'you are already in a call');
    if (this.isBusy(req.to)) {
      this.#recordMissed(req.to, { callId: randomId(16), caller: user, video: req.video, at: Date.now() }, 'busy');
      throw new SignalingError('busy', `${req.to} is on another call`);
    }

    const call = new Call(user, socketId, req.to, req.video, this.users.isOnline(req.to));
    this.#calls.set(call.id, call);
    this.rooms.createCallRoom(call.roomId, req.video ? 'video' : 'audio', (handle) => {
      if (handle === call.caller.handle) return;
      if (handle === call.callee && call.state === 'accepted') return;
      throw new SignalingError('forbidden', 'this call room is only for its caller and callee');
    });
    call.arm(this.options.ringTimeoutMs, () => this.#end(call, 'no-answer', null));
    if (call.state === 'ringing') {
      this.notifier.toUser(call.callee, 'call.incoming', { callId: call.id, from: call.caller, video: call.video });
    }
    return { callId: call.id, roomId: call.roomId, state: call.state === 'ringing' ? 'ringing' : 'calling' };
  }

  accept(user: UserInfo, socketId: string, req: RequestOf<'call.accept'>): ResponseMap['call.accept'] {
    const call = this.#unansweredFor(user, req.callId, 'callee');
    call.state = 'accepted';
    call.answeredBy = socketId;
    // Both sides must reach the room; a callee that accepted and vanished does not hold the caller forever.
    call.arm(this.options.ringTimeoutMs, () => {
      if ((this.rooms.get(call.roomId)?.participants.size ?? 0) < 2) this.#end(call, 'hangup', null);
    });
    this.notifier.toSocket(call.callerSocketId, 'call.accepted', { callId: call.id, roomId: call.roomId });
    for (const s of this.users.socketsOf(call.callee)) {
      if (s !== socketId) this.notifier.toSocket(s, 'call.ended', { callId: call.id, reason: 'answered-elsewhere' });
    }
    // Whoever else is ringing this person now hears "busy".
    for (const other of this.#calls.values()) {
      if (other !== call && other.unanswered && other.callee === user.handle) this.#end(other, 'busy', null);
    }
    return { roomId: call.roomId };
  }

  decline(user: UserInfo, socketId: string, req: RequestOf<'call.decline'>): void {
    const call = this.#unansweredFor(user, req.callId, 'callee');
    this.#end(call, 'declined', socketId);
  }

  cancel(user: UserInfo, socketId: string, req: RequestOf<'call.cancel'>): void {
    const call = this.#unansweredFor(user, req.callId, 'caller');
    this.#end(call, 'cancelled', socketId);
  }

  /** A device connected: it starts ringing for every unanswered call to its user. */
  userConnected(handle: string, socketId: string): void {
    for (const call of this.#calls.values()) {
      if (!call.unanswered || call.callee !== handle) continue;
      this.notifier.toSocket(socketId, 'call.incoming', { callId: call.id, from: call.caller, video: call.video });
      if (call.state === 'calling') {
        call.state = 'ringing';
        this.notifier.toSocket(call.callerSocketId, 'call.ringing', { callId: call.id });
      }
    }
  }

  /** A device disconnected: a caller's unanswered calls are cancelled; a callee may stop ringing. */
  socketClosed(handle: string, socketId: string): void {
    for (const call of [...this.#calls.values()]) {
      if (!call.unanswered) continue;
      if (call.callerSocketId === socketId) this.#end(call, 'cancelled', socketId);
      else if (call.callee === handle && call.state === 'ringing' && !this.users.isOnline(handle)) call.state = 'calling';
    }
  }

  close(): void {
    for (const c of this.#calls.values()) c.close();
    this.#calls.clear();
  }

  #unansweredFor(user: UserInfo, callId: string, role: 'caller' | 'callee'): Call {
    const call = this.#calls.get(callId);
    if (!call) throw new SignalingError('unknown-call', `no call ${callId}`);
    const mine = role === 'caller' ? call.caller.handle === user.handle : call.callee === user.handle;
    if (!mine) throw new SignalingError('forbidden', `you are not the ${role} of this call`);
    if (call.state === 'ended') throw new SignalingError('call-ended', `the call is over (${call.endReason})`);
    if (call.state === 'accepted') {
      throw new SignalingError('invalid-state', 'the call was already answered; leave its room to hang up');
    }
    return call;
  }

  #onParticipantLeft(room: Room): void {
    if (room.kind !== 'call') return;
    for (const call of this.#calls.values()) {
      if (call.roomId !== room.id || !call.live) continue;
      // A caller leaving before the answer is a cancel; anyone leaving an answered 1:1 call hangs up.
      if (call.state === 'accepted') this.#end(call, 'hangup', null);
      else this.#end(call, 'cancelled', null);
    }
  }

  /** Ends a call, tells everyone involved except `exceptSocket`, and files a missed call if due. */
  #end(call: Call, reason: CallEndReason, exceptSocket: string | null): void {
    if (!call.live) return;
    const wasUnanswered = call.unanswered;
    const answeredBy = call.answeredBy;
    call.end(reason);
    const notify = (socketId: string, r: CallEndReason) => {
      if (socketId !== exceptSocket) this.notifier.toSocket(socketId, 'call.ended', { callId: call.id, reason: r });
    };
    notify(call.callerSocketId, reason);
    if (wasUnanswered) {
      const onOtherDevices: CallEndReason = reason === 'declined' ? 'declined-elsewhere' : reason;
      for (const s of this.users.socketsOf(call.callee)) notify(s, onOtherDevices);
    } else if (answeredBy) {
      notify(answeredBy, reason);
    }
    if (wasUnanswered && (reason === 'no-answer' || reason === 'cancelled' || reason === 'busy')) {
      this.#recordMissed(call.callee, { callId: call.id, caller: call.caller, video: call.video, at: call.createdAt }, reason);
    }
    this.rooms.closeRoom(call.roomId);
    call.arm(TOMBSTONE_MS, () => this.#calls.delete(call.id));
  }

  #recordMissed(
    handle: string,
    c: { callId: string; caller: UserInfo; video: boolean; at: number },
    reason: MissedCallReason,
  ): void {
    this.missed.add(handle, { id: randomId(16), callId: c.callId, from: c.caller, video: c.video, at: c.at, reason });
    if (this.users.isOnline(handle)) this.notifier.toUser(handle, 'missedCalls', { missedCalls: this.missed.list(handle) });
  }
}
