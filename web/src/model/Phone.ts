/**
 * Calling people by handle, WhatsApp style: the outgoing call's progress, incoming calls,
 * missed calls and presence. Joining the call's room is the app's job once a call is answered.
 */
import type { CallEndReason, MissedCall, PresenceInfo, UserInfo } from '@protocol';
import { Emitter } from '../lib/Emitter.ts';
import type { SignalingPort } from './ports.ts';

export type OutgoingState = 'calling' | 'ringing' | 'accepted' | 'ended';
export interface OutgoingCall {
  callId: string;
  roomId: string;
  to: string;
  video: boolean;
  state: OutgoingState;
  reason: CallEndReason | null;
}
export interface IncomingCall {
  callId: string;
  from: UserInfo;
  video: boolean;
}

export type PhoneEvents = {
  outgoing: [OutgoingCall];
  incoming: [IncomingCall];
  incomingEnded: [{ callId: string; reason: CallEndReason }];
  /** The call this device is in ended (the other side hung up). */
  callEnded: [{ callId: string; reason: CallEndReason }];
  missedCalls: [MissedCall[]];
  presence: [PresenceInfo];
};

export class Phone extends Emitter<PhoneEvents> {
  outgoing: OutgoingCall | null = null;
  readonly incoming = new Map<string, IncomingCall>();
  /** The answered call this device is in, if any. */
  activeCallId: string | null = null;
  missedCalls: MissedCall[] = [];
  readonly presence = new Map<string, PresenceInfo>();
  #off: (() => void)[] = [];

  constructor(private readonly signaling: SignalingPort) {
    super();
    const s = signaling;
    this.#off.push(
      s.onEvent('call.incoming', (c) => {
        this.incoming.set(c.callId, c);
        this.emit('incoming', c);
      }),
      s.onEvent('call.ringing', ({ callId }) => this.#setOutgoing(callId, 'ringing')),
      s.onEvent('call.accepted', ({ callId }) => {
        if (this.#setOutgoing(callId, 'accepted')) this.activeCallId = callId;
      }),
      s.onEvent('call.ended', ({ callId, reason }) => {
        if (this.incoming.delete(callId)) this.emit('incomingEnded', { callId, reason });
        if (this.outgoing?.callId === callId && this.outgoing.state !== 'accepted') {
          this.#setOutgoing(callId, 'ended', reason);
        } else if (this.activeCallId === callId) {
          this.activeCallId = null;
          if (this.outgoing?.callId === callId) this.outgoing = { ...this.outgoing, state: 'ended', reason };
          this.emit('callEnded', { callId, reason });
        }
      }),
      s.onEvent('missedCalls', ({ missedCalls }) => {
        this.missedCalls = missedCalls;
        this.emit('missedCalls', missedCalls);
      }),
      s.onEvent('presence', (p) => {
        this.presence.set(p.handle, p);
        this.emit('presence', p);
      }),
    );
  }

  async call(to: string, video: boolean): Promise<OutgoingCall> {
    const res = await this.signaling.request('call.invite', { to, video });
    this.outgoing = { callId: res.callId, roomId: res.roomId, to, video, state: res.state, reason: null };
    this.emit('outgoing', this.outgoing);
    return this.outgoing;
  }

  async cancel(): Promise<void> {
    const call = this.outgoing;
    if (!call || call.state === 'ended' || call.state === 'accepted') return;
    this.#setOutgoing(call.callId, 'ended', 'cancelled');
    await this.signaling.request('call.cancel', { callId: call.callId }).catch(() => {});
  }

  /** Answers; resolves with the room to join. */
  async accept(callId: string): Promise<string> {
    const { roomId } = await this.signaling.request('call.accept', { callId });
    this.incoming.delete(callId);
    this.activeCallId = callId;
    return roomId;
  }

  /**
   * We hang up: an unanswered outgoing call is cancelled, and the call we were in is no longer
   * ours (so its `call.ended` is not shown as "the other side ended it"). Says which it was.
   */
  async hangUp(): Promise<'cancelled' | 'ended'> {
    const out = this.outgoing;
    const unanswered = out !== null && out.state !== 'accepted' && out.state !== 'ended';
    if (unanswered) await this.cancel();
    this.activeCallId = null;
    return unanswered ? 'cancelled' : 'ended';
  }

  async decline(callId: string): Promise<void> {
    this.incoming.delete(callId);
    await this.signaling.request('call.decline', { callId }).catch(() => {});
  }

  async acknowledgeMissed(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    this.missedCalls = this.missedCalls.filter((m) => !ids.includes(m.id));
    this.emit('missedCalls', this.missedCalls);
    await this.signaling.request('missedCalls.ack', { ids });
  }

  async watch(handles: string[]): Promise<void> {
    const { presence } = await this.signaling.request('presence.watch', { handles });
    for (const p of presence) {
      this.presence.set(p.handle, p);
      this.emit('presence', p);
    }
  }

  close(): void {
    for (const off of this.#off.splice(0)) off();
    this.removeAllListeners();
  }

  #setOutgoing(callId: string, state: OutgoingState, reason: CallEndReason | null = null): boolean {
    if (!this.outgoing || this.outgoing.callId !== callId) return false;
    this.outgoing = { ...this.outgoing, state, reason };
    this.emit('outgoing', this.outgoing);
    return true;
  }
}
