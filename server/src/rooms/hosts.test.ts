/**
 * Hosts of call links, at the protocol level: the creator's host secret, lock and lobby, admit
 * and deny, removal, and a request to mute. On one node, and on two nodes sharing Redis with
 * host and guests on different nodes (lobby news and tickets cross nodes).
 */
import { describe, expect, it } from 'vitest';
import { sleep } from '../testing/harness.ts';
import type { Deployment } from '../testing/deployments.ts';
import { bothDeployments, withDeployment } from '../testing/withDeployment.ts';

const VOICE = { audioMuted: false, videoEnabled: false };

describe.each(bothDeployments())('hosts of call links (%s)', (_name, deploy: () => Promise<Deployment>) => {
  const fixture = withDeployment(deploy);
  // A fixed device key per handle: a person who reconnects keeps their handle.
  const guest = (handle: string) => fixture.guest(handle, `${handle}-device-key-0123456789`);

  /** Hana creates a link and joins it as host; Gus joins as a guest. */
  async function hostedCall() {
    const hana = await guest('hana');
    const gus = await guest('gus');
    const { roomId, hostSecret } = await hana.ok('room.create', { video: false });
    expect(hostSecret.length).toBeGreaterThanOrEqual(22);
    const gusJoin = await gus.ok('room.join', { roomId, media: VOICE });
    expect(gusJoin.self.host).toBe(false);
    expect(gusJoin.hostSecret, 'a guest never learns the host secret').toBeUndefined();
    const hanaJoin = await hana.ok('room.join', { roomId, media: VOICE, host: hostSecret });
    expect(hanaJoin.self.host).toBe(true);
    expect(hanaJoin.hostSecret).toBe(hostSecret);
    expect((await gus.next('room.participantJoined')).participant).toMatchObject({ handle: 'hana', host: true });
    return { hana, gus, roomId, hostSecret, hanaId: hanaJoin.self.id, gusId: gusJoin.self.id };
  }

  // Without the SFU (as here) a call holds two people: each test keeps to two in the room.

  it('the creator is host only with the host secret; a wrong secret joins as a guest', async () => {
    const hana = await guest('hana');
    const { roomId } = await hana.ok('room.create', { video: false });
    const eve = await guest('eve');
    const eveJoin = await eve.ok('room.join', { roomId, media: VOICE, host: 'not-the-host-secret-at-all' });
    expect(eveJoin.self.host).toBe(false);
    expect(await eve.request('room.lock', { roomId, locked: true })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('whoever opens a link by joining it is its host and gets the secret', async () => {
    const first = await guest('first');
    const roomId = `opened-${Date.now()}`;
    const join = await first.ok('room.join', { roomId, media: VOICE });
    expect(join.self.host).toBe(true);
    expect(join.hostSecret).toEqual(expect.any(String));
    expect(join.room.locked).toBe(false);
  });

  it('lock: newcomers get room-locked, knock, wait in the lobby the host sees, and join with the ticket when admitted', async () => {
    const { hana, gus, roomId } = await hostedCall();
    expect((await hana.ok('room.lock', { roomId, locked: true })).room.locked).toBe(true);
    expect((await gus.next('room.updated')).room.locked).toBe(true);

    const kim = await guest('kim');
    expect(await kim.request('room.join', { roomId, media: VOICE })).toMatchObject({ ok: false, error: { code: 'room-locked' } });
    const { lobbyId } = await kim.ok('room.knock', { roomId, name: 'Kim K' });
    expect(await hana.next('room.lobby')).toEqual({ roomId, lobby: [{ id: lobbyId, handle: 'kim', name: 'Kim K', at: expect.any(Number) }] });
    expect(gus.has('room.lobby'), 'only hosts see the lobby').toBe(false);
    expect(await gus.request('room.admit', { roomId, lobbyId, admit: true })).toMatchObject({ ok: false, error: { code: 'forbidden' } });

    await hana.ok('room.admit', { roomId, lobbyId, admit: true });
    const { ticket } = await kim.next('room.admitted');
    expect((await hana.next('room.lobby')).lobby).toEqual([]);
    await gus.ok('room.leave', { roomId });
    // A ticket is the admitted person's, once.
    const eve = await guest('eve');
    expect(await eve.request('room.join', { roomId, media: VOICE, admission: ticket })).toMatchObject({ ok: false, error: { code: 'room-locked' } });
    const kimJoin = await kim.ok('room.join', { roomId, media: VOICE, admission: ticket });
    expect(kimJoin.participants.map((p) => p.handle)).toEqual(['hana']);
    await kim.ok('room.leave', { roomId });
    expect(await kim.request('room.join', { roomId, media: VOICE, admission: ticket })).toMatchObject({ ok: false, error: { code: 'room-locked' } });
  });

  it('deny: the person waiting is told and stays out; leaving the lobby or disconnecting takes them off the list', async () => {
    const { hana, roomId } = await hostedCall();
    await hana.ok('room.lock', { roomId, locked: true });
    const kim = await guest('kim');
    const { lobbyId } = await kim.ok('room.knock', { roomId });
    await hana.next('room.lobby');
    await hana.ok('room.admit', { roomId, lobbyId, admit: false });
    expect(await kim.next('room.denied')).toEqual({ roomId });
    await hana.next('room.lobby');

    const lee = await guest('lee');
    await lee.ok('room.knock', { roomId });
    expect((await hana.next('room.lobby')).lobby).toHaveLength(1);
    await lee.ok('room.knockCancel', { roomId });
    expect((await hana.next('room.lobby')).lobby).toEqual([]);
    await lee.ok('room.knock', { roomId });
    expect((await hana.next('room.lobby')).lobby).toHaveLength(1);
    lee.close();
    expect((await hana.next('room.lobby')).lobby).toEqual([]);
  });

  it('unlocking lets everyone waiting in', async () => {
    const { hana, gus, roomId } = await hostedCall();
    await gus.ok('room.leave', { roomId });
    await hana.ok('room.lock', { roomId, locked: true });
    const kim = await guest('kim');
    await kim.ok('room.knock', { roomId });
    await hana.next('room.lobby');
    await hana.ok('room.lock', { roomId, locked: false });
    const { ticket } = await kim.next('room.admitted');
    await kim.ok('room.join', { roomId, media: VOICE, admission: ticket });
  });

  it('remove: the person is told, the others see them leave as removed, and they cannot come back on their own', async () => {
    const { hana, gus, roomId, gusId, hanaId } = await hostedCall();
    expect(await gus.request('room.remove', { roomId, participantId: hanaId }), 'guests cannot remove').toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    await hana.ok('room.remove', { roomId, participantId: gusId });
    expect(await gus.next('room.removed')).toEqual({ roomId });
    expect(await hana.next('room.participantLeft')).toEqual({ roomId, participantId: gusId, reason: 'removed' });
    expect(await gus.request('participant.update', { roomId, audioMuted: true })).toMatchObject({ ok: false, error: { code: 'not-in-room' } });

    // Unlocked call: back only through the lobby.
    expect(await gus.request('room.join', { roomId, media: VOICE })).toMatchObject({ ok: false, error: { code: 'room-locked' } });
    // Locked call: not even that.
    await hana.ok('room.lock', { roomId, locked: true });
    expect(await gus.request('room.join', { roomId, media: VOICE })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await gus.request('room.knock', { roomId })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('a request to mute reaches only its target, who decides', async () => {
    const { hana, gus, roomId, gusId, hanaId } = await hostedCall();
    await hana.ok('participant.requestMute', { roomId, participantId: gusId });
    expect(await gus.next('room.muteRequested')).toEqual({ roomId, from: hanaId });
    await sleep(100);
    expect(hana.has('room.muteRequested')).toBe(false);
    expect(await gus.request('participant.requestMute', { roomId, participantId: hanaId })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('the host reloads: the host secret makes them host again; nobody else can take over', async () => {
    const { hana, gus, roomId, hostSecret } = await hostedCall();
    hana.close();
    await sleep(200);
    // A new connection of the same person: their dropped seat gives way, and the secret makes them host.
    const again = await guest('hana');
    const join = await again.ok('room.join', { roomId, media: VOICE, host: hostSecret });
    expect(join.self.host).toBe(true);
    await again.ok('room.lock', { roomId, locked: true });
    expect(await gus.request('room.lock', { roomId, locked: false })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('a locked call whose host left answers knocks with room-locked, and tells those waiting', async () => {
    const { hana, gus, roomId } = await hostedCall();
    await hana.ok('room.lock', { roomId, locked: true });
    const kim = await guest('kim');
    await kim.ok('room.knock', { roomId });
    await hana.next('room.lobby');
    await hana.ok('room.leave', { roomId });
    expect(await kim.next('room.denied')).toEqual({ roomId });
    expect(await kim.request('room.knock', { roomId })).toMatchObject({
      ok: false,
      error: { code: 'room-locked', message: expect.stringContaining('host is not in it') },
    });
    expect(gus).toBeTruthy();
  });
});
