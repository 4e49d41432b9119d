/**
 * End-to-end encryption at the protocol level: the E2EE policy (required, preferred, off), the
 * identity keys participants see of each other, and media keys relayed as they are — on one
 * node, and on two nodes sharing Redis with the two people on different nodes.
 */
import { describe, expect, it } from 'vitest';
import { singleNode, type Deployment } from '../testing/deployments.ts';
import { bothDeployments, withDeployment } from '../testing/withDeployment.ts';

const VOICE = { audioMuted: false, videoEnabled: false };
// Any 65 bytes in base64url pass the schema; the server never uses a key, it only hands it on.
const keyOf = (c: string) => c.repeat(87);
const WRAPPED = 'w'.repeat(59);

describe.each(bothDeployments({ E2EE: 'required' }))('E2EE=required (%s)', (_name, deploy: () => Promise<Deployment>) => {
  const fixture = withDeployment(deploy);

  it('a join without an identity key is refused with e2ee-required, except in an echo room', async () => {
    const ann = await fixture.guest('ann', 'ann-device-key-0123456789');
    const res = await ann.request('room.join', { roomId: 'team-e2ee', media: VOICE });
    expect(res).toMatchObject({ ok: false, error: { code: 'e2ee-required' } });
    if (!res.ok) expect(res.error.message).toContain('cannot encrypt');
    // Nothing was opened by the refused join: the same person joins with a key.
    const joined = await ann.ok('room.join', { roomId: 'team-e2ee', media: VOICE, publicKey: keyOf('A') });
    expect(joined.room.e2ee).toBe(true);
    expect(joined.self.publicKey).toBe(keyOf('A'));
  });

  it('people see each other’s identity keys, and a media key reaches only the participant it is for, as sent', async () => {
    const ann = await fixture.guest('ann', 'ann-device-key-0123456789');
    const ben = await fixture.guest('ben', 'ben-device-key-0123456789');
    const a = await ann.ok('room.join', { roomId: 'team-keys', media: VOICE, publicKey: keyOf('A') });
    const b = await ben.ok('room.join', { roomId: 'team-keys', media: VOICE, publicKey: keyOf('B') });
    expect(b.participants.map((p) => p.publicKey)).toEqual([keyOf('A')]);
    expect((await ann.next('room.participantJoined')).participant.publicKey).toBe(keyOf('B'));
    await ann.ok('e2ee.key', { roomId: 'team-keys', to: b.self.id, keyId: 7, wrapped: WRAPPED });
    expect(await ben.next('e2ee.key')).toEqual({ roomId: 'team-keys', from: a.self.id, keyId: 7, wrapped: WRAPPED });
    // Not to yourself, not to strangers, and nothing malformed.
    expect(await ann.request('e2ee.key', { roomId: 'team-keys', to: a.self.id, keyId: 7, wrapped: WRAPPED })).toMatchObject({
      ok: false,
      error: { code: 'unknown-participant' },
    });
    expect(await ann.request('e2ee.key', { roomId: 'team-keys', to: b.self.id, keyId: 70_000, wrapped: WRAPPED })).toMatchObject({
      ok: false,
      error: { code: 'invalid-message' },
    });
    expect(await ann.request('e2ee.key', { roomId: 'team-keys', to: b.self.id, keyId: 1, wrapped: 'not base64url!' })).toMatchObject({
      ok: false,
      error: { code: 'invalid-message' },
    });
  });
});

describe('E2EE=preferred and off (one node)', () => {
  const fixture = withDeployment(() => singleNode({ E2EE: 'preferred' }));

  it('preferred: someone who cannot encrypt may join; the room is not encrypted while they are in it, and is again once they leave', async () => {
    const ann = await fixture.guest('ann', 'ann-device-key-0123456789');
    const old = await fixture.guest('old', 'old-device-key-0123456789');
    expect((await ann.ok('room.join', { roomId: 'team-mixed', media: VOICE, publicKey: keyOf('A') })).room.e2ee).toBe(true);
    const o = await old.ok('room.join', { roomId: 'team-mixed', media: VOICE });
    expect(o.room.e2ee).toBe(false);
    expect((await ann.next('room.updated')).room.e2ee).toBe(false);
    await old.ok('room.leave', { roomId: 'team-mixed' });
    expect((await ann.next('room.updated')).room.e2ee).toBe(true);
  });
});

describe('E2EE=off (one node)', () => {
  const fixture = withDeployment(() => singleNode({ E2EE: 'off' }));

  it('off: keys are not handed on and no room is encrypted', async () => {
    const ann = await fixture.guest('ann', 'ann-device-key-0123456789');
    const a = await ann.ok('room.join', { roomId: 'team-off', media: VOICE, publicKey: keyOf('A') });
    expect(a.room.e2ee).toBe(false);
    expect(a.self.publicKey).toBeNull();
  });
});
