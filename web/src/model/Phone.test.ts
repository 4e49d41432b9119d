/** Calling by handle in the model, with a fake signaling server: ring, answer, end, hang up. */
import { describe, expect, it } from 'vitest';
import { Phone } from './Phone.ts';
import { FakeSignaling } from './testing/fakes.ts';

function setup() {
  const signaling = new FakeSignaling();
  signaling.handle('call.invite', () => ({ callId: 'call-1-abcdef', roomId: 'call-call-1-abcdef', state: 'ringing' }));
  signaling.handle('call.cancel', () => ({}));
  signaling.handle('call.accept', () => ({ roomId: 'call-call-2-abcdef' }));
  signaling.handle('call.decline', () => ({}));
  return { signaling, phone: new Phone(signaling) };
}

describe('Phone (model, fake signaling)', () => {
  it('an outgoing call rings, is accepted, and ends when the other side hangs up', async () => {
    const { signaling, phone } = setup();
    const states: string[] = [];
    phone.on('outgoing', (o) => states.push(o.state));
    const ended: string[] = [];
    phone.on('callEnded', ({ reason }) => ended.push(reason));
    await phone.call('bob', true);
    signaling.push('call.accepted', { callId: 'call-1-abcdef', roomId: 'call-call-1-abcdef' });
    expect(phone.activeCallId).toBe('call-1-abcdef');
    signaling.push('call.ended', { callId: 'call-1-abcdef', reason: 'hangup' });
    expect(states).toEqual(['ringing', 'accepted']);
    expect(ended).toEqual(['hangup']);
    expect(phone.activeCallId).toBeNull();
  });

  it('hanging up an unanswered call cancels it; hanging up an answered one is not "ended by them"', async () => {
    const { signaling, phone } = setup();
    await phone.call('bob', false);
    expect(await phone.hangUp()).toBe('cancelled');
    expect(signaling.sentOf('call.cancel')).toEqual([{ callId: 'call-1-abcdef' }]);

    await phone.call('bob', false);
    signaling.push('call.accepted', { callId: 'call-1-abcdef', roomId: 'call-call-1-abcdef' });
    const ended: string[] = [];
    phone.on('callEnded', ({ reason }) => ended.push(reason));
    expect(await phone.hangUp()).toBe('ended');
    signaling.push('call.ended', { callId: 'call-1-abcdef', reason: 'hangup' });
    expect(ended, 'our own hang-up is not reported as theirs').toEqual([]);
  });

  it('an incoming call rings until answered elsewhere; accepting one makes it ours', async () => {
    const { signaling, phone } = setup();
    const gone: string[] = [];
    phone.on('incomingEnded', ({ reason }) => gone.push(reason));
    signaling.push('call.incoming', { callId: 'call-2-abcdef', from: { handle: 'ann', name: 'Ann' }, video: true });
    expect(phone.incoming.has('call-2-abcdef')).toBe(true);
    expect(await phone.accept('call-2-abcdef')).toBe('call-call-2-abcdef');
    expect(phone.activeCallId).toBe('call-2-abcdef');
    signaling.push('call.incoming', { callId: 'call-3-abcdef', from: { handle: 'cat', name: 'Cat' }, video: false });
    signaling.push('call.ended', { callId: 'call-3-abcdef', reason: 'answered-elsewhere' });
    expect(gone).toEqual(['answered-elsewhere']);
  });
});
