/**
 * The bare relay really relays: three bots (the load test's, mediasoup-client on wrtc, unchanged)
 * join one room through the protocol subset the relay speaks, and each must receive and decode
 * the two others' voices as Opus with packets still arriving.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Bot, type BotStats } from '../bots/Bot.ts';
import { MediaClock } from '../bots/MediaClock.ts';
import { BareRelay } from './BareRelay.ts';

const ROOM = 'bare-relay-test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
}

describe('BareRelay', () => {
  let relay: BareRelay | null = null;
  const clock = new MediaClock();
  const bots: Bot[] = [];

  afterEach(async () => {
    await Promise.all(bots.splice(0).map((b) => b.close()));
    clock.close();
    await relay?.close();
    relay = null;
  });

  it('three bots hear each other through it (Opus, packets rising, decoded sound)', async () => {
    relay = await BareRelay.start({ rtcPort: 46_000 + 2 * Math.floor(Math.random() * 1_500) });
    for (let i = 0; i < 3; i++) bots.push(new Bot({ url: relay.url, roomId: ROOM, name: `Bot ${i + 1}`, seed: i + 1, clock }));
    await Promise.all(bots.map((b, i) => sleep(i * 100).then(() => b.start(15_000))));
    const ids = bots.map((b) => b.participantId!);
    const from = (s: BotStats, id: string) => s.inbound.find((x) => x.participantId === id && x.kind === 'audio');

    await until(
      'every bot receives packets from both others',
      async () => (await Promise.all(bots.map((b) => b.stats()))).every((s, i) => ids.every((id, j) => i === j || (from(s, id)?.packetsReceived ?? 0) > 0)),
      10_000,
    );
    const first = await Promise.all(bots.map((b) => b.stats()));
    await sleep(1_000);
    const second = await Promise.all(bots.map((b) => b.stats()));
    for (const [i, s] of second.entries()) {
      expect(s.errors, `${s.name} errors`).toEqual([]);
      expect(s.streams, `${s.name} streams`).toBe(2);
      for (const [j, id] of ids.entries()) {
        if (i === j) continue;
        const now = from(s, id)!;
        expect(now.codec.toLowerCase(), `${s.name} ← Bot ${j + 1}`).toBe('audio/opus');
        // ~50 packets a second of voice; DTX in a pause sends fewer, never none for a second.
        expect(now.packetsReceived - from(first[i]!, id)!.packetsReceived, `${s.name} ← Bot ${j + 1} packets rising`).toBeGreaterThan(10);
      }
    }
    await until('every bot decoded non-silent audio', async () => bots.every((b) => b.firstAudioMs !== null), 5_000);

    // The relay's own view: one room, three peers, each with one producer and two consumers.
    const [room] = relay.rooms;
    expect(relay.rooms).toHaveLength(1);
    expect([...room!.peers.values()].map((p) => [p.producers.size, p.consumers.size])).toEqual([
      [1, 2],
      [1, 2],
      [1, 2],
    ]);
    // Leaving closes the others' consumers of the leaver.
    await bots.pop()!.close();
    await until('the leaver is gone', async () => [...room!.peers.values()].every((p) => p.consumers.size === 1) && room!.peers.size === 2, 5_000);
  }, 30_000);
});
