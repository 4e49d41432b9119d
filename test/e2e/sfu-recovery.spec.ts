/**
 * Group calls recover without anyone doing anything: a killed mediasoup worker, a participant
 * whose network drops for a few seconds. And a full call says so to the person who cannot join.
 */
import { expect, test, type Browser, type Page } from '@playwright/test';
import type { CallwireServer } from '../../server/src/CallwireServer.ts';
import { startSfuServer } from '../../server/src/testing/harness.ts';
import { TestClient } from '../../server/src/testing/harness.ts';
import { expectMediaFlowing, person, snapshot, closePeople, untilNewVideoStreams } from './media.ts';
import type {} from '../../web/src/testHook.ts';

test.afterEach(closePeople);

let server: CallwireServer;
test.beforeAll(async () => {
  server = await startSfuServer(40_600, { RECONNECT_GRACE_MS: '15000' });
  expect(server.sfu, 'SFU running').not.toBeNull();
});
test.afterAll(async () => server?.close());

async function group(browser: Browser, room: string, names: string[]): Promise<Page[]> {
  const pages: Page[] = [];
  for (const name of names) {
    const page = await person(browser);
    await page.goto(`${server.url}/call/${room}?name=${name}&res=320x240`);
    pages.push(page);
  }
  for (const page of pages) await expect.poll(async () => (await snapshot(page)).inVideoStreams, { timeout: 30_000 }).toBe(names.length - 1);
  return pages;
}

test('a killed media worker is replaced and everyone’s media comes back without user action', async ({ browser }) => {
  const pages = await group(browser, `kill-${Date.now()}`, ['Ann', 'Ben', 'Cat']);
  const pid = server.sfu!.pool.slots[0]!.pid;
  const before = await Promise.all(pages.map((p) => snapshot(p)));
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  // Fresh SFU sessions: every page decodes both others again, on new consumers.
  const back = await Promise.all(pages.map((p, i) => untilNewVideoStreams(p, before[i]!, 2, killedAt)));
  expect(server.sfu!.pool.slots[0]?.pid, 'a new worker').not.toBe(pid);
  for (const page of pages) await expectMediaFlowing(page, { video: true });
  console.log(`worker killed → video from both others again after ${back.join(', ')} ms (Ann, Ben, Cat)`);
  for (const p of pages) await p.context().close();
});

test('a participant offline for a few seconds resumes the same seat', async ({ browser }) => {
  const pages = await group(browser, `offline-${Date.now()}`, ['Ann', 'Ben', 'Cat']);
  const [ann, ben] = pages as [Page, Page, Page];
  const selfId = () => ann.evaluate(() => window.callwire!.selfId());
  const before = await selfId();
  await ann.context().setOffline(true);
  await ann.waitForTimeout(4_000);
  await ann.context().setOffline(false);
  await expect(ann.getByTestId('call-status')).toHaveText('Connected', { timeout: 20_000 });
  expect(await selfId(), 'same participant').toBe(before);
  await expect(ben.getByTestId('remote-tile')).toHaveCount(2);
  for (const page of pages) await expectMediaFlowing(page, { video: true });
  for (const p of pages) await p.context().close();
});

test('the next person to open a full call is told "call is full"; a camera in a large call is refused', async ({ browser }) => {
  const room = `full-${Date.now()}`;
  const bots: TestClient[] = [];
  try {
    // Lightweight protocol-level participants fill the voice call.
    for (let i = 0; i < 31; i++) {
      const c = await TestClient.guest(server.url, `filler${i}`);
      bots.push(c);
      await c.ok('room.join', { roomId: room, media: { audioMuted: true, videoEnabled: false } });
    }
    // The 32nd is a person, voice only; turning the camera on is refused with a reason.
    const ann = await person(browser);
    await ann.goto(`${server.url}/call/${room}?name=Ann&video=0`);
    await expect(ann.getByTestId('call-view')).toBeVisible();
    await expect(ann.getByRole('button', { name: 'Camera on' })).toBeVisible({ timeout: 15_000 });
    await ann.getByRole('button', { name: 'Camera on' }).click();
    await expect(ann.getByText('video is limited to calls of 8 people or fewer')).toBeVisible();
    // The 33rd person.
    const late = await person(browser);
    await late.goto(`${server.url}/call/${room}?name=Late`);
    await expect(late.getByTestId('call-ended')).toContainText('This call is full');
    await expect(late.getByTestId('end-reason')).toContainText('32 people');
  } finally {
    for (const c of bots) c.close();
  }
});
