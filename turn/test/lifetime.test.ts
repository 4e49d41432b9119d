// Refresh/LIFETIME handling and release of relay sockets on expiry and deallocation.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TurnServer } from '../src/index.ts';
import { connectClient, nextData, sleep, startEchoPeer, startServer, udpPortIsFree, waitFor, type EchoPeer } from './helpers.ts';

// short lifetimes so expiry is observable within a test: min 1 s, default 2 s, max 3 s
let server: TurnServer;
let peer: EchoPeer;

beforeAll(async () => {
  server = await startServer({ minLifetime: 1, defaultLifetime: 2, maxLifetime: 3 });
  peer = await startEchoPeer();
});

afterAll(async () => {
  await server?.close();
  await peer?.close();
});

const hasAllocation = (port: number) => server.allocations().some((a) => a.relayed.port === port);

it('honours the LIFETIME requested in Allocate and Refresh, clamped to [min, max]', async () => {
  const client = await connectClient(server, 'udp');
  try {
    expect((await client.allocate({ lifetime: 1 })).lifetime).toBe(1);
    expect(await client.refresh(3)).toBe(3);
    expect(await client.refresh(3600)).toBe(3);
    expect(await client.refresh()).toBe(2);
  } finally {
    await client.refresh(0).catch(() => undefined);
    client.close();
  }
});

it('keeps a refreshed allocation alive for more than two lifetimes, still relaying', async () => {
  const client = await connectClient(server, 'udp');
  try {
    const { relayed, lifetime } = await client.allocate();
    expect(lifetime).toBe(2);
    await client.channelBind(0x4001, peer.address);
    const started = Date.now();
    // 5 s = 2.5 lifetimes; refresh every second
    while (Date.now() - started < 5000) {
      await sleep(1000);
      expect(await client.refresh()).toBe(2);
      const echoed = nextData(client);
      client.sendChannelData(0x4001, Buffer.from('still here'));
      expect((await echoed).data.toString()).toBe('still here');
    }
    expect(hasAllocation(relayed.port)).toBe(true);
  } finally {
    await client.refresh(0).catch(() => undefined);
    client.close();
  }
}, 15_000);

it('expires an unrefreshed allocation and closes its relay socket', async () => {
  const client = await connectClient(server, 'udp');
  try {
    const baseline = server.stats().relaySockets;
    const { relayed } = await client.allocate();
    expect(server.stats().relaySockets).toBe(baseline + 1);
    await sleep(1500);
    expect(hasAllocation(relayed.port)).toBe(true);
    await waitFor(() => !hasAllocation(relayed.port), 2000, 'expiry');
    await waitFor(() => server.stats().relaySockets === baseline, 1000, 'relay socket close');
    expect(server.stats().allocations).toBe(baseline);
    expect(await udpPortIsFree(relayed.address, relayed.port)).toBe(true);
    // the expired 5-tuple has no allocation any more: Refresh gets 437
    await expect(client.refresh()).rejects.toMatchObject({ code: 437 });
  } finally {
    client.close();
  }
}, 10_000);

it('deletes the allocation and closes its relay socket on Refresh with LIFETIME 0', async () => {
  const client = await connectClient(server, 'tcp');
  try {
    const baseline = server.stats().relaySockets;
    const { relayed } = await client.allocate();
    expect(server.stats().relaySockets).toBe(baseline + 1);
    expect(await client.refresh(0)).toBe(0);
    expect(hasAllocation(relayed.port)).toBe(false);
    await waitFor(() => server.stats().relaySockets === baseline, 1000, 'relay socket close');
    expect(await udpPortIsFree(relayed.address, relayed.port)).toBe(true);
  } finally {
    client.close();
  }
});

it('closes every relay socket when the server closes', async () => {
  const other = await startServer();
  const clients = await Promise.all([connectClient(other, 'udp'), connectClient(other, 'tcp')]);
  await Promise.all(clients.map((c) => c.allocate()));
  expect(other.stats()).toMatchObject({ allocations: 2, relaySockets: 2 });
  await other.close();
  expect(other.stats()).toMatchObject({ allocations: 0, relaySockets: 0 });
  clients.forEach((c) => c.close());
});
