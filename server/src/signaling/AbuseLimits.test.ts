/**
 * Abuse limits at the protocol boundary, against a real server: connections and new guest
 * handles per address, rooms created per connection, SFU rooms per node. Every refusal is the
 * typed `limit-reached` naming its setting, and nothing is left behind.
 */
import { io } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallwireServer } from '../CallwireServer.ts';
import { TestClient, startTestServer } from '../testing/harness.ts';

let server: CallwireServer | null = null;
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.close();
  server = null;
});

/** A guest connecting from `ip` (behind a trusted proxy that sets X-Forwarded-For). */
function from(ip: string, handle: string, key = `${handle}-device-key-0123456789`): TestClient {
  const c = new TestClient(server!.url, { guest: { handle, name: handle, key } }, { 'x-forwarded-for': `${ip}, 10.0.0.1` });
  clients.push(c);
  return c;
}

async function refusal(c: TestClient): Promise<{ code?: string; message: string }> {
  const err = (await c.connected().then(
    () => null,
    (e: unknown) => e,
  )) as (Error & { data?: { code: string } }) | null;
  return { code: err?.data?.code, message: err?.message ?? 'connected' };
}

describe('abuse limits', () => {
  it('connections per address: the one past MAX_CONNECTIONS_PER_IP is refused, another address is not, and a closed one frees its slot', async () => {
    server = await startTestServer({ TRUST_PROXY: 'true', MAX_CONNECTIONS_PER_IP: '3' });
    const open = [];
    for (let i = 0; i < 3; i++) {
      const c = from('203.0.113.7', `conn${i}`);
      await c.connected();
      open.push(c);
    }
    expect(await refusal(from('203.0.113.7', 'conn3'))).toEqual({ code: 'limit-reached', message: expect.stringContaining('MAX_CONNECTIONS_PER_IP=3') });
    await from('198.51.100.4', 'other').connected();
    open[0]!.close();
    await new Promise((r) => setTimeout(r, 200));
    await from('203.0.113.7', 'conn4').connected();
  });

  it('new guest handles per address per hour; a returning device is not a new handle', async () => {
    server = await startTestServer({ TRUST_PROXY: 'true', NEW_HANDLES_PER_IP_HOUR: '2' });
    for (const h of ['h1', 'h2']) {
      const c = from('203.0.113.9', h);
      await c.connected();
      c.close();
    }
    expect(await refusal(from('203.0.113.9', 'h3'))).toEqual({ code: 'limit-reached', message: expect.stringContaining('NEW_HANDLES_PER_IP_HOUR=2') });
    expect(await server.store.handleExists('h3')).toBe(false);
    // h1's own device comes back: allowed.
    await from('203.0.113.9', 'h1').connected();
  });

  it('handle-taken answers share the new-handle budget, so handles cannot be enumerated by signing in', async () => {
    server = await startTestServer({ TRUST_PROXY: 'true', NEW_HANDLES_PER_IP_HOUR: '2' });
    const owner = from('198.51.100.1', 'owned');
    await owner.connected();
    expect((await refusal(from('203.0.113.5', 'owned', 'another-device-key-000000'))).code).toBe('handle-taken');
    expect((await refusal(from('203.0.113.5', 'owned', 'yet-another-device-key-00'))).code).toBe('handle-taken');
    expect(await refusal(from('203.0.113.5', 'owned', 'third-device-key-00000000'))).toEqual({
      code: 'limit-reached',
      message: expect.stringContaining('NEW_HANDLES_PER_IP_HOUR=2'),
    });
  });

  it('calls to unknown handles per connection per hour: past UNKNOWN_CALLEES_PER_HOUR every unknown callee is limit-reached', async () => {
    server = await startTestServer({ UNKNOWN_CALLEES_PER_HOUR: '2' });
    const c = await TestClient.guest(server.url, 'prober');
    const known = await TestClient.guest(server.url, 'known');
    clients.push(c, known);
    for (const h of ['nobody1', 'nobody2'])
      expect(await c.request('call.invite', { to: h, video: false })).toMatchObject({ ok: false, error: { code: 'unknown-user' } });
    expect(await c.request('call.invite', { to: 'nobody3', video: false })).toMatchObject({
      ok: false,
      error: { code: 'limit-reached', message: expect.stringContaining('UNKNOWN_CALLEES_PER_HOUR=2') },
    });
    expect(await c.request('call.invite', { to: 'known', video: false }), 'even a real handle: the answer must not tell them apart').toMatchObject({
      ok: false,
      error: { code: 'limit-reached' },
    });
    expect(server.calls.liveCount).toBe(0);
  });

  it('rooms held per connection: the one past ROOMS_PER_CONNECTION is refused until one is left, and nothing is left open', async () => {
    server = await startTestServer({ ROOMS_PER_CONNECTION: '2' });
    const c = await TestClient.guest(server.url, 'holder');
    clients.push(c);
    const media = { audioMuted: false, videoEnabled: false };
    await c.ok('room.join', { roomId: 'held-one', media });
    await c.ok('room.join', { roomId: 'held-two', media });
    expect(await c.request('room.join', { roomId: 'held-three', media })).toMatchObject({
      ok: false,
      error: { code: 'limit-reached', message: expect.stringContaining('ROOMS_PER_CONNECTION=2') },
    });
    expect(server.rooms.get('held-three'), 'the refused room was never opened').toBeUndefined();
    expect(server.rooms.roomCount).toBe(2);
    await c.ok('room.leave', { roomId: 'held-one' });
    await c.ok('room.join', { roomId: 'held-three', media });
  });

  it('one echo room per connection at a time', async () => {
    server = await startTestServer({ SFU_ENABLED: 'true', SFU_WORKERS: '1', SFU_RTC_PORT: String(39_000 + 2 * Math.floor(Math.random() * 400)) });
    const c = await TestClient.guest(server.url, 'echoer');
    clients.push(c);
    const media = { audioMuted: false, videoEnabled: false };
    await c.ok('room.join', { roomId: 'echo-first', media });
    expect(await c.request('room.join', { roomId: 'echo-second', media })).toMatchObject({
      ok: false,
      error: { code: 'limit-reached', message: expect.stringContaining('echo') },
    });
    expect(server.rooms.roomCount).toBe(1);
    await c.ok('room.leave', { roomId: 'echo-first' });
    await c.ok('room.join', { roomId: 'echo-second', media });
  });

  it('rooms created per connection per hour', async () => {
    server = await startTestServer({ ROOM_CREATES_PER_HOUR: '3' });
    const c = await TestClient.guest(server.url, 'maker');
    clients.push(c);
    for (let i = 0; i < 3; i++) await c.ok('room.create', { video: true });
    expect(await c.request('room.create', { video: true })).toMatchObject({
      ok: false,
      error: { code: 'limit-reached', message: expect.stringContaining('ROOM_CREATES_PER_HOUR=3') },
    });
    expect(server.rooms.roomCount).toBe(3);
    // A new connection has its own allowance.
    const again = await TestClient.guest(server.url, 'maker2');
    clients.push(again);
    await again.ok('room.create', { video: false });
  });

  it('SFU rooms per node: the one past SFU_MAX_ROOMS answers limit-reached and holds no router', async () => {
    // 39000-39999: no other test picks media ports there, and the namespace never hands them out.
    server = await startTestServer({
      SFU_ENABLED: 'true',
      SFU_WORKERS: '1',
      SFU_RTC_PORT: String(39_000 + 2 * Math.floor(Math.random() * 400)),
      SFU_MAX_ROOMS: '1',
    });
    const a = await TestClient.guest(server.url, 'echo-a');
    const b = await TestClient.guest(server.url, 'echo-b');
    clients.push(a, b);
    const media = { audioMuted: false, videoEnabled: false };
    await a.ok('room.join', { roomId: 'echo-one', media });
    await a.ok('sfu.capabilities', { roomId: 'echo-one' });
    await b.ok('room.join', { roomId: 'echo-two', media });
    expect(await b.request('sfu.capabilities', { roomId: 'echo-two' })).toMatchObject({
      ok: false,
      error: { code: 'limit-reached', message: expect.stringContaining('SFU_MAX_ROOMS=1') },
    });
    expect(server.sfu!.sfuRooms).toHaveLength(1);
  });

  it('loopback is never counted (a local proxy without TRUST_PROXY would otherwise put everyone under one address)', async () => {
    server = await startTestServer({ MAX_CONNECTIONS_PER_IP: '1' });
    for (let i = 0; i < 3; i++) clients.push(await TestClient.guest(server.url, `local${i}`));
    const raw = io(server.url, {
      auth: { guest: { handle: 'local9', name: 'x', key: 'k'.repeat(20) } },
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
    });
    await new Promise((resolve, reject) => {
      raw.once('session', resolve);
      raw.once('connect_error', reject);
    });
    raw.close();
  });
});
