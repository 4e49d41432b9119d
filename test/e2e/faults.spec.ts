/**
 * Faults mid-call, recovered without anyone touching anything: the signaling server restarts,
 * the TURN relay restarts. Each test prints how long until media flowed again.
 * (A killed mediasoup worker is in sfu-recovery.spec.ts.)
 */
import { expect, test, type Page } from '@playwright/test';
import { CallwireServer } from '../../server/src/CallwireServer.ts';
import { loadConfig } from '../../server/src/config.ts';
import { TurnServer } from '../../turn/src/index.ts';
import { expectMediaFlowing, person, snapshot, closePeople } from './media.ts';

test.afterEach(closePeople);

const env = (port: number, extra: Record<string, string> = {}) =>
  loadConfig({
    DATA_DIR: ':memory:',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    SFU_ENABLED: 'false',
    TURN_SECRET: 'fault-test-secret-0123456789',
    ...extra,
  });

/** Remote video frames decoded on `page`'s live connections. */
const frames = async (page: Page) => (await snapshot(page)).framesDecoded;

/**
 * Time until `page` decodes new remote video frames again after a fault at `since` (polled every
 * 100 ms, max 60 s). With `stallFirst`, media must first be seen to stop (frames already on their
 * way when the fault hit still decode for a moment: they are not recovery).
 */
async function untilFramesFlow(page: Page, since: number, { stallFirst = false } = {}): Promise<number> {
  const start = Date.now();
  let last = await frames(page);
  if (stallFirst) {
    let still = Date.now();
    while (Date.now() - still < 600) {
      if (Date.now() - start > 20_000) throw new Error('media never stopped after the fault');
      await page.waitForTimeout(100);
      const now = await frames(page);
      if (now > last) still = Date.now();
      last = now;
    }
  }
  while (Date.now() - start < 60_000) {
    await page.waitForTimeout(100);
    const now = await frames(page);
    // A new peer connection starts from zero: any increase on the live ones counts.
    if (now > last && now - last >= 2) return Date.now() - since;
    last = Math.min(last, now);
  }
  throw new Error('media did not come back within 60 s');
}

test('the signaling server restarts mid-call: both people are back in the call by themselves', async ({ browser }) => {
  const port = 3291;
  let server = new CallwireServer(env(port, { TURN_ENABLED: 'false' }));
  await server.start();
  const room = `restart-${Date.now()}`;
  const pages: Page[] = [];
  try {
    for (const name of ['Ann', 'Ben']) {
      const page = await person(browser);
      await page.goto(`http://127.0.0.1:${port}/call/${room}?name=${name}`);
      pages.push(page);
    }
    for (const p of pages) await expect(p.getByTestId('call-status')).toHaveText('Connected');
    await expectMediaFlowing(pages[1]!, { video: true });

    const t0 = Date.now();
    await server.close();
    server = new CallwireServer(env(port, { TURN_ENABLED: 'false' }));
    await server.start();
    for (const p of pages) await expect(p.getByTestId('call-status')).toHaveText('Connected', { timeout: 30_000 });
    const ms = await untilFramesFlow(pages[1]!, t0);
    console.log(`signaling restart → media flowing again after ${ms} ms`);
    for (const p of pages) await expectMediaFlowing(p, { video: true });
    expect(server.rooms.get(room)?.participants.size).toBe(2);
  } finally {
    for (const p of pages) await p.context().close();
    await server.close();
  }
});

test('the TURN relay restarts mid-call: a relay-only call recovers through ICE restart', async ({ browser }) => {
  const port = 3292;
  const server = new CallwireServer(env(port, { TURN_UDP_PORT: '3493', TURN_TCP_PORT: 'off' }));
  await server.start();
  const room = `turn-restart-${Date.now()}`;
  const pages: Page[] = [];
  try {
    for (const name of ['Ann', 'Ben']) {
      const page = await person(browser);
      await page.goto(`http://127.0.0.1:${port}/call/${room}?name=${name}&relay=udp`);
      pages.push(page);
    }
    for (const p of pages) await expect(p.getByTestId('call-status')).toHaveText('Connected', { timeout: 30_000 });
    const before = await expectMediaFlowing(pages[1]!, { video: true });
    expect(before.candidateType).toBe('relay');

    const t0 = Date.now();
    const config = server.turn!.config;
    await server.turn!.close();
    server.turn = await TurnServer.start(config);
    const ms = await untilFramesFlow(pages[1]!, t0, { stallFirst: true });
    console.log(`TURN restart → media flowing again after ${ms} ms`);
    // Both sides restart ICE on their own; the one that finishes second can interrupt the path
    // the first found for a moment, so media must be flowing steadily within a bound, both ways.
    for (const p of pages) {
      await expect(async () => {
        const s = await expectMediaFlowing(p, { video: true });
        expect(s.candidateType).toBe('relay');
      }).toPass({ timeout: 20_000 });
    }
    expect(server.turn.stats().allocations).toBeGreaterThanOrEqual(2);
  } finally {
    for (const p of pages) await p.context().close();
    await server.close();
  }
});
