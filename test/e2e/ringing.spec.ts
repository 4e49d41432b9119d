/** Calling people by handle: accept, decline, busy, no answer → missed call, cancel. */
import { expect, test, type Page } from '@playwright/test';
import { dial, expectMediaFlowing, person, signUp, snapshot, closePeople } from './media.ts';

test.afterEach(closePeople);

const incoming = (page: Page) => page.getByRole('dialog', { name: 'Incoming call' });
const status = (page: Page) => page.getByTestId('call-status');
const ended = (page: Page) => page.getByTestId('call-ended');

test('accept: the callee hears nothing until accepting, then both connect; hang-up ends it for both', async ({ browser }) => {
  const alice = await person(browser);
  const bob = await person(browser);
  const aliceHandle = await signUp(alice, 'Alice');
  const bobHandle = await signUp(bob, 'Bob');

  await dial(alice, bobHandle, 'Video call');
  await expect(status(alice)).toHaveText('Ringing…');
  await expect(incoming(bob)).toContainText('Alice');
  await expect(incoming(bob)).toContainText('Incoming video call');
  // The handle the server verified, set apart from the typed name.
  await expect(incoming(bob).getByTestId('verified-handle')).toHaveText(`✓ @${aliceHandle}`);
  // No media path exists for the callee before they accept.
  expect((await snapshot(bob)).peerConnections).toBe(0);

  await incoming(bob).getByRole('button', { name: 'Accept' }).click();
  for (const page of [alice, bob]) await expect(status(page)).toHaveText('Connected');
  for (const page of [alice, bob]) {
    const s = await expectMediaFlowing(page, { video: true });
    expect(s.outVideoCodec).toBe('video/H264');
    expect(s.outAudioCodec).toBe('audio/opus');
  }

  await bob.getByRole('button', { name: 'Hang up' }).click();
  await expect(ended(bob)).toContainText('You hung up');
  await expect(ended(alice)).toContainText('Call ended');
  expect((await snapshot(alice)).peerConnections).toBe(0);
});

test('decline: the caller sees "Call declined"', async ({ browser }) => {
  const alice = await person(browser);
  const bob = await person(browser);
  await signUp(alice, 'Alice');
  const bobHandle = await signUp(bob, 'Bob');
  await dial(alice, bobHandle, 'Voice call');
  await expect(incoming(bob)).toContainText('Incoming voice call');
  await incoming(bob).getByRole('button', { name: 'Decline' }).click();
  await expect(ended(alice)).toContainText('Call declined');
  await expect(incoming(bob)).toHaveCount(0);
});

test('busy: calling someone who is in a call', async ({ browser }) => {
  const alice = await person(browser);
  const bob = await person(browser);
  const carol = await person(browser);
  await signUp(alice, 'Alice');
  const bobHandle = await signUp(bob, 'Bob');
  await signUp(carol, 'Carol');
  await dial(alice, bobHandle, 'Voice call');
  await incoming(bob).getByRole('button', { name: 'Accept' }).click();
  await expect(status(bob)).toHaveText('Connected');

  await dial(carol, bobHandle, 'Voice call');
  await expect(ended(carol)).toContainText('Busy');
  // The call in progress is unaffected.
  await expect(status(alice)).toHaveText('Connected');
  await expectMediaFlowing(alice, { video: false });
});

test('no answer: the caller gives up after the timeout and the offline callee finds a missed call on return', async ({ browser }) => {
  const alice = await person(browser);
  const bob = await person(browser);
  // A display name made to look like someone else's handle.
  const aliceHandle = await signUp(alice, 'Carol (carol)');
  const bobHandle = await signUp(bob, 'Bob');
  // Bob goes offline (closes the tab); his identity stays in his browser.
  const bobContext = bob.context();
  await bob.close();

  await dial(alice, bobHandle, 'Video call');
  await expect(status(alice)).toHaveText('Calling…');
  await expect(ended(alice)).toContainText('No answer', { timeout: 15_000 });

  const bobAgain = await bobContext.newPage();
  await bobAgain.goto('/');
  const missed = bobAgain.getByTestId('missed-call');
  await expect(missed).toHaveCount(1);
  await expect(missed).toContainText('Carol (carol)');
  await expect(missed).toContainText('video');
  // Whatever the name says, the verified handle is Alice's, shown on its own.
  await expect(missed.getByTestId('verified-handle')).toHaveText(`✓ @${aliceHandle}`);
  expect(aliceHandle).not.toBe('carol');
  await missed.getByRole('button', { name: 'Dismiss' }).click();
  await expect(missed).toHaveCount(0);
  // Acknowledged records are deleted on the server: a new connection gets none.
  await bobAgain.reload();
  await expect(bobAgain.getByTestId('missed-calls')).toContainText('No missed calls');
});

test('cancel: the caller hangs up while it rings; the callee stops ringing and gets a missed call', async ({ browser }) => {
  const alice = await person(browser);
  const bob = await person(browser);
  await signUp(alice, 'Alice');
  const bobHandle = await signUp(bob, 'Bob');
  await dial(alice, bobHandle, 'Video call');
  await expect(incoming(bob)).toBeVisible();
  await alice.getByRole('button', { name: 'Hang up' }).click();
  await expect(ended(alice)).toContainText('Call cancelled');
  await expect(incoming(bob)).toHaveCount(0);
  await expect(bob.getByTestId('missed-call')).toContainText('Alice');
});
