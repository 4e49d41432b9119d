// Allocate over UDP, TCP and TLS and relay both ways through Send/Data indications and ChannelData.
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
