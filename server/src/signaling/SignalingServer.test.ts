import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallwireServer } from '../CallwireServer.ts';
import { LIMITS } from '../protocol/index.ts';
import { TestClient, sleep, startTestServer } from '../testing/harness.ts';

const VIDEO = { audioMuted: false, videoEnabled: true };

/** JWT mode as a site would configure it. */
const JWT_ENV = { AUTH_MODE: 'jwt', JWT_SECRET: 'a-shared-secret-that-is-long-enough-123', JWT_ISSUER: 'https://app.example', JWT_AUDIENCE: 'callwire' };
describe('signaling boundary: malformed input', () => {
  let server: CallwireServer;
  const clients: TestClient[] = [];
  const guest = async (handle: string) => {
    const c = await TestClient.guest(server.url, handle);
    clients.push(c);
    return c;
  };
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server?.close();
  });

  it('wrong types, missing or extra fields, unknown events: typed errors and no state change', async () => {
    server = await startTestServer();
    const a = await guest('alice');
    const cases: [string, unknown[], string][] = [
      ['room.join', [{ roomId: 42, media: VIDEO }], 'invalid-message'],
      ['room.join', [{ roomId: 'ok-room' }], 'invalid-message'],
      ['room.join', [{ roomId: 'ok-room', media: VIDEO, admin: true }], 'invalid-message'],
      ['room.join', [{ roomId: '../etc', media: VIDEO }], 'invalid-message'],
      ['room.join', ['just a string'], 'invalid-message'],
      ['room.join', [null], 'invalid-message'],
      ['room.join', [[1, 2, 3]], 'invalid-message'],
      ['room.join', [], 'invalid-message'],
      ['room.join', [{ roomId: 'ok-room', media: VIDEO }, 'second payload'], 'invalid-message'],
      ['call.invite', [{ to: 'Not A Handle!', video: true }], 'invalid-message'],
      ['call.invite', [{ to: 'bob', video: 'yes' }], 'invalid-message'],
      ['rtc.signal', [{ roomId: 'ok-room', to: 'abcdefgh' }], 'invalid-message'],
      ['rtc.signal', [{ roomId: 'ok-room', to: 'abcdefgh', description: { type: 'pranswer', sdp: 'x' } }], 'invalid-message'],
      ['participant.update', [{ roomId: 'ok-room' }], 'invalid-message'],
      ['presence.watch', [{ handles: Array.from({ length: LIMITS.presenceWatch + 1 }, (_, i) => `user${i}`) }], 'payload-too-large'],
      ['no.such.event', [{}], 'unknown-event'],
      ['__proto__', [{}], 'unknown-event'],
    ];
    for (const [event, args, code] of cases) {
      const res = await a.raw(event, ...args);
      expect(res, `${event} ${JSON.stringify(args).slice(0, 80)}`).toMatchObject({ ok: false, error: { code } });
      expect(typeof (res as { error: { message: string } }).error.message).toBe('string');
    }
    expect(server.rooms.roomCount).toBe(0);
    expect(server.calls.liveCount).toBe(0);
  });

  it('oversized SDP and oversized messages are refused with payload-too-large', async () => {
    server = await startTestServer();
    const a = await guest('alice');
    const b = await guest('bob');
    await a.ok('room.join', { roomId: 'big-room', media: VIDEO });
    const { self } = await b.ok('room.join', { roomId: 'big-room', media: VIDEO });
    const sdp = 'a'.repeat(LIMITS.sdpBytes + 1);
    expect(await a.request('rtc.signal', { roomId: 'big-room', to: self.id, description: { type: 'offer', sdp } })).toMatchObject({
      ok: false,
      error: { code: 'payload-too-large' },
    });
    expect(await a.raw('ping', { t: 1, pad: 'x'.repeat(LIMITS.messageBytes) })).toMatchObject({ ok: false, error: { code: 'payload-too-large' } });
    expect(b.has('rtc.signal')).toBe(false);
  });

  it('a frame over the transport limit closes only that connection', async () => {
    server = await startTestServer();
    const a = await guest('alice');
    const other = await guest('bob');
    const closed = new Promise<void>((resolve) => a.socket.once('disconnect', () => resolve()));
    (a.socket as unknown as { emit: (...x: unknown[]) => void }).emit('ping', { t: 1, pad: 'x'.repeat(1_100_000) });
    await closed;
    expect(await other.ok('ping', { t: 7 })).toMatchObject({ t: 7 });
  });

  it('errors without an acknowledgement arrive as `signaling.error`', async () => {
    server = await startTestServer();
    const a = await guest('alice');
    (a.socket as unknown as { emit: (...x: unknown[]) => void }).emit('call.accept', { callId: 'x' });
    expect(await a.next('signaling.error')).toMatchObject({ event: 'call.accept', error: { code: 'invalid-message' } });
    (a.socket as unknown as { emit: (...x: unknown[]) => void }).emit('what.is.this');
    expect(await a.next('signaling.error')).toMatchObject({ event: 'what.is.this', error: { code: 'unknown-event' } });
  });

  it('a flood is rate-limited and the server keeps answering everyone else', async () => {
    server = await startTestServer({ RATE_LIMIT_PER_SEC: '20' });
    const a = await guest('alice');
    const b = await guest('bob');
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => a.request('ping', { t: i })));
    const limited = replies.filter((r) => !r.ok && r.error.code === 'rate-limited').length;
    expect(limited).toBeGreaterThan(50);
    expect(await b.ok('ping', { t: 1 })).toMatchObject({ t: 1 });
  });

  it('random garbage never crashes the server', async () => {
    server = await startTestServer({ RATE_LIMIT_PER_SEC: '10000' });
    const a = await guest('alice');
    const events = ['room.join', 'rtc.signal', 'call.invite', 'call.accept', 'participant.update', 'video.respond', 'missedCalls.ack', 'nope'];
    const values: unknown[] = [
      null,
      0,
      -1,
      1e308,
      '',
      'x'.repeat(300),
      [],
      {},
      { roomId: {} },
      { to: [] },
      true,
      { __proto__: { roomId: 'x' } },
      { constructor: 'x' },
    ];
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let i = 0; i < 300; i++) {
      const payload: Record<string, unknown> = {};
      for (const k of ['roomId', 'to', 'callId', 'media', 'description', 'candidate', 'ids', 'video', 'accept']) {
        if (rnd(2)) payload[k] = values[rnd(values.length)];
      }
      const res = await a.raw(events[rnd(events.length)]!, rnd(4) === 0 ? values[rnd(values.length)] : payload);
      expect(res.ok).toBe(false);
    }
    expect(await a.ok('ping', { t: 1 })).toMatchObject({ t: 1 });
  });
});

