/** A person starts a call link, a second person opens it, and they see and hear each other. */
import { expect, test } from '@playwright/test';
import { expectMediaFlowing, person, snapshot, closePeople } from './media.ts';

test.afterEach(closePeople);

test('a call link connects two browsers with Opus audio and H.264 (42e01f, mode 1) video', async ({ browser }) => {
  const alice = await person(browser);
  await alice.goto('/');
  await alice.getByLabel('Your name').fill('Alice');
  await alice.getByRole('button', { name: 'Continue' }).click();
  await alice.getByRole('button', { name: 'New call', exact: true }).click();
  await expect(alice).toHaveURL(/\/call\/(?:[a-z2-9]{5}-){5}[a-z2-9]$/);
  const link = await alice.getByTestId('call-link').inputValue();
  await expect(alice.getByTestId('call-status')).toHaveText('Waiting for others — share the link');

  const bob = await person(browser);
  await bob.goto(link);
  await bob.getByLabel('Your name').fill('Bob');
  await bob.getByRole('button', { name: 'Continue' }).click();
  await bob.getByLabel('Your name').fill('Bob');
  await bob.getByRole('button', { name: 'Join', exact: true }).click();

  for (const page of [alice, bob]) await expect(page.getByTestId('call-status')).toHaveText('Connected');
  for (const page of [alice, bob]) {
    const s = await expectMediaFlowing(page, { video: true });
    expect(s.outAudioCodec).toBe('audio/opus');
    expect(s.outVideoCodec).toBe('video/H264');
    expect(s.outVideoFmtp).toContain('profile-level-id=42e01f');
    expect(s.outVideoFmtp).toContain('packetization-mode=1');
    expect(s.inVideoCodec).toBe('video/H264');
    expect(s.candidateType).toBe('host');
  }
  await expect(bob.getByTestId('remote-tile')).toContainText('Alice');

  // The stats view shows what is going on.
  await alice.getByRole('button', { name: 'Stats' }).click();
  await expect(alice.getByTestId('stats-table')).toContainText('H264');
  await expect(alice.getByTestId('stats-table')).toContainText('opus');
  await expect(alice.getByTestId('stats-table')).toContainText(/Round trip\s*\d+ ms/);

  // Hanging up a link call leaves the other person waiting in the room.
  await bob.getByRole('button', { name: 'Hang up' }).click();
  await expect(bob.getByTestId('call-ended')).toContainText('You left the call');
  await expect(alice.getByTestId('call-status')).toHaveText('Waiting for others — share the link');
  expect((await snapshot(alice)).peerConnections).toBe(0);
});

test('?name= joins straight away; ?video=0 joins voice-only', async ({ browser }) => {
  const room = `direct-${Date.now()}`;
  const alice = await person(browser);
  const bob = await person(browser);
  await alice.goto(`/call/${room}?name=Alice`);
  await bob.goto(`/call/${room}?name=Bob&video=0`);
  for (const page of [alice, bob]) await expect(page.getByTestId('call-status')).toHaveText('Connected');

  const a = await expectMediaFlowing(alice, { video: false });
  const b = await expectMediaFlowing(bob, { video: true });
  expect(a.outAudioCodec).toBe('audio/opus');
  expect(b.outVideoBytes, 'voice-only sends no video').toBe(0);
  expect(b.outVideoCodec).toBeNull();
  // Alice sees Bob's avatar instead of video.
  await expect(alice.getByTestId('remote-tile')).toHaveClass(/no-video/);
  await expect(bob.getByTestId('remote-tile')).not.toHaveClass(/no-video/);
});
