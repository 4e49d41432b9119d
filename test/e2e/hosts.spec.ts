/**
 * The host of a call link, as people use it: the person who starts a link is its host; they ask
 * someone to mute, lock the call, let a newcomer in from the lobby, remove someone (who cannot
 * come back while it is locked), and are still host after a reload.
 */
import { expect, test } from '@playwright/test';
import { closePeople, expectMediaFlowing, person } from './media.ts';

test.afterEach(closePeople);

test('the host asks to mute, locks, admits from the lobby, removes; the removed cannot come back; a reload keeps the host', async ({ browser }) => {
  const alice = await person(browser);
  await alice.goto('/');
  await alice.getByLabel('Your name').fill('Alice');
  await alice.getByRole('button', { name: 'Continue' }).click();
  await alice.getByRole('button', { name: 'New voice call', exact: true }).click();
  await expect(alice).toHaveURL(/\/call\//);
  const link = (await alice.getByTestId('call-link').inputValue()).replace(/\?.*$/, '');
  await expect(alice.getByRole('button', { name: 'Lock call' })).toBeVisible();

  const bob = await person(browser);
  await bob.goto(`${link}?name=Bob&video=0`);
  for (const page of [alice, bob]) await expect(page.getByTestId('call-status')).toHaveText('Connected');
  // Only the host has host controls.
  await expect(bob.getByRole('button', { name: 'Lock call' })).toHaveCount(0);
  await expect(bob.getByRole('button', { name: 'Remove Alice' })).toHaveCount(0);

  // A request to mute: Bob decides, and mutes.
  await alice.getByRole('button', { name: 'Ask Bob to mute' }).click();
  await expect(bob.getByRole('alert')).toContainText('Alice asks you to mute your microphone');
  await bob.getByRole('button', { name: 'Mute', exact: true }).first().click();
  await expect(alice.getByTestId('remote-muted')).toBeVisible();

  // Locked: a newcomer waits in the lobby until the host lets them in.
  await alice.getByRole('button', { name: 'Lock call' }).click();
  await expect(alice.getByRole('button', { name: 'Unlock call' })).toHaveAttribute('aria-pressed', 'true');
  await expect(bob.getByTestId('locked-badge')).toBeVisible();
  const carol = await person(browser);
  await carol.goto(`${link}?name=Carol&video=0`);
  await expect(carol.getByTestId('call-status')).toHaveText(/locked — waiting for the host/);
  const entry = alice.getByTestId('lobby-entry');
  await expect(entry).toContainText('Carol');
  await expect(entry.getByTestId('verified-handle')).toHaveText(/✓ @carol-/);
  await alice.getByRole('button', { name: 'Admit Carol' }).click();
  await expect(alice.getByTestId('lobby')).toBeHidden();
  await expect(carol.getByTestId('call-status')).toHaveText('Connected', { timeout: 20_000 });
  await expect(carol.getByTestId('remote-tile')).toHaveCount(2);
  await expectMediaFlowing(carol, { video: false });

  // Removed: Bob is told, the others see him go, and he cannot come back while it is locked.
  await alice.getByRole('button', { name: 'Remove Bob' }).click();
  await expect(bob.getByTestId('call-ended')).toContainText('You were removed from the call');
  await expect(carol.getByTestId('remote-tile')).toHaveCount(1);
  await bob.goto(`${link}?name=Bob&video=0`);
  await expect(bob.getByTestId('call-ended')).toContainText('You were not let in');
  await expect(bob.getByTestId('call-ended')).toContainText('removed you from this call, and it is locked');

  // A reload: Alice's browser kept the host secret, so she is host again.
  await alice.reload();
  await alice.getByRole('button', { name: 'Join', exact: true }).click();
  await expect(alice.getByRole('button', { name: 'Unlock call' })).toBeVisible();
  await expect(alice.getByTestId('call-status')).toHaveText('Connected', { timeout: 20_000 });
  await expect(alice.getByRole('button', { name: 'Remove Carol' })).toBeVisible();
});

test('a host who turns someone away: they are told, and never enter', async ({ browser }) => {
  const room = `deny-${Date.now()}`;
  const alice = await person(browser);
  await alice.goto(`/call/${room}?name=Alice&video=0`);
  await expect(alice.getByRole('button', { name: 'Lock call' })).toBeVisible();
  await alice.getByRole('button', { name: 'Lock call' }).click();
  await expect(alice.getByTestId('locked-badge')).toBeVisible();

  const mallory = await person(browser);
  await mallory.goto(`/call/${room}?name=Mallory&video=0`);
  await expect(mallory.getByTestId('call-status')).toHaveText(/waiting for the host/);
  await alice.getByRole('button', { name: 'Deny Mallory' }).click();
  await expect(mallory.getByTestId('call-ended')).toContainText('You were not let in');
  await expect(alice.getByTestId('remote-tile')).toHaveCount(0);
});
