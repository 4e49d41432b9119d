/**
 * WhatsApp-style calling by handle: ring, accept, decline, busy, cancel, no answer, hang up,
 * and missed-call records for everything the callee did not pick up.
 *
 * A call lives on the node that placed it (the caller's): its state machine and ring timer run
 * there, and the other nodes forward `call.accept`/`decline`/`cancel` to it. Who is online and
 * who is busy come from the Cluster, so a callee on any node rings. Missed calls go to the
 * StateStore, and are on disk before anyone is told the call ended.
 */
import { randomId } from '../identity/ids.ts';
import type { Cluster } from '../cluster/Cluster.ts';
import type { Logger } from '../logger.ts';
import { SignalingError, type CallEndReason, type MissedCallReason, type RequestOf, type ResponseMap, type UserInfo } from '../protocol/index.ts';
import type { Room } from '../rooms/Room.ts';
import type { RoomManager } from '../rooms/RoomManager.ts';
import type { Notifier } from '../signaling/Notifier.ts';
import { orUnavailable, type PendingCall, type StateStore } from '../store/StateStore.ts';
import { Call } from './Call.ts';

export interface CallManagerOptions {
  ringTimeoutMs: number;
  /** Guest mode: only handles that have connected at least once can be called. */
  requireKnownCallee: boolean;
  missedCallsPerUser: number;
  /** Told of answers and ends (metrics); never affects a call. */
  observer?: CallObserver;
}

export interface CallObserver {
  /** A callee answered `ringMs` after the call was placed. */
  answered(ringMs: number): void;
  /** A call ended; `answered`: it had been accepted. */
  ended(reason: CallEndReason, answered: boolean): void;
}

/** Contacts kept per person (the most recent): whose presence they may follow. */
export const CONTACTS_PER_USER = 500;

/** Ended calls are remembered this long so late messages get `call-ended`, not `unknown-call`. */
const TOMBSTONE_MS = 60_000;

/** Cluster broadcasts about a callee, applied by every node to the calls it runs. */
type CalleeNews =
  { type: 'device-connected'; handle: string; socketId: string } | { type: 'offline'; handle: string } | { type: 'answered'; handle: string; callId: string };

export class CallManager {
  readonly #calls = new Map<string, Call>();

