/**
 * Several callwire nodes as one service: real node processes sharing a real Redis, and Debian's
 * HAProxy in front of them. People on different nodes call each other, share a call link through
 * one node's SFU, and keep their call when the node running it is killed (SIGKILL).
 */
import { expect, test, type Browser, type Page } from '@playwright/test';
import { HaproxyProcess } from '../../server/src/testing/HaproxyProcess.ts';
import { RedisProcess, freeTcpPort } from '../../server/src/testing/RedisProcess.ts';
import { ServerProcess } from '../../server/src/testing/ServerProcess.ts';
import { closePeople, dial, expectMediaFlowing, person, signUp, snapshot, untilNewVideoStreams, type MediaSnapshot } from './media.ts';
import { healthDetails } from '../../server/src/testing/health.ts';
import type {} from '../../web/src/testHook.ts';

test.afterEach(closePeople);

/** The nodes of the running test, so a failure can show what they logged. */
let current: Cluster | null = null;
// eslint-disable-next-line no-empty-pattern -- Playwright's fixture object must be destructured
test.afterEach(async ({}, testInfo) => {
  if (current && testInfo.status !== testInfo.expectedStatus) {
    for (const n of current.nodes) console.log(`--- log of node on port ${n.port} ---\n${n.log.slice(-4_000)}`);
  }
  current = null;
});

const status = (page: Page) => page.getByTestId('call-status');
const incoming = (page: Page) => page.getByRole('dialog', { name: 'Incoming call' });

interface Cluster {
  redis: RedisProcess;
  nodes: [ServerProcess, ServerProcess];
  close(): Promise<void>;
}

let rtcPort = 42_000;

/** Redis and two nodes, each with its own SFU (one worker, its own media port). */
async function cluster(): Promise<Cluster> {
  const redis = await RedisProcess.start();
  const env = (id: string) => ({
    REDIS_URL: redis.url,
    NODE_ID: id,
    TURN_ENABLED: 'false',
    SFU_WORKERS: '1',
    SFU_RTC_PORT: String((rtcPort += 10)),
    RING_TIMEOUT_MS: '20000',
    RECONNECT_GRACE_MS: '20000',
  });
  const nodes: ServerProcess[] = [];
  try {
    nodes.push(await ServerProcess.start(await freeTcpPort(), env('node-a')));
    nodes.push(await ServerProcess.start(await freeTcpPort(), env('node-b')));
  } catch (err) {
    for (const n of nodes) await n.kill();
    await redis.close();
    throw err;
  }
  return (current = {
    redis,
    nodes: nodes as [ServerProcess, ServerProcess],
    close: async () => {
      for (const n of nodes) await n.kill();
      await redis.close();
    },
  });
}

/** The node that runs `room` (it counts it in /healthz). */
async function ownerOf(c: Cluster): Promise<ServerProcess> {
  for (const n of c.nodes) {
    const h = (await healthDetails(n.url)).body;
    if ((h.rooms ?? 0) > 0) return n;
  }
  throw new Error('no node runs the room');
}

async function join(browser: Browser, origin: string, room: string, names: string[]): Promise<Page[]> {
  const pages: Page[] = [];
  for (const name of names) {
    const page = await person(browser);
    await page.goto(`${origin}/call/${room}?name=${name}&res=320x240`);
    pages.push(page);
    await expect(status(page)).toBeVisible({ timeout: 30_000 });
  }
  return pages;
}

test('a call by handle from a person on node A rings a person on node B; accepted, media flows peer to peer (H.264 + Opus)', async ({ browser }) => {
  const c = await cluster();
  try {
    const [a, b] = c.nodes;
    const ann = await person(browser);
    const ben = await person(browser);
    await signUp(ann, 'Ann', a.url);
    const benHandle = await signUp(ben, 'Ben', b.url);
    const t0 = Date.now();
    await dial(ann, benHandle, 'Video call');
    await expect(incoming(ben)).toContainText('Ann');
    console.log(`cross-node ring: dial → incoming call shown after ${Date.now() - t0} ms`);
    await incoming(ben).getByRole('button', { name: 'Accept' }).click();
    for (const page of [ann, ben]) await expect(status(page)).toHaveText('Connected', { timeout: 30_000 });
    for (const page of [ann, ben]) {
      const s = await expectMediaFlowing(page, { video: true });
      expect(s.outVideoCodec).toBe('video/H264');
      expect(s.inVideoCodec).toBe('video/H264');
      expect(s.inAudioCodec).toBe('audio/opus');
    }
  } finally {
    await c.close();
  }
});

