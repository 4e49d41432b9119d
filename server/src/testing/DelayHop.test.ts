import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { DelayHop } from './DelayHop.ts';

/** A UDP echo server: what the hop stands in front of. */
async function echo(): Promise<Socket> {
  const s = createSocket('udp4');
  s.on('message', (m, from) => s.send(m, from.port, from.address));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

describe('DelayHop (delay and jitter for the media path)', () => {
  const open: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) await o.close();
  });

  it('holds every datagram at least the delay minus the jitter each way, and keeps their order', async () => {
    const server = await echo();
    open.push(server);
    const hop = await DelayHop.start({ target: { host: '127.0.0.1', port: server.address().port }, delayMs: 40, jitterMs: 20 });
    open.push(hop);
    const client = createSocket('udp4');
    open.push(client);
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
    const sentAt = new Map<number, number>();
    const rtts: number[] = [];
    const order: number[] = [];
    const all = new Promise<void>((resolve) =>
      client.on('message', (m) => {
        const n = m.readUInt32BE(0);
        order.push(n);
        rtts.push(performance.now() - sentAt.get(n)!);
        if (order.length === 30) resolve();
      }),
    );
    for (let n = 0; n < 30; n++) {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      sentAt.set(n, performance.now());
      client.send(b, hop.port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 5));
    }
    await all;
    // Two crossings (there and back), each at least 40 − 20 ms; timers may fire a little late, never early.
    expect(Math.min(...rtts)).toBeGreaterThanOrEqual(2 * (40 - 20) - 1);
    expect(order).toEqual([...Array(30).keys()]);
    expect(hop.forwarded).toBe(60);
  });

  it('refuses settings that make no sense', async () => {
    const target = { host: '127.0.0.1', port: 9 };
    await expect(DelayHop.start({ target, delayMs: -1 })).rejects.toThrow(/delayMs/);
    await expect(DelayHop.start({ target, delayMs: 10, jitterMs: 20 })).rejects.toThrow(/jitterMs/);
  });
});