describe('identity', () => {
  let server: CallwireServer;
  afterEach(async () => server?.close());

  const connectError = (url: string, auth: unknown) =>
    new Promise<{ message: string; data?: { code: string } }>((resolve, reject) => {
      const c = new TestClient(url, auth);
      c.socket.once('connect', () => reject(new Error('connected')));
      c.socket.once('connect_error', (err) => {
        c.close();
        resolve(err as unknown as { message: string; data?: { code: string } });
      });
    });

  it('guests: a bad handshake is refused, and a handle stays with the device that took it', async () => {
    server = await startTestServer();
    expect((await connectError(server.url, {})).data?.code).toBe('unauthorized');
    expect((await connectError(server.url, { guest: { handle: 'Bad Handle', name: 'x', key: 'k'.repeat(16) } })).data?.code).toBe('unauthorized');
    const first = await TestClient.guest(server.url, 'alice', 'Alice', 'a'.repeat(32));
    expect((await connectError(server.url, { guest: { handle: 'alice', name: 'Mallory', key: 'm'.repeat(32) } })).data?.code).toBe('handle-taken');
    const session = await first.next('session');
    expect(session.user).toEqual({ handle: 'alice', name: 'Alice' });
    expect(session.iceServers).toEqual([]);
    first.close();
  });

  it('JWT mode: a valid token names the user; expired, forged and guest handshakes are refused', async () => {
    const secret = JWT_ENV.JWT_SECRET;
    server = await startTestServer({ ...JWT_ENV, STUN_URLS: 'stun:127.0.0.1:3478' });
    const sign = (claims: Record<string, unknown>, key = secret, exp: string | number = '5m') =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('user-42')
        .setIssuer('https://app.example')
        .setAudience('callwire')
        .setIssuedAt()
        .setExpirationTime(exp)
        .sign(new TextEncoder().encode(key));

    const c = new TestClient(server.url, { token: await sign({ name: 'Dana' }) });
    await c.connected();
    const session = await c.next('session');
    expect(session.user).toEqual({ handle: 'user-42', name: 'Dana' });
    expect(session.iceServers).toEqual([{ urls: ['stun:127.0.0.1:3478'] }]);
    c.close();

    const expired = await sign({ name: 'Dana' }, secret, Math.floor(Date.now() / 1000) - 60);
    expect(await connectError(server.url, { token: expired })).toMatchObject({ message: 'token expired', data: { code: 'unauthorized' } });
    expect((await connectError(server.url, { token: await sign({ name: 'Dana' }, 'another-secret-that-is-long-enough!!') })).data?.code).toBe('unauthorized');
    expect((await connectError(server.url, { token: await sign({}) })).data?.code).toBe('unauthorized');
    expect((await connectError(server.url, { guest: { handle: 'alice', name: 'A', key: 'k'.repeat(16) } })).data?.code).toBe('unauthorized');

    // The REST endpoint is authenticated the same way.
    expect((await fetch(`${server.url}/api/ice-servers`)).status).toBe(401);
    const ok = await fetch(`${server.url}/api/ice-servers`, { headers: { Authorization: `Bearer ${await sign({ name: 'Dana' })}` } });
    expect(await ok.json()).toEqual({ iceServers: [{ urls: ['stun:127.0.0.1:3478'] }] });
  });

  it('JWT mode: a token without exp, for another issuer or audience, or living too long is refused with its reason', async () => {
    const secret = JWT_ENV.JWT_SECRET;
    server = await startTestServer({ ...JWT_ENV, JWT_MAX_LIFETIME: '3600' });
    const key = new TextEncoder().encode(secret);
    const base = () => new SignJWT({ name: 'Dana' }).setProtectedHeader({ alg: 'HS256' }).setSubject('user-42').setIssuedAt();
    const refused = async (token: string) => connectError(server.url, { token });

    expect(await refused(await base().setIssuer('https://app.example').setAudience('callwire').sign(key))).toMatchObject({
      message: 'token has no expiry (exp)',
      data: { code: 'unauthorized' },
    });
    expect((await refused(await base().setIssuer('https://other.example').setAudience('callwire').setExpirationTime('5m').sign(key))).message).toBe(
      'token issuer (iss) is not the one this server expects',
    );
    expect((await refused(await base().setIssuer('https://app.example').setAudience('another-app').setExpirationTime('5m').sign(key))).message).toBe(
      'token audience (aud) is not this server',
    );
    expect((await refused(await base().setExpirationTime('5m').sign(key))).data?.code).toBe('unauthorized');
    expect((await refused(await base().setIssuer('https://app.example').setAudience('callwire').setExpirationTime('2h').sign(key))).message).toBe(
      'token lives longer than this server allows (3600 s)',
    );
    // Without iat the lifetime counts from now.
    const noIat = new SignJWT({ name: 'Dana' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('user-42')
      .setIssuer('https://app.example')
      .setAudience('callwire');
    expect((await refused(await noIat.setExpirationTime('30d').sign(key))).message).toMatch(/lives longer/);
  });

  it('guest mode: the REST endpoint needs the session token; unknown API routes are JSON 404s', async () => {
    server = await startTestServer({ STUN_URLS: 'stun:127.0.0.1:3478' });
    expect((await fetch(`${server.url}/api/ice-servers`)).status).toBe(401);
    const c = await TestClient.guest(server.url, 'erin');
    const { token } = await c.session;
    expect(await (await fetch(`${server.url}/api/ice-servers`, { headers: { Authorization: `Bearer ${token}` } })).json()).toEqual({
      iceServers: [{ urls: ['stun:127.0.0.1:3478'] }],
    });
    c.close();
    const nf = await fetch(`${server.url}/api/nope`);
    expect(nf.status).toBe(404);
    expect(await nf.json()).toMatchObject({ error: { code: 'unknown-event' } });
    expect((await fetch(`${server.url}/call/..%2f..`)).status).toBe(400);
    await sleep(1);
  });
});