test('one call link, people on both nodes: the room’s SFU runs on one node and everyone gets everyone’s media', async ({ browser }) => {
  const c = await cluster();
  try {
    const [a, b] = c.nodes;
    const room = `cluster-${Date.now()}`;
    const pages = [
      ...(await join(browser, a.url, room, ['Ann'])),
      ...(await join(browser, b.url, room, ['Ben'])),
      ...(await join(browser, a.url, room, ['Cat'])),
    ];
    for (const page of pages) await expect(status(page)).toHaveText('Connected', { timeout: 30_000 });
    for (const page of pages) {
      // Ann and Ben talked peer to peer before Cat came: wait until that link has handed over to the SFU.
      await expect.poll(() => page.evaluate(() => window.callwire!.p2pLinks() > 0), { timeout: 30_000, message: 'the P2P link is gone' }).toBe(false);
      await expect.poll(async () => (await snapshot(page)).inVideoStreams, { timeout: 30_000, message: 'video from both others' }).toBe(2);
      await expect.poll(async () => (await snapshot(page)).inAudioStreams, { timeout: 30_000, message: 'audio from both others' }).toBe(2);
      const s = await expectMediaFlowing(page, { video: true });
      expect(s.inVideoCodecs).toEqual(['video/H264', 'video/H264']);
    }
    // Only node A runs the room (and its media); B forwards Ben's requests there.
    expect(await ownerOf(c)).toBe(a);
  } finally {
    await c.close();
  }
});

test.describe('behind HAProxy', () => {
  test('the node running a 1:1 call link is killed: peer-to-peer media never stops, people reconnect to the other node', async ({ browser }) => {
    const c = await cluster();
    const lb = await HaproxyProcess.start([`127.0.0.1:${c.nodes[0].port}`, `127.0.0.1:${c.nodes[1].port}`]);
    try {
      const room = `lb-p2p-${Date.now()}`;
      const pages = await join(browser, lb.url, room, ['Ann', 'Ben']);
      for (const page of pages) await expect(status(page)).toHaveText('Connected', { timeout: 30_000 });
      for (const page of pages) await expectMediaFlowing(page, { video: true });
      const before = await Promise.all(pages.map((p) => snapshot(p)));
      const owner = await ownerOf(c);
      const killedAt = Date.now();
      await owner.kill('SIGKILL');
      // Sample every 250 ms for 12 s: the longest stretch in which no frame decoded on the original link.
      const longestStall = [0, 0];
      const lastGrowth = [killedAt, killedAt];
      let last = before;
      while (Date.now() - killedAt < 12_000) {
        await pages[0]!.waitForTimeout(250);
        const now = await Promise.all(pages.map((p) => snapshot(p)));
        now.forEach((s, i) => {
          if (s.framesDecoded > last[i]!.framesDecoded) lastGrowth[i] = Date.now();
          longestStall[i] = Math.max(longestStall[i]!, Date.now() - lastGrowth[i]!);
        });
        last = now;
      }
      for (const page of pages) await expect(status(page)).toHaveText('Connected', { timeout: 20_000 });
      console.log(`node killed mid P2P call: longest video stall ${longestStall.join(' / ')} ms (Ann / Ben)`);
      for (const [i, page] of pages.entries()) {
        const s = await expectMediaFlowing(page, { video: true });
        // The same peer connection, still carrying media: nobody renegotiated from scratch.
        expect(s.peerConnections).toBe(1);
        expect(Object.keys(s.framesDecodedByStream)).toEqual(Object.keys(before[i]!.framesDecodedByStream));
        expect(longestStall[i]).toBeLessThan(2_000);
      }
      const survivor = c.nodes.find((n) => n !== owner)!;
      expect((await healthDetails(survivor.url)).body).toMatchObject({ ok: true, rooms: 1, online: 2 });
    } finally {
      await lb.close();
      await c.close();
    }
  });

  test('the node running an SFU call is killed: the room comes back on the other node and everyone’s media returns by itself', async ({ browser }) => {
    const c = await cluster();
    const lb = await HaproxyProcess.start([`127.0.0.1:${c.nodes[0].port}`, `127.0.0.1:${c.nodes[1].port}`]);
    try {
      const room = `lb-sfu-${Date.now()}`;
      const pages = await join(browser, lb.url, room, ['Ann', 'Ben', 'Cat']);
      for (const page of pages) await expect(status(page)).toHaveText('Connected', { timeout: 30_000 });
      for (const page of pages) await expect.poll(async () => (await snapshot(page)).inVideoStreams, { timeout: 30_000 }).toBe(2);
      const before: MediaSnapshot[] = await Promise.all(pages.map((p) => snapshot(p)));
      const owner = await ownerOf(c);
      const killedAt = Date.now();
      await owner.kill('SIGKILL');
      const back = await Promise.all(pages.map((p, i) => untilNewVideoStreams(p, before[i]!, 2, killedAt, 45_000)));
      console.log(`node killed mid SFU call → video from both others again after ${back.join(', ')} ms (Ann, Ben, Cat)`);
      for (const page of pages) {
        await expect(status(page)).toHaveText('Connected', { timeout: 20_000 });
        await expect.poll(async () => (await snapshot(page)).inAudioStreams, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
        await expectMediaFlowing(page, { video: true });
      }
      expect(await ownerOf(c)).not.toBe(owner);
    } finally {
      await lb.close();
      await c.close();
    }
  });
});
