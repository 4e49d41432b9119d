// Authentication, peer policy (no open relay), quotas, unknown attributes and bandwidth cap.
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TurnServer } from '../src/index.ts';
import { createTurnCredentials } from '../src/credentials.ts';
import { TurnRequestError } from '../src/client/index.ts';
import { connectClient, nextData, PEER_IP, SECRET, sleep, startEchoPeer, startServer, type EchoPeer } from './helpers.ts';

let open: TurnServer; // allow-lists 127.0.0.0/8
let strict: TurnServer; // default policy
let peer: EchoPeer;

beforeAll(async () => {
  open = await startServer({ userQuota: 2 });
  strict = await startServer({ allowedPeers: [] });
  peer = await startEchoPeer();
});

afterAll(async () => {
  await open?.close();
  await strict?.close();
  await peer?.close();
});

async function expectCode(promise: Promise<unknown>, code: number): Promise<TurnRequestError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TurnRequestError);
  expect((err as TurnRequestError).code).toBe(code);
  return err as TurnRequestError;
}

describe('credentials', () => {
  it('answers a wrong password with 401 and creates nothing', async () => {
    const client = await connectClient(open, 'udp', { credential: 'd3JvbmcgcGFzc3dvcmQ=' });
    try {
      const err = await expectCode(client.allocate(), 401);
      // an authentication failure must not be integrity-protected or echo the username
      expect(err.response?.get(0x0008)).toBeUndefined();
      expect(err.response?.get(0x0006)).toBeUndefined();
      expect(open.allocations()).toHaveLength(0);
    } finally {
      client.close();
    }
  });

  it('answers an expired REST username with 401 (even with the right HMAC)', async () => {
    const expired = createTurnCredentials({ secret: SECRET, userId: 'alice', ttlSeconds: 60, now: Date.now() - 120_000 });
    const client = await connectClient(open, 'tcp', { username: expired.username, credential: expired.credential });
    try {
      await expectCode(client.allocate(), 401);
    } finally {
      client.close();
    }
  });

  it('answers a username that is not "<expiry>:<user>" with 401', async () => {
    const client = await connectClient(open, 'udp', { username: 'constructor', credential: 'x' });
    try {
      await expectCode(client.allocate(), 401);
    } finally {
      client.close();
    }
  });

  it('answers credentials made with another secret with 401', async () => {
    const other = createTurnCredentials({ secret: 'another-secret-0123456789', userId: 'alice', ttlSeconds: 600 });
    const client = await connectClient(open, 'udp', { username: other.username, credential: other.credential });
    try {
      await expectCode(client.allocate(), 401);
    } finally {
      client.close();
    }
  });
});

describe('peer policy', () => {
  it.each([
    '127.0.0.2',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.1.1',
    '100.64.0.1',
    '169.254.10.10',
    '224.0.0.251',
    '255.255.255.255',
    '0.0.0.0',
    '::1',
    'fd00::1',
    'fe80::1',
    '::ffff:127.0.0.2',
  ])('refuses CreatePermission and ChannelBind to %s with 403 by default', async (address) => {
    const client = await connectClient(strict, 'udp');
    try {
      await client.allocate();
      await expectCode(client.createPermission(address), 403);
      await expectCode(client.channelBind(0x4000, { address, port: 9 }), 403);
    } finally {
      await client.refresh(0).catch(() => undefined);
      client.close();
    }
  });

  it('refuses the whole CreatePermission when one of several peers is denied', async () => {
    const client = await connectClient(open, 'udp');
    try {
      await client.allocate();
      await expectCode(client.createPermission(PEER_IP, '10.1.2.3'), 403);
      // no permission for the allowed peer either: its data is not relayed
      client.sendIndication(peer.address, Buffer.from('x'));
      await expect(nextData(client, 300)).rejects.toThrow(/no relayed data/);
    } finally {
      await client.refresh(0).catch(() => undefined);
      client.close();
    }
  });

  it('relays to an allow-listed range', async () => {
    const client = await connectClient(open, 'udp');
    try {
      await client.allocate();
      await client.createPermission(PEER_IP);
      const echoed = nextData(client);
      client.sendIndication(peer.address, Buffer.from('allowed'));
      expect((await echoed).data.toString()).toBe('allowed');
    } finally {
      await client.refresh(0).catch(() => undefined);
      client.close();
    }
  });

  it('relays between two clients of this server without any allow-list (own address, relay ports)', async () => {
    // Two browsers relayed by the same server send to each other's relay address, which is one of
    // the server's own addresses (here loopback, on a LAN a private one): that must work by default.
    const a = await connectClient(strict, 'udp', { userId: 'a' });
    const b = await connectClient(strict, 'udp', { userId: 'b' });
    try {
      const ra = (await a.allocate()).relayed;
      const rb = (await b.allocate()).relayed;
      await a.createPermission(rb.address);
      await b.createPermission(ra.address);
      await a.channelBind(0x4005, rb);
      const arrived = nextData(b);
      a.sendChannelData(0x4005, Buffer.from('relay to relay'));
      const got = await arrived;
      expect(got.data.toString()).toBe('relay to relay');
      expect(got.peer).toEqual(ra);
    } finally {
      for (const c of [a, b]) {
        await c.refresh(0).catch(() => undefined);
        c.close();
      }
    }
  });

  it("never relays to the server's own non-relay ports, even when allow-listed", async () => {
    // a local service on the server's own address (127.0.0.1)
    // outside the relay port range: relay ports on own addresses are reachable by design
    let service: dgram.Socket | undefined;
    // A port below the relay range (and below the ports the test namespace hands out by itself).
    for (let i = 0; i < 50 && !service; i++) {
      const candidate = dgram.createSocket('udp4');
      const port = 30_000 + Math.floor(Math.random() * 9_000);
      const bound = await new Promise<boolean>((r) => {
        candidate.once('error', () => r(false));
        candidate.bind(port, '127.0.0.1', () => r(true));
      });
      if (bound && candidate.address().port < open.config.minPort) service = candidate;
      else candidate.close();
    }
    if (!service) throw new Error('no free port below the relay range');
    let hits = 0;
    service.on('message', () => hits++);
    const target = { address: '127.0.0.1', port: service.address().port };
    const client = await connectClient(open, 'udp');
    try {
      await client.allocate();
      await expectCode(client.channelBind(0x4002, target), 403);
      await expectCode(client.channelBind(0x4003, { address: '127.0.0.1', port: open.addresses().udp!.port }), 403);
      // permissions are per IP, so own-address permission is granted; each datagram is checked
      await client.createPermission('127.0.0.1');
      client.sendIndication(target, Buffer.from('should not arrive'));
      await sleep(200);
      expect(hits).toBe(0);
    } finally {
      await client.refresh(0).catch(() => undefined);
      client.close();
      service.close();
    }
  });
});

