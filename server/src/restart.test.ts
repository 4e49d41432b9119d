/**
 * Nothing is lost on restart: real callwire processes killed with SIGKILL (as a crash would) and
 * started again — one node on its embedded store, and a whole two-node Redis cluster (Redis too).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient, sleep } from './testing/harness.ts';
import { RedisProcess, freeTcpPort } from './testing/RedisProcess.ts';
import { ServerProcess } from './testing/ServerProcess.ts';

const ENV = { SFU_ENABLED: 'false', TURN_ENABLED: 'false', RING_TIMEOUT_MS: '30000' };
const BEN_KEY = 'ben-device-key-0123456789';
const CAT_KEY = 'cat-device-key-0123456789';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function track<T extends { close(): unknown }>(x: T): T {
  cleanups.push(() => void x.close());
  return x;
}

/** Ben gets a missed call while offline; Cat's call is still ringing when every node dies. */
async function beforeTheCrash(urls: [string, string]): Promise<{ missedCallId: string; ringingCallId: string }> {
  (await TestClient.guest(urls[1], 'ben', 'Ben', BEN_KEY)).close();
  const cat = track(await TestClient.guest(urls[1], 'cat', 'Cat', CAT_KEY));
  await sleep(200);
  const ann = track(await TestClient.guest(urls[0], 'ann', 'Ann'));
  const missed = await ann.ok('call.invite', { to: 'ben', video: false });
  expect(missed.state).toBe('calling');
  await ann.ok('call.cancel', { callId: missed.callId });
  const ringing = await ann.ok('call.invite', { to: 'cat', video: true });
  expect(ringing.state).toBe('ringing');
  await cat.next('call.incoming');
  return { missedCallId: missed.callId, ringingCallId: ringing.callId };
}

async function afterTheRestart(urls: [string, string], ids: { missedCallId: string; ringingCallId: string }): Promise<void> {
  // The handle still belongs to Ben's device: another device is refused.
  const impostor = new TestClient(urls[0], { guest: { handle: 'ben', name: 'Not Ben', key: 'another-key-0123456789' } });
  track(impostor);
  await expect(impostor.connected()).rejects.toThrow(/in use by another device/);
  // Ben's own device gets the missed call, on whichever node he reaches.
  const ben = track(await TestClient.guest(urls[1], 'ben', 'Ben', BEN_KEY));
  const { missedCalls } = await ben.next('missedCalls');
  expect(missedCalls).toMatchObject([{ callId: ids.missedCallId, from: { handle: 'ann' }, reason: 'cancelled' }]);
  // The call that was ringing when the process died is a missed call now.
  const cat = track(await TestClient.guest(urls[0], 'cat', 'Cat', CAT_KEY));
  const catMissed = await cat.next('missedCalls', undefined, 10_000);
  expect(catMissed.missedCalls).toMatchObject([{ callId: ids.ringingCallId, from: { handle: 'ann' }, video: true, reason: 'cancelled' }]);
  expect(cat.has('call.incoming')).toBe(false);
}

describe('restart', () => {
  it('one node (embedded store): killed and started again, the missed call is delivered and the handle still belongs to its device', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'callwire-data-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const node = await ServerProcess.start(await freeTcpPort(), { ...ENV, DATA_DIR: dir });
    cleanups.push(() => node.kill());
    const ids = await beforeTheCrash([node.url, node.url]);
    await node.kill('SIGKILL');
    await node.restart();
    await afterTheRestart([node.url, node.url], ids);
  }, 60_000);

  it('two nodes on Redis: the whole cluster and Redis are killed and started again, nothing is lost', async () => {
    const redis = await RedisProcess.start();
    cleanups.push(() => redis.close());
    const env = { ...ENV, REDIS_URL: redis.url };
    const a = await ServerProcess.start(await freeTcpPort(), { ...env, NODE_ID: 'node-a' });
    cleanups.push(() => a.kill());
    const b = await ServerProcess.start(await freeTcpPort(), { ...env, NODE_ID: 'node-b' });
    cleanups.push(() => b.kill());
    const ids = await beforeTheCrash([a.url, b.url]);
    await Promise.all([a.kill('SIGKILL'), b.kill('SIGKILL')]);
    await redis.stop('SIGKILL');
    await redis.resume();
    // New processes, new node ids: the old nodes' ringing calls are found and turned into missed calls.
    const a2 = await ServerProcess.start(await freeTcpPort(), env);
    cleanups.push(() => a2.kill());
    const b2 = await ServerProcess.start(await freeTcpPort(), env);
    cleanups.push(() => b2.kill());
    await afterTheRestart([a2.url, b2.url], ids);
  }, 60_000);
});

describe('start-up faults', () => {
  it('an unreachable Redis stops the node at start with a message that says so', async () => {
    const port = await freeTcpPort();
    const err = await ServerProcess.start(port, { ...ENV, REDIS_URL: `redis://127.0.0.1:${await freeTcpPort()}` }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/exited with 1/);
    expect(String(err)).toMatch(/callwire: cannot open its store: cannot reach Redis at 127\.0\.0\.1:\d+/);
  }, 30_000);

  it('a data file that is not a database stops the node at start with a message naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'callwire-data-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'callwire.sqlite'), 'not a database, just some text that is long enough to be read as a header');
    const err = await ServerProcess.start(await freeTcpPort(), { ...ENV, DATA_DIR: dir }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/callwire: cannot open its store: .*callwire\.sqlite: file is not a database/);
  }, 30_000);
});
