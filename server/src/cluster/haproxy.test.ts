/**
 * Debian's HAProxy with the project's config in front of two nodes: health checks take a node
 * out, and socket.io's long-polling fallback works because HAProxy keeps a client on one node
 * (sticky cookie) — without it the second poll lands on the other node, which does not know the
 * session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { HaproxyProcess } from '../testing/HaproxyProcess.ts';
import { RedisProcess, freeTcpPort } from '../testing/RedisProcess.ts';
import { ServerProcess } from '../testing/ServerProcess.ts';
import { TEST_METRICS_TOKEN } from '../testing/health.ts';

let redis: RedisProcess;
let nodes: ServerProcess[];
let lb: HaproxyProcess;

beforeAll(async () => {
  redis = await RedisProcess.start();
  const env = { SFU_ENABLED: 'false', TURN_ENABLED: 'false', REDIS_URL: redis.url };
  nodes = [
    await ServerProcess.start(await freeTcpPort(), { ...env, NODE_ID: 'node-a' }),
    await ServerProcess.start(await freeTcpPort(), { ...env, NODE_ID: 'node-b' }),
  ];
  lb = await HaproxyProcess.start([`127.0.0.1:${nodes[0]!.port}`, `127.0.0.1:${nodes[1]!.port}`]);
}, 60_000);
afterAll(async () => {
  await lb?.close();
  for (const n of nodes ?? []) await n.kill();
  await redis?.close();
});

/** A long-polling-only client; `cookie` is what a browser would send back. */
function pollingClient(handle: string, cookie?: string): Socket {
  return io(lb.url, {
    auth: { guest: { handle, name: handle, key: `${handle}-key-0123456789` } },
    transports: ['polling'],
    reconnection: false,
    forceNew: true,
    ...(cookie ? { extraHeaders: { cookie } } : {}),
  });
}

async function pingWorks(s: Socket): Promise<boolean> {
  const session = await new Promise<boolean>((resolve) => {
    s.once('session', () => resolve(true));
    s.once('connect_error', () => resolve(false));
    setTimeout(() => resolve(false), 5_000);
  });
  if (!session) return false;
  // Several requests and answers, each over a new poll.
  for (let i = 0; i < 5; i++) {
    const res = (await s
      .timeout(3_000)
      .emitWithAck('ping', { t: i })
      .catch(() => null)) as { ok: boolean } | null;
    if (!res?.ok) return false;
  }
  return true;
}

describe('HAProxy in front of two nodes', () => {
  it('long-polling works through the sticky cookie HAProxy sets on the first response', async () => {
    const first = await fetch(`${lb.url}/healthz`);
    const cookie = /cwnode=[^;]+/.exec(first.headers.get('set-cookie') ?? '')?.[0];
    expect(cookie, 'HAProxy sets the sticky cookie').toBeTruthy();
    for (let i = 0; i < 4; i++) {
      const s = pollingClient(`poller${i}`, cookie);
      try {
        expect(await pingWorks(s)).toBe(true);
      } finally {
        s.close();
      }
    }
  });

  it('without the cookie, polls spread over both nodes and the session breaks (why stickiness is configured)', async () => {
    let broken = 0;
    for (let i = 0; i < 4; i++) {
      const s = pollingClient(`loose${i}`);
      try {
        if (!(await pingWorks(s))) broken++;
      } finally {
        s.close();
      }
    }
    expect(broken).toBeGreaterThan(0);
  });

  it('health checks: a node that is down is taken out, and every request goes to the other', async () => {
    await nodes[1]!.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 2_500));
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${lb.url}/healthz`, { headers: { cookie: 'cwnode=b', authorization: `Bearer ${TEST_METRICS_TOKEN}` } });
      expect(res.status).toBe(200);
      seen.add(((await res.json()) as { node: string }).node);
    }
    expect([...seen]).toEqual(['node-a']);
  }, 20_000);
});
