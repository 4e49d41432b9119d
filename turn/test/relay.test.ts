// Allocate over UDP, TCP and TLS and relay both ways through Send/Data indications and ChannelData.
import dgram from 'node:dgram';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TurnServer } from '../src/index.ts';
import { TurnClient } from '../src/client/index.ts';
import { connectClient, makeSelfSignedCert, nextData, startEchoPeer, startServer, waitFor, type EchoPeer } from './helpers.ts';

let server: TurnServer;
let peer: EchoPeer;
let tlsMaterial: ReturnType<typeof makeSelfSignedCert>;

beforeAll(async () => {
  tlsMaterial = makeSelfSignedCert();
  server = await startServer({ tlsPort: 0, tlsCert: tlsMaterial.cert, tlsKey: tlsMaterial.key });
  peer = await startEchoPeer();
});

afterAll(async () => {
  await server?.close();
  await peer?.close();
  fs.rmSync(tlsMaterial.dir, { recursive: true, force: true });
});

describe.each(['udp', 'tcp', 'tls'] as const)('over %s', (transport) => {
  const connect = () => connectClient(server, transport, { ca: tlsMaterial.cert });

  it('answers STUN Binding with the client address', async () => {
    const client = await connect();
    try {
      const mapped = await client.binding();
      expect(mapped).toEqual(client.localAddress());
    } finally {
      client.close();
    }
  });

  it('allocates and relays through Send/Data indications both ways', async () => {
    const client = await connect();
    try {
      const allocation = await client.allocate();
      expect(allocation.relayed.address).toBe('127.0.0.1');
      expect(allocation.lifetime).toBe(600);
      expect(server.allocations().some((a) => a.transport === transport && a.relayed.port === allocation.relayed.port)).toBe(true);
      await client.createPermission(peer.address.address);
      for (let i = 0; i < 5; i++) {
        const payload = Buffer.from(`indication ${transport} ${i}`);
        const echoed = nextData(client);
        client.sendIndication(peer.address, payload);
        const got = await echoed;
        expect(got.data).toEqual(payload);
        expect(got.peer).toEqual(peer.address);
        expect(got.channel).toBeUndefined();
      }
    } finally {
      client.close();
    }
  });

  it('relays ChannelData both ways (odd payload sizes exercise stream padding)', async () => {
    const client = await connect();
    try {
      await client.allocate();
      await client.channelBind(0x4000 + 7, peer.address);
      for (const size of [1, 2, 3, 4, 5, 161, 1200]) {
        const payload = Buffer.alloc(size, size & 0xff);
        const echoed = nextData(client);
        client.sendChannelData(0x4007, payload);
        const got = await echoed;
        expect(got.channel).toBe(0x4007);
        expect(got.data).toEqual(payload);
      }
    } finally {
      client.close();
    }
  });
});

it('counts relayed packets in both directions', async () => {
  const before = server.stats();
  const client = await connectClient(server, 'udp');
  try {
    await client.allocate();
    await client.channelBind(0x4100, peer.address);
    const echoed = nextData(client);
    client.sendChannelData(0x4100, Buffer.from('x'));
    await echoed;
    const after = server.stats();
    expect(after.packetsToPeers - before.packetsToPeers).toBe(1);
    expect(after.packetsFromPeers - before.packetsFromPeers).toBe(1);
  } finally {
    client.close();
  }
});

it('deletes a TCP allocation and closes its relay socket when the connection closes', async () => {
  const client = await connectClient(server, 'tcp');
  const { relayed } = await client.allocate();
  const hasIt = () => server.allocations().some((a) => a.relayed.port === relayed.port);
  expect(hasIt()).toBe(true);
  client.close();
  await waitFor(() => !hasIt(), 3000, 'allocation removal');
  expect(server.stats().relaySockets).toBe(server.stats().allocations);
});

it('rejects a TLS client that does not trust the certificate', async () => {
  const port = server.addresses().tls!.port;
  await expect(TurnClient.connect({ transport: 'tls', host: '127.0.0.1', port, tls: { servername: 'localhost' } })).rejects.toThrow();
});

