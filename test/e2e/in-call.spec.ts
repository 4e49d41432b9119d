/** In a call: mute, camera off/on, voice → video with consent, ICE restart. */
import { expect, test, type Page } from '@playwright/test';
import { dial, expectMediaFlowing, localIceUfrag, person, signUp, snapshot, closePeople } from './media.ts';

test.afterEach(closePeople);

const status = (page: Page) => page.getByTestId('call-status');

test('mute is seen by the other side; camera off shows the avatar and on brings video back', async ({ browser }) => {
  const room = `mute-${Date.now()}`;
  const alice = await person(browser);
  const bob = await person(browser);
  await alice.goto(`/call/${room}?name=Alice`);
  await bob.goto(`/call/${room}?name=Bob`);
  for (const page of [alice, bob]) await expect(status(page)).toHaveText('Connected');

  await alice.getByRole('button', { name: 'Mute', exact: true }).click();
  await expect(bob.getByTestId('remote-muted')).toBeVisible();
  await expect(alice.getByRole('button', { name: 'Unmute' })).toHaveAttribute('aria-pressed', 'true');
  await alice.getByRole('button', { name: 'Unmute' }).click();
  await expect(bob.getByTestId('remote-muted')).toBeHidden();

  await alice.getByRole('button', { name: 'Camera off' }).click();
  await expect(bob.getByTestId('remote-tile')).toHaveClass(/no-video/);
  await expect(bob.getByTestId('remote-tile')).toContainText('A'); // avatar initials
  const frozen = (await snapshot(bob)).framesDecoded;
  await bob.waitForTimeout(1_500);
  expect((await snapshot(bob)).framesDecoded - frozen, 'no frames while the camera is off').toBeLessThan(5);

  await alice.getByRole('button', { name: 'Camera on' }).click();
  await expect(bob.getByTestId('remote-tile')).not.toHaveClass(/no-video/);
  await expectMediaFlowing(bob, { video: true });
});

test('voice call → video only after the other side agrees', async ({ browser }) => {
  const alice = await person(browser);
  const bob = await person(browser);
  await signUp(alice, 'Alice');
  const bobHandle = await signUp(bob, 'Bob');
  await dial(alice, bobHandle, 'Voice call');
  await bob.getByRole('dialog', { name: 'Incoming call' }).getByRole('button', { name: 'Accept' }).click();
  for (const page of [alice, bob]) await expect(status(page)).toHaveText('Connected');
  await expectMediaFlowing(bob, { video: false });
  expect((await snapshot(alice)).outVideoBytes).toBe(0);
  expect((await snapshot(bob)).outVideoBytes).toBe(0);

  // Asked and declined: still voice.
  await alice.getByRole('button', { name: 'Switch to video' }).click();
  await expect(bob.getByText('Alice wants to switch to video')).toBeVisible();
  await bob.getByRole('button', { name: 'Not now' }).click();
  await expect(alice.getByText('Bob declined video')).toBeVisible();
  expect((await snapshot(alice)).outVideoBytes).toBe(0);

  // Asked and accepted: both cameras on, H.264 both ways.
  await alice.getByRole('button', { name: 'Switch to video' }).click();
  await bob.getByRole('button', { name: 'Accept video' }).click();
  await expect(alice.getByRole('button', { name: 'Camera off' })).toBeVisible();
  await expect(bob.getByRole('button', { name: 'Camera off' })).toBeVisible();
  for (const page of [alice, bob]) {
    const s = await expectMediaFlowing(page, { video: true });
    expect(s.outVideoCodec).toBe('video/H264');
  }
});

test('an ICE restart keeps the call going', async ({ browser }) => {
  const room = `restart-${Date.now()}`;
  const alice = await person(browser);
  const bob = await person(browser);
  await alice.goto(`/call/${room}?name=Alice`);
  await bob.goto(`/call/${room}?name=Bob`);
  for (const page of [alice, bob]) await expect(status(page)).toHaveText('Connected');
  await expectMediaFlowing(bob, { video: true });

  const ufrag = () => localIceUfrag(alice);
  const before = await ufrag();
  // What the app does when the browser reports a network change.
  await alice.evaluate(() => window.dispatchEvent(new Event('online')));
  await expect.poll(ufrag, { message: 'new ICE credentials negotiated' }).not.toBe(before);
  for (const page of [alice, bob]) await expect(status(page)).toHaveText('Connected');
  await expectMediaFlowing(bob, { video: true });
  await expectMediaFlowing(alice, { video: true });
});