describe('quotas', () => {
  it('answers 486 beyond the per-user quota, counted per user id across usernames', async () => {
    const make = (userId: string, ttl: number) => createTurnCredentials({ secret: SECRET, userId, ttlSeconds: ttl });
    const clients = await Promise.all([0, 1, 2].map((i) => connectClient(open, 'udp', make('quota-user', 600 + i))));
    const bob = await connectClient(open, 'udp', make('bob', 600));
    try {
      await clients[0]!.allocate();
      await clients[1]!.allocate();
      await expectCode(clients[2]!.allocate(), 486);
      // other users are unaffected
      await bob.allocate();
      // freeing one allocation frees quota
      await clients[0]!.refresh(0);
      await clients[2]!.allocate();
    } finally {
      for (const c of [...clients, bob]) {
        await c.refresh(0).catch(() => undefined);
        c.close();
      }
    }
  });
});

describe('attributes node-turn used to drop silently', () => {
  it('answers an unknown comprehension-required attribute with 420 listing it', async () => {
    const client = await connectClient(open, 'udp');
    try {
      const err = await expectCode(client.allocate({ extraAttributes: [{ type: 0x7f31, value: Buffer.from([1, 2, 3, 4]) }] }), 420);
      expect(err.unknownAttributes).toEqual([0x7f31]);
      expect(open.allocations()).toHaveLength(0);
    } finally {
      client.close();
    }
  });

  it('ignores unknown comprehension-optional attributes', async () => {
    const client = await connectClient(open, 'udp');
    try {
      const result = await client.allocate({ extraAttributes: [{ type: 0xc0de, value: Buffer.from('optional') }] });
      expect(result.relayed.port).toBeGreaterThan(0);
    } finally {
      await client.refresh(0).catch(() => undefined);
      client.close();
    }
  });

  it('honours EVEN-PORT without the R bit and answers R=1 with 508', async () => {
    const client = await connectClient(open, 'udp');
    try {
      await expectCode(client.allocate({ evenPort: true }), 508);
      const { relayed } = await client.allocate({ evenPort: false });
      expect(relayed.port % 2).toBe(0);
    } finally {
      await client.refresh(0).catch(() => undefined);
      client.close();
    }
  });

  it('answers REQUESTED-ADDRESS-FAMILY: IPv4 allocates, IPv6 gets 440', async () => {
    const client = await connectClient(open, 'tcp');
    try {
      await expectCode(client.allocate({ addressFamily: 'ipv6' }), 440);
      const { relayed } = await client.allocate({ addressFamily: 'ipv4' });
      expect(relayed.address).toBe('127.0.0.1');
    } finally {
      await client.refresh(0).catch(() => undefined);
      client.close();
    }
  });
});

describe('bandwidth cap', () => {
  /** Sends 60 × 1000 B through a channel; returns how many reached the peer and came back. */
  async function burst(server: TurnServer): Promise<{ atPeer: number; back: number }> {
    const client = await connectClient(server, 'udp');
    let back = 0;
    client.on('data', () => back++);
    try {
      await client.allocate();
      await client.channelBind(0x4000, peer.address);
      const before = peer.received;
      const payload = Buffer.alloc(1000);
      for (let i = 0; i < 60; i++) {
        client.sendChannelData(0x4000, payload);
        if (i % 10 === 9) await sleep(5);
      }
      await sleep(300);
      return { atPeer: peer.received - before, back };
    } finally {
      await client.refresh(0).catch(() => undefined);
      client.close();
    }
  }

  it('drops traffic beyond bandwidthBps and counts the drops', async () => {
    const capped = await startServer({ bandwidthBps: 8000 });
    try {
      expect(await burst(open)).toEqual({ atPeer: 60, back: 60 });
      const { atPeer, back } = await burst(capped);
      // an 8000 B bucket (one second of the cap) lets ~8 packets through, the rest is dropped;
      // both directions draw on the same bucket, so the echoes mostly find it empty
      expect(atPeer).toBeGreaterThanOrEqual(7);
      expect(atPeer).toBeLessThanOrEqual(10);
      expect(back).toBeLessThanOrEqual(2);
      // 60 - atPeer upstream drops, plus the echoes that found the bucket empty
      expect(capped.stats().packetsDropped).toBe(60 - atPeer + (atPeer - back));
    } finally {
      await capped.close();
    }
  });
});