describe('relay to relay on this server', () => {
  /** Destinations of every UDP datagram the process sends while `fn` runs. */
  async function udpSendsDuring(fn: () => Promise<void>): Promise<{ address: string; port: number }[]> {
    const sends: { address: string; port: number }[] = [];
    const original = dgram.Socket.prototype.send;
    dgram.Socket.prototype.send = function (this: dgram.Socket, ...args: unknown[]) {
      // send(msg, port, address, cb) is the form node-turn's relay sockets use
      if (typeof args[1] === 'number' && typeof args[2] === 'string') sends.push({ port: args[1], address: args[2] });
      return (original as (...a: unknown[]) => void).apply(this, args);
    } as typeof original;
    try {
      await fn();
    } finally {
      dgram.Socket.prototype.send = original;
    }
    return sends;
  }

  async function pair(on: TurnServer) {
    const a = await connectClient(on, 'udp', { userId: 'ra' });
    const b = await connectClient(on, 'udp', { userId: 'rb' });
    const ra = (await a.allocate()).relayed;
    const rb = (await b.allocate()).relayed;
    const close = async () => {
      for (const c of [a, b]) {
        await c.refresh(0).catch(() => undefined);
        c.close();
      }
    };
    return { a, b, ra, rb, close };
  }

  it('hands datagrams from one allocation to the other inside the server, both ways, with the same checks', async () => {
    const { a, b, ra, rb, close } = await pair(server);
    try {
      await a.createPermission(rb.address);
      await b.createPermission(ra.address);
      await a.channelBind(0x4200, rb);
      const before = server.stats();
      const sends = await udpSendsDuring(async () => {
        const atB = nextData(b);
        a.sendChannelData(0x4200, Buffer.from('a to b'));
        const got = await atB;
        expect(got.data.toString()).toBe('a to b');
        // It arrives from A's relayed address, as a datagram from A's relay socket would.
        expect(got.peer).toEqual(ra);
        const atA = nextData(a);
        b.sendIndication(ra, Buffer.from('b to a'));
        const back = await atA;
        expect(back.data.toString()).toBe('b to a');
        expect(back.channel, 'A bound a channel to B: it gets ChannelData').toBe(0x4200);
      });
      // Nothing went from one relay socket to the other through the kernel.
      expect(sends.filter((s) => s.port === ra.port || s.port === rb.port)).toEqual([]);
      const after = server.stats();
      expect(after.packetsToPeers - before.packetsToPeers).toBe(2);
      expect(after.packetsFromPeers - before.packetsFromPeers).toBe(2);
    } finally {
      await close();
    }
  });

  it('still needs the receiving allocation to have permitted the sender', async () => {
    const { a, b, ra, rb, close } = await pair(server);
    try {
      await a.createPermission(rb.address);
      // B permits nobody: A's datagrams must not reach B's client.
      const atB = nextData(b, 500);
      a.sendIndication(rb, Buffer.from('unwanted'));
      await expect(atB).rejects.toThrow(/no relayed data/);
      expect(ra.port).not.toBe(rb.port);
    } finally {
      await close();
    }
  });

  it('works where the advertised (external) address does not lead back to the relay', async () => {
    // The relay binds 127.0.0.1 but advertises 127.0.0.3, where nothing listens: like a cloud VM
    // whose public address does not hairpin. Relay to relay must not depend on that address.
    const natted = await startServer({ relayIp: '127.0.0.1', externalIp: '127.0.0.3' });
    const { a, b, ra, rb, close } = await pair(natted);
    try {
      expect(ra.address).toBe('127.0.0.3');
      await a.createPermission(rb.address);
      await b.createPermission(ra.address);
      const atB = nextData(b);
      a.sendIndication(rb, Buffer.from('across the NAT'));
      expect((await atB).data.toString()).toBe('across the NAT');
    } finally {
      await close();
      await natted.close();
    }
  });
});
