import { describe, expect, it } from 'vitest';
import { sleep } from '../testing/harness.ts';
import type { Deployment } from '../testing/deployments.ts';
import { bothDeployments, withDeployment } from '../testing/withDeployment.ts';

const VIDEO = { audioMuted: false, videoEnabled: true };
const ENV = { RING_TIMEOUT_MS: '1500', RECONNECT_GRACE_MS: '300' };

// Every calling semantic holds on one node and across two nodes sharing Redis, where the clients
// alternate between the nodes (caller and callee, or two devices of one person, on different nodes).
describe.each(bothDeployments(ENV))('calling by handle (%s)', (_name, deploy: () => Promise<Deployment>) => {
  const fixture = withDeployment(deploy);
  const guest = (handle: string, key?: string) => fixture.guest(handle, key);

  it('rings, accepts, connects both into the call room, and hang-up ends it for the other side', async () => {
    const alice = await guest('alice');
    const bob = await guest('bob');
    const invite = await alice.ok('call.invite', { to: 'bob', video: true });
    expect(invite.state).toBe('ringing');
    expect(invite.roomId).toMatch(/^call-/);
    const incoming = await bob.next('call.incoming');
    expect(incoming).toMatchObject({ callId: invite.callId, from: { handle: 'alice', name: 'ALICE' }, video: true });

    await alice.ok('room.join', { roomId: invite.roomId, media: VIDEO });
    // The callee may not enter the room before answering.
    const early = await bob.request('room.join', { roomId: invite.roomId, media: VIDEO });
    expect(early).toMatchObject({ ok: false, error: { code: 'forbidden' } });

    const accepted = await bob.ok('call.accept', { callId: invite.callId });
    expect(accepted.roomId).toBe(invite.roomId);
    expect(await alice.next('call.accepted')).toEqual({ callId: invite.callId, roomId: invite.roomId });

    const join = await bob.ok('room.join', { roomId: invite.roomId, media: VIDEO });
    expect(join.room).toMatchObject({ kind: 'call', media: 'video' });
    expect(join.participants.map((p) => p.handle)).toEqual(['alice']);
    await alice.next('room.participantJoined');

    await alice.ok('room.leave', { roomId: invite.roomId });
    expect(await bob.next('call.ended')).toEqual({ callId: invite.callId, reason: 'hangup' });
    expect(fixture.server.liveCalls()).toBe(0);
    expect(fixture.server.roomCount()).toBe(0);
  });

  it('decline ends the call for the caller and files no missed call', async () => {
    const alice = await guest('alice');
    const bob = await guest('bob');
    const { callId } = await alice.ok('call.invite', { to: 'bob', video: false });
    await bob.next('call.incoming');
    await bob.ok('call.decline', { callId });
    expect(await alice.next('call.ended')).toEqual({ callId, reason: 'declined' });
    expect(await fixture.server.store.missedCalls('bob')).toEqual([]);
    expect(fixture.server.roomCount()).toBe(0);
  });

  it('busy: a callee already in a call refuses with `busy` and gets a missed call', async () => {
    const alice = await guest('alice');
    const bob = await guest('bob');
    const carol = await guest('carol');
    const { callId, roomId } = await alice.ok('call.invite', { to: 'bob', video: true });
    await bob.ok('call.accept', { callId });
    await bob.ok('room.join', { roomId, media: VIDEO });

    const res = await carol.request('call.invite', { to: 'bob', video: true });
    expect(res).toMatchObject({ ok: false, error: { code: 'busy' } });
    const missed = await bob.next('missedCalls');
    expect(missed.missedCalls).toHaveLength(1);
    expect(missed.missedCalls[0]).toMatchObject({ from: { handle: 'carol' }, reason: 'busy' });
    // The caller is busy too.
    expect(await alice.request('call.invite', { to: 'carol', video: true })).toMatchObject({ ok: false, error: { code: 'busy' } });
  });

  it('cancel before the answer stops the ringing and leaves a missed call', async () => {
    const alice = await guest('alice');
    const bob = await guest('bob');
    const { callId } = await alice.ok('call.invite', { to: 'bob', video: true });
    await bob.next('call.incoming');
    await alice.ok('call.cancel', { callId });
    expect(await bob.next('call.ended')).toEqual({ callId, reason: 'cancelled' });
    expect((await bob.next('missedCalls')).missedCalls[0]).toMatchObject({ callId, reason: 'cancelled' });
    // Accepting the cancelled call is refused and changes nothing.
    expect(await bob.request('call.accept', { callId })).toMatchObject({ ok: false, error: { code: 'call-ended' } });
    expect(fixture.server.liveCalls()).toBe(0);
  });

  it('no answer within the ring timeout ends the call on both sides', async () => {
    const alice = await guest('alice');
    const bob = await guest('bob');
    const { callId } = await alice.ok('call.invite', { to: 'bob', video: true });
    expect(await alice.next('call.ended', undefined, 4_000)).toEqual({ callId, reason: 'no-answer' });
    expect(await bob.next('call.ended')).toEqual({ callId, reason: 'no-answer' });
    expect((await bob.next('missedCalls')).missedCalls[0]).toMatchObject({ callId, reason: 'no-answer', video: true });
  });

  it('an offline callee gets the missed call when they reconnect, and it is deleted once acknowledged', async () => {
    const key = 'bob-device-key-0123456789';
    const bob = await guest('bob', key);
    bob.close();
    await sleep(100);
    const alice = await guest('alice');
    const invite = await alice.ok('call.invite', { to: 'bob', video: false });
    expect(invite.state).toBe('calling');
    expect(await alice.next('call.ended', undefined, 4_000)).toMatchObject({ reason: 'no-answer' });

    const back = await guest('bob', key);
    const { missedCalls } = await back.next('missedCalls');
    expect(missedCalls).toHaveLength(1);
    expect(missedCalls[0]).toMatchObject({ callId: invite.callId, from: { handle: 'alice' }, video: false, reason: 'no-answer' });
    expect(await back.ok('missedCalls.ack', { ids: [missedCalls[0]!.id] })).toEqual({ remaining: 0 });
    back.close();
    await sleep(100);

    const again = await guest('bob', key);
    await again.next('session');
    await sleep(200);
    expect(again.has('missedCalls')).toBe(false);
  });

  it('a callee who comes online while the call is placed starts ringing', async () => {
    const key = 'bob-device-key-abcdefghij';
    (await guest('bob', key)).close();
    await sleep(100);
    const alice = await guest('alice');
    const { callId } = await alice.ok('call.invite', { to: 'bob', video: true });
    const bob = await guest('bob', key);
    expect(await bob.next('call.incoming')).toMatchObject({ callId });
    expect(await alice.next('call.ringing')).toEqual({ callId });
    await bob.ok('call.accept', { callId });
    await alice.next('call.accepted');
  });

  it('rings every device of the callee; answering on one stops the others', async () => {
    const key = 'bob-shared-device-key-123';
    const alice = await guest('alice');
    const phone = await guest('bob', key);
    const laptop = await guest('bob', key);
    const { callId } = await alice.ok('call.invite', { to: 'bob', video: true });
    await phone.next('call.incoming');
    await laptop.next('call.incoming');
    await phone.ok('call.accept', { callId });
    expect(await laptop.next('call.ended')).toEqual({ callId, reason: 'answered-elsewhere' });
    expect(await laptop.request('call.accept', { callId })).toMatchObject({ ok: false, error: { code: 'invalid-state' } });
  });

  it('refuses calls that make no sense with typed errors', async () => {
    const alice = await guest('alice');
    const bob = await guest('bob');
    expect(await alice.request('call.invite', { to: 'alice', video: true })).toMatchObject({ ok: false, error: { code: 'self-call' } });
    expect(await alice.request('call.invite', { to: 'nobody', video: true })).toMatchObject({ ok: false, error: { code: 'unknown-user' } });
    expect(await alice.request('call.accept', { callId: 'doesnotexist' })).toMatchObject({ ok: false, error: { code: 'unknown-call' } });
    const { callId } = await alice.ok('call.invite', { to: 'bob', video: true });
    // Only the callee may answer, only the caller may cancel.
    expect(await alice.request('call.accept', { callId })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await bob.request('call.cancel', { callId })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(fixture.server.liveCalls()).toBe(1);
  });

  it('a caller whose connection drops cancels the ringing call', async () => {
    const alice = await guest('alice');
    const bob = await guest('bob');
    const { callId } = await alice.ok('call.invite', { to: 'bob', video: true });
    await bob.next('call.incoming');
    alice.close();
    expect(await bob.next('call.ended')).toEqual({ callId, reason: 'cancelled' });
  });

  it('presence: only of contacts (a shared room, or they called you), online and offline with last seen; strangers hidden', async () => {
    const alice = await guest('alice');
    const key = 'bob-presence-key-0123456';
    const bob0 = await guest('bob', key);
    expect(await alice.ok('presence.watch', { handles: ['bob'] }), 'a stranger is hidden').toEqual({ presence: [], hidden: ['bob'] });
    // Bob calls Alice: she may follow him from now on (to call back); he may not follow her.
    const { callId } = await bob0.ok('call.invite', { to: 'alice', video: false });
    await bob0.ok('call.cancel', { callId });
    expect(await bob0.ok('presence.watch', { handles: ['alice'] })).toEqual({ presence: [], hidden: ['alice'] });
    bob0.close();
    await sleep(100);
    const { presence, hidden } = await alice.ok('presence.watch', { handles: ['bob', 'zed'] });
    expect(hidden).toEqual(['zed']);
    expect(presence).toHaveLength(1);
    expect(presence[0]).toMatchObject({ handle: 'bob', online: false });
    expect(typeof presence[0]!.lastSeen).toBe('number');
    const bob = await guest('bob', key);
    expect(await alice.next('presence')).toMatchObject({ handle: 'bob', online: true, lastSeen: null });
    bob.close();
    const off = await alice.next('presence');
    expect(off.online).toBe(false);
    expect(off.lastSeen).toBeGreaterThan(Date.now() - 5_000);
  });

  it('people who shared a room may follow each other', async () => {
    const ann = await guest('ann');
    const ben = await guest('ben');
    const roomId = `met-${Date.now()}`;
    await ann.ok('room.join', { roomId, media: { audioMuted: false, videoEnabled: false } });
    await ben.ok('room.join', { roomId, media: { audioMuted: false, videoEnabled: false } });
    await sleep(100);
    expect((await ann.ok('presence.watch', { handles: ['ben'] })).presence).toMatchObject([{ handle: 'ben', online: true }]);
    expect((await ben.ok('presence.watch', { handles: ['ann'] })).presence).toMatchObject([{ handle: 'ann', online: true }]);
  });

  it('calling someone busy files one missed call per caller until they have seen it', async () => {
    const alice = await guest('alice');
    const bob = await guest('bob');
    const carol = await guest('carol');
    const { callId } = await alice.ok('call.invite', { to: 'bob', video: false });
    await bob.next('call.incoming');
    await bob.ok('call.accept', { callId });
    for (let i = 0; i < 3; i++) expect(await carol.request('call.invite', { to: 'bob', video: false })).toMatchObject({ ok: false, error: { code: 'busy' } });
    await sleep(100);
    const pending = await fixture.server.store.missedCalls('bob');
    expect(pending.filter((m) => m.from.handle === 'carol').map((m) => m.reason)).toEqual(['busy']);
    await bob.ok('missedCalls.ack', { ids: pending.map((m) => m.id) });
    expect(await carol.request('call.invite', { to: 'bob', video: false })).toMatchObject({ ok: false, error: { code: 'busy' } });
    await sleep(100);
    expect((await fixture.server.store.missedCalls('bob')).filter((m) => m.from.handle === 'carol')).toHaveLength(1);
  });
});
