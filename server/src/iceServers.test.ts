/** The iceServers a client gets (on join and from GET /api/ice-servers) really work on the relay. */
import { afterEach, describe, expect, it } from 'vitest';
import { TurnClient, type TurnTransportKind } from '../../turn/src/index.ts';
import type { CallwireServer } from './CallwireServer.ts';
import type { IceServerInfo } from './protocol/index.ts';
import { TestClient, startTestServer } from './testing/harness.ts';

const turnEntry = (servers: IceServerInfo[]) => servers.find((s) => s.username)!;
const urls = (s: IceServerInfo) => (Array.isArray(s.urls) ? s.urls : [s.urls]);

/** GET /api/ice-servers with a guest's session token (the route gives nothing to anonymous callers). */
async function restIceServers(server: CallwireServer, handle = 'rest-user'): Promise<IceServerInfo[]> {
  const c = await TestClient.guest(server.url, handle);
  try {
    const { token } = await c.session;
    const res = await fetch(`${server.url}/api/ice-servers`, { headers: { Authorization: `Bearer ${token}` } });
    return ((await res.json()) as { iceServers: IceServerInfo[] }).iceServers;
  } finally {
    c.close();
  }
}

describe('ICE servers from the bundled relay', () => {
  let server: CallwireServer;
  afterEach(async () => server?.close());

  it('hands each client STUN plus TURN udp/tcp with fresh ephemeral credentials that allocate', async () => {
    server = await startTestServer({ TURN_ENABLED: 'true', TURN_UDP_PORT: '0', TURN_TCP_PORT: '0', TURN_CREDENTIAL_TTL: '600' });
    const c = await TestClient.guest(server.url, 'ada');
    const { iceServers } = await c.ok('room.join', { roomId: 'ice-room', media: { audioMuted: false, videoEnabled: false } });
    const a = server.turn!.addresses();
    expect(iceServers).toEqual([
      { urls: [`stun:127.0.0.1:${a.udp!.port}`] },
      {
        urls: [`turn:127.0.0.1:${a.udp!.port}?transport=udp`, `turn:127.0.0.1:${a.tcp!.port}?transport=tcp`],
        username: expect.stringMatching(/^\d+:ada$/),
        credential: expect.any(String),
      },
    ]);
    const turn = turnEntry(iceServers);
    const expiry = Number(turn.username!.split(':')[0]);
    // One credential per person per window (half the TTL here): it always has half its life left.
    expect(expiry - Date.now() / 1000).toBeGreaterThan(299);
    expect(expiry - Date.now() / 1000).toBeLessThanOrEqual(600);

    for (const transport of ['udp', 'tcp'] as TurnTransportKind[]) {
      const port = Number(/:(\d+)\?/.exec(urls(turn).find((u) => u.endsWith(transport))!)![1]);
      const client = await TurnClient.connect({
        transport,
        host: '127.0.0.1',
        port,
        username: turn.username!,
        credential: turn.credential!,
        requestTimeoutMs: 3000,
      });
      const { relayed } = await client.allocate();
      expect(relayed.address).toBe('127.0.0.1');
      client.close();
    }
    c.close();

    // The REST endpoint returns the same shape, for the holder of a session token.
    expect((await restIceServers(server)).map(urls)).toEqual(iceServers.map(urls));
  });

  it('points clients at an external relay (coturn) by configuration alone', async () => {
    server = await startTestServer({
      TURN_ENABLED: 'false',
      TURN_SECRET: 'shared-with-coturn-0123456789',
      TURN_URLS: 'turn:turn.example.org:3478?transport=udp,turns:turn.example.org:443?transport=tcp',
    });
    expect(server.turn).toBeNull();
    const iceServers = await restIceServers(server);
    expect(iceServers).toHaveLength(1);
    expect(iceServers[0]!.urls).toEqual(['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:443?transport=tcp']);
    const { createHmac } = await import('node:crypto');
    expect(iceServers[0]!.credential).toBe(createHmac('sha1', 'shared-with-coturn-0123456789').update(iceServers[0]!.username!).digest('base64'));
  });

  it('names the relay by the host the client used, unless TURN_PUBLIC_HOST says otherwise', async () => {
    server = await startTestServer({ TURN_ENABLED: 'true', TURN_UDP_PORT: '0', TURN_TCP_PORT: 'off', TURN_PUBLIC_HOST: 'turn.example.net' });
    const iceServers = await restIceServers(server);
    expect(urls(turnEntry(iceServers))).toEqual([`turn:turn.example.net:${server.turn!.addresses().udp!.port}?transport=udp`]);
  });
});

describe('TURN credentials are never anonymous', () => {
  let server: CallwireServer;
  afterEach(async () => server?.close());

  it('GET /api/ice-servers refuses callers without a session token, however many; a session gets one credential, not one per request', async () => {
    server = await startTestServer({ TURN_ENABLED: 'true', TURN_UDP_PORT: '0', TURN_TCP_PORT: 'off' });
    const flood = await Promise.all(Array.from({ length: 30 }, () => fetch(`${server.url}/api/ice-servers`)));
    expect(flood.map((r) => r.status)).toEqual(Array(30).fill(401));
    const forged = await fetch(`${server.url}/api/ice-servers`, {
      headers: { Authorization: 'Bearer cws1.YWRh.9999999999.forgedforgedforgedforgedforgedforgedforged' },
    });
    expect(forged.status).toBe(401);
    expect(await forged.json()).toMatchObject({ error: { code: 'unauthorized', message: 'session token rejected' } });

    const c = await TestClient.guest(server.url, 'ada');
    const { token, iceServers } = await c.session;
    const ask = async () =>
      turnEntry(
        ((await (await fetch(`${server.url}/api/ice-servers`, { headers: { Authorization: `Bearer ${token}` } })).json()) as { iceServers: IceServerInfo[] })
          .iceServers,
      );
    const [first, second] = [await ask(), await ask()];
    // Bound to the person: the same credential on every request, and the one the session got.
    expect(second).toEqual(first);
    expect(first.username).toMatch(/^\d+:ada$/);
    expect(turnEntry(iceServers)).toEqual(first);
    c.close();
  });
});