  constructor(
    private readonly notifier: Notifier,
    private readonly cluster: Cluster,
    private readonly store: StateStore,
    private readonly rooms: RoomManager,
    private readonly logger: Logger,
    private readonly options: CallManagerOptions,
  ) {
    rooms.on('participantLeft', (room) => this.#onParticipantLeft(room));
    cluster.onBroadcast('callee', (news) => this.#apply(news as CalleeNews));
  }

  /** Live calls by state (for metrics). */
  countByState(): Record<'calling' | 'ringing' | 'accepted', number> {
    const out = { calling: 0, ringing: 0, accepted: 0 };
    for (const c of this.#calls.values()) if (c.state !== 'ended') out[c.state]++;
    return out;
  }

  get liveCount(): number {
    let n = 0;
    for (const c of this.#calls.values()) if (c.live) n++;
    return n;
  }

  /** A call this node runs (tests). */
  get(callId: string): Call | undefined {
    return this.#calls.get(callId);
  }

  async invite(user: UserInfo, socketId: string, req: RequestOf<'call.invite'>): Promise<ResponseMap['call.invite']> {
    if (req.to === user.handle) throw new SignalingError('self-call', 'you cannot call yourself');
    if (this.options.requireKnownCallee && !(await orUnavailable(() => this.store.handleExists(req.to)))) {
      throw new SignalingError('unknown-user', `nobody with the handle "${req.to}" has been here`);
    }
    if (await this.cluster.isBusy(user.handle)) throw new SignalingError('busy', 'you are already in a call');
    if (await this.cluster.isBusy(req.to)) {
      // A real call that ends at once as busy: the callee sees it among their missed calls, but
      // only once per caller until they have seen it, so redialling cannot flood their list.
      const call = new Call(user, socketId, req.to, req.video, false);
      call.end('busy');
      this.options.observer?.ended('busy', false);
      const unseen = await orUnavailable(() => this.store.missedCalls(req.to));
      if (!unseen.some((m) => m.reason === 'busy' && m.from.handle === user.handle)) {
        await orUnavailable(() => this.store.addContacts(req.to, [user.handle], call.createdAt, CONTACTS_PER_USER));
        await this.#recordMissed(req.to, { callId: call.id, caller: user, video: req.video, at: call.createdAt }, 'busy');
      }
      throw new SignalingError('busy', `${req.to} is on another call`);
    }

    const call = new Call(user, socketId, req.to, req.video, await this.cluster.isOnline(req.to));
    // On disk first: if this node dies while it rings, a survivor turns it into a missed call.
    // The callee may follow the caller's presence from now on (to call back); not the reverse.
    await orUnavailable(() =>
      Promise.all([
        this.store.putPendingCall(pendingOf(call, this.cluster.nodeId)),
        this.store.addContacts(req.to, [user.handle], call.createdAt, CONTACTS_PER_USER),
      ]),
    );
    this.#calls.set(call.id, call);
    await Promise.all([this.cluster.claim(`call:${call.id}`), this.cluster.claim(`room:${call.roomId}`)]);
    await this.cluster.setBusy(call.caller.handle, `call:${call.id}`, true);
    if (call.state === 'ringing') await this.cluster.setBusy(call.callee, `call:${call.id}`, true);
    this.rooms.createCallRoom(call.roomId, req.video ? 'video' : 'audio', [call.caller.handle, call.callee], (handle) => {
      if (handle === call.callee && call.state !== 'accepted') throw new SignalingError('forbidden', 'the call has not been answered');
    });
    call.arm(this.options.ringTimeoutMs, () => this.#endSoon(call, 'no-answer', null));
    if (call.state === 'ringing') {
      this.notifier.toUser(call.callee, 'call.incoming', { callId: call.id, from: call.caller, video: call.video });
    }
    return { callId: call.id, roomId: call.roomId, state: call.state === 'ringing' ? 'ringing' : 'calling' };
  }

  async accept(user: UserInfo, socketId: string, req: RequestOf<'call.accept'>): Promise<ResponseMap['call.accept']> {
    const call = this.#unansweredFor(user, req.callId, 'callee');
    call.state = 'accepted';
    call.answeredBy = socketId;
    this.options.observer?.answered(Date.now() - call.createdAt);
    // Both sides must reach the room; a callee that accepted and vanished does not hold the caller forever.
    call.arm(this.options.ringTimeoutMs, () => {
      if ((this.rooms.get(call.roomId)?.participants.size ?? 0) < 2) this.#endSoon(call, 'hangup', null);
    });
    this.notifier.toSocket(call.callerSocketId, 'call.accepted', { callId: call.id, roomId: call.roomId });
    this.notifier.toUser(call.callee, 'call.ended', { callId: call.id, reason: 'answered-elsewhere' }, socketId);
    // Whoever else is ringing this person, on any node, now hears "busy".
    const news: CalleeNews = { type: 'answered', handle: user.handle, callId: call.id };
    this.#apply(news);
    await Promise.all([
      this.cluster.setBusy(call.callee, `call:${call.id}`, true),
      this.cluster.broadcast('callee', news),
      orUnavailable(() => this.store.deletePendingCall(call.id)),
    ]);
    return { roomId: call.roomId };
  }

  async decline(user: UserInfo, socketId: string, req: RequestOf<'call.decline'>): Promise<void> {
    await this.#end(this.#unansweredFor(user, req.callId, 'callee'), 'declined', socketId);
  }

  async cancel(user: UserInfo, socketId: string, req: RequestOf<'call.cancel'>): Promise<void> {
    await this.#end(this.#unansweredFor(user, req.callId, 'caller'), 'cancelled', socketId);
  }

  /** A device connected (on this node): it starts ringing for every unanswered call to its user. */
  async userConnected(handle: string, socketId: string): Promise<void> {
    const news: CalleeNews = { type: 'device-connected', handle, socketId };
    this.#apply(news);
    await this.cluster.broadcast('callee', news);
  }

  /** A device disconnected: a caller's unanswered calls are cancelled; a callee may stop ringing. */
  async socketClosed(handle: string, socketId: string, wentOffline: boolean): Promise<void> {
    for (const call of [...this.#calls.values()]) {
      if (call.unanswered && call.callerSocketId === socketId) await this.#end(call, 'cancelled', socketId);
    }
    if (!wentOffline) return;
    const news: CalleeNews = { type: 'offline', handle };
    this.#apply(news);
    await this.cluster.broadcast('callee', news);
  }

  /**
   * Calls that were ringing on a node that is gone (this one before a restart, or a dead peer):
   * each becomes a missed call, and the callee's devices stop ringing.
   */
  async recoverPending(node: string): Promise<number> {
    const calls = await this.store.takePendingCalls(node);
    for (const c of calls) {
      await this.#recordMissed(c.callee, { callId: c.id, caller: c.caller, video: c.video, at: c.at }, 'cancelled');
      this.notifier.toUser(c.callee, 'call.ended', { callId: c.id, reason: 'cancelled' });
      await this.cluster.release(`call:${c.id}`).catch(() => {});
    }
    if (calls.length > 0) this.logger.warn(`${calls.length} call(s) still ringing on node ${node} when it stopped became missed calls`);
    return calls.length;
  }

  close(): void {
    for (const c of this.#calls.values()) c.close();
    this.#calls.clear();
  }

  #apply(news: CalleeNews): void {
    for (const call of [...this.#calls.values()]) {
      if (!call.unanswered || call.callee !== news.handle) continue;
      if (news.type === 'device-connected') {
        this.notifier.toSocket(news.socketId, 'call.incoming', { callId: call.id, from: call.caller, video: call.video });
        if (call.state === 'calling') {
          call.state = 'ringing';
          void this.cluster.setBusy(call.callee, `call:${call.id}`, true).catch(() => {});
          this.notifier.toSocket(call.callerSocketId, 'call.ringing', { callId: call.id });
        }
      } else if (news.type === 'offline') {
        if (call.state === 'ringing') call.state = 'calling';
      } else if (call.id !== news.callId) {
        this.#endSoon(call, 'busy', null);
      }
    }
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
      this.#endSoon(call, call.state === 'accepted' ? 'hangup' : 'cancelled', null);
    }
  }

  /** Ends a call from a timer or an event: failures are logged, never thrown into the void. */
  #endSoon(call: Call, reason: CallEndReason, exceptSocket: string | null): void {
    this.#end(call, reason, exceptSocket).catch((err: unknown) => this.logger.error(`ending call ${call.id} failed: ${(err as Error).message}`));
  }

  /** Ends a call, files a missed call if due (durably, first), then tells everyone except `exceptSocket`. */
  async #end(call: Call, reason: CallEndReason, exceptSocket: string | null): Promise<void> {
    if (!call.live) return;
    const wasUnanswered = call.unanswered;
    const answeredBy = call.answeredBy;
    call.end(reason);
    this.options.observer?.ended(reason, !wasUnanswered);
    if (wasUnanswered && (reason === 'no-answer' || reason === 'cancelled' || reason === 'busy')) {
      await this.#recordMissed(call.callee, { callId: call.id, caller: call.caller, video: call.video, at: call.createdAt }, reason);
    }
    if (call.callerSocketId !== exceptSocket) this.notifier.toSocket(call.callerSocketId, 'call.ended', { callId: call.id, reason });
    if (wasUnanswered) {
      const onOtherDevices: CallEndReason = reason === 'declined' ? 'declined-elsewhere' : reason;
      this.notifier.toUser(call.callee, 'call.ended', { callId: call.id, reason: onOtherDevices }, exceptSocket ?? undefined);
    } else if (answeredBy && answeredBy !== exceptSocket) {
      this.notifier.toSocket(answeredBy, 'call.ended', { callId: call.id, reason });
    }
    this.rooms.closeRoom(call.roomId);
    // The tombstone keeps the call's node its owner, so late messages from any node hear `call-ended`.
    call.arm(TOMBSTONE_MS, () => {
      this.#calls.delete(call.id);
      void this.cluster.release(`call:${call.id}`).catch(() => {});
    });
    // Bookkeeping elsewhere; a shared store that is down now is cleaned up when it is back.
    await Promise.all([
      wasUnanswered ? this.store.deletePendingCall(call.id) : Promise.resolve(),
      this.cluster.setBusy(call.caller.handle, `call:${call.id}`, false),
      this.cluster.setBusy(call.callee, `call:${call.id}`, false),
    ]).catch((err: unknown) => this.logger.warn(`call ${call.id} ended; clean-up deferred: ${(err as Error).message}`));
  }

  async #recordMissed(handle: string, c: { callId: string; caller: UserInfo; video: boolean; at: number }, reason: MissedCallReason): Promise<void> {
    const record = { id: randomId(16), callId: c.callId, from: c.caller, video: c.video, at: c.at, reason };
    try {
      await this.store.addMissedCall(handle, record, this.options.missedCallsPerUser);
      this.notifier.toUser(handle, 'missedCalls', { missedCalls: await this.store.missedCalls(handle) });
    } catch (err) {
      // The call still ends for everyone; the operator sees what could not be kept.
      this.logger.error(`missed call for ${handle} not stored: ${(err as Error).message}`, { record });
    }
  }
}

function pendingOf(call: Call, node: string): PendingCall {
  return { id: call.id, caller: call.caller, callee: call.callee, video: call.video, at: call.createdAt, node };
}
