/**
 * Faults of a multi-node deployment, with real processes and a real Redis: a node killed with
 * SIGKILL mid-call, and Redis itself going away and coming back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CallwireServer } from '../CallwireServer.ts';
import { loadConfig } from '../config.ts';
import { TestClient, sleep } from '../testing/harness.ts';
import { RedisProcess, freeTcpPort } from '../testing/RedisProcess.ts';
import { ServerProcess } from '../testing/ServerProcess.ts';
import { healthDetails } from '../testing/health.ts';

const VIDEO = { audioMuted: false, videoEnabled: true };
const OFFER = { type: 'offer' as const, sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' };
const ANSWER = { type: 'answer' as const, sdp: OFFER.sdp };

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
function track<T extends { close(): unknown }>(x: T): T {
  cleanups.push(() => x.close());
  return x;
}

describe('a node dies mid-call', () => {
  it('its people resume their seats on a surviving node; the others never see them leave', async () => {
    const redis = await RedisProcess.start();
    cleanups.push(() => redis.close());
    const env = { SFU_ENABLED: 'false', TURN_ENABLED: 'false', REDIS_URL: redis.url, RECONNECT_GRACE_MS: '15000', E2EE: 'off' };
    const a = await ServerProcess.start(await freeTcpPort(), { ...env, NODE_ID: 'node-a' });
    cleanups.push(() => a.kill());
    const b = await ServerProcess.start(await freeTcpPort(), { ...env, NODE_ID: 'node-b' });
    cleanups.push(() => b.kill());

    // Ann reaches node A first, so A runs the room; Ben's requests go through node B to A.
    const ann = track(await TestClient.guest(a.url, 'ann', 'Ann', 'ann-device-key-0123456789'));
    const ben = track(await TestClient.guest(b.url, 'ben', 'Ben', 'ben-device-key-0123456789'));
    const roomId = `failover-${Date.now()}`;
    const annJoin = await ann.ok('room.join', { roomId, media: VIDEO });
    const benJoin = await ben.ok('room.join', { roomId, media: VIDEO });
    expect(benJoin.participants.map((p) => p.id)).toEqual([annJoin.self.id]);
    await ann.next('room.participantJoined');
    await ben.ok('rtc.signal', { roomId, to: annJoin.self.id, description: OFFER });
    await ann.next('rtc.signal');
    await ann.ok('rtc.signal', { roomId, to: benJoin.self.id, description: ANSWER });
    await ben.next('rtc.signal');

    const killedAt = Date.now();
    await a.kill('SIGKILL');
    ann.close();
    // Ann's client reconnects (through the load balancer: here straight to B) and resumes.
    const ann2 = track(await TestClient.guest(b.url, 'ann', 'Ann', 'ann-device-key-0123456789'));
    const resumed = await ann2.ok('room.join', { roomId, media: VIDEO, resume: { participantId: annJoin.self.id, secret: annJoin.resumeSecret } });
    const resumedMs = Date.now() - killedAt;
    console.log(`node killed → seat resumed on the surviving node after ${resumedMs} ms`);
    expect(resumed.self.id).toBe(annJoin.self.id);
    expect(resumed.participants.map((p) => p.id)).toEqual([benJoin.self.id]);
    // Signaling between them works through the new owner; the SDP order was carried over.
    await ann2.ok('rtc.signal', { roomId, to: benJoin.self.id, candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0' } });
    expect(await ben.next('rtc.signal')).toMatchObject({ from: annJoin.self.id });
    await sleep(300);
    expect(ben.has('room.participantLeft')).toBe(false);
    expect((await healthDetails(b.url)).body).toMatchObject({ ok: true, node: 'node-b', rooms: 1 });
  }, 60_000);
});

describe('Redis goes away and comes back', () => {
  it('typed errors and 503 while it is down, nothing crashes, full service once it is back', async () => {
    const redis = await RedisProcess.start();
    cleanups.push(() => redis.close());
    const env = { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', SFU_ENABLED: 'false', TURN_ENABLED: 'false', REDIS_URL: redis.url };
    const nodes = [new CallwireServer(loadConfig({ ...env, NODE_ID: 'node-a' })), new CallwireServer(loadConfig({ ...env, NODE_ID: 'node-b' }))];
    for (const n of nodes) {
      await n.start();
      cleanups.push(() => n.close());
    }
    const [a, b] = nodes as [CallwireServer, CallwireServer];
    const ann = track(await TestClient.guest(a.url, 'ann', 'Ann'));
    const ben = track(await TestClient.guest(b.url, 'ben', 'Ben'));

    await redis.stop();
    expect((await fetch(`${a.url}/healthz`)).status).toBe(503);
    expect(await ann.request('call.invite', { to: 'ben', video: false })).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    expect(await ann.request('room.join', { roomId: 'while-down', media: VIDEO })).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    expect(await ann.request('missedCalls.ack', { ids: ['abcdefgh'] })).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    const newcomer = track(new TestClient(b.url, { guest: { handle: 'cat', name: 'Cat', key: 'cat-device-key-0123456789' } }));
    await expect(newcomer.connected()).rejects.toMatchObject({ data: { code: 'unavailable' } });

    const backAt = Date.now();
    await redis.resume();
    for (const n of nodes) {
      while ((await fetch(`${n.url}/healthz`)).status !== 200) {
        if (Date.now() - backAt > 15_000) throw new Error('a node did not recover within 15 s');
        await sleep(100);
      }
    }
    console.log(`Redis back → both nodes healthy after ${Date.now() - backAt} ms`);
    const { callId, state } = await ann.ok('call.invite', { to: 'ben', video: false });
    expect(state).toBe('ringing');
    await ben.next('call.incoming');
    await ben.ok('call.accept', { callId });
    await ann.next('call.accepted');
  }, 60_000);
});
