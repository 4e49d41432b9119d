/**
 * Real media through the real SFU: an in-process server with one mediasoup worker and four bots
 * (mediasoup-client on wrtc) in one room. Every bot must receive every other bot's voice as Opus
 * with packets still arriving, decode real (non-silent) audio, and receive the one camera as VP8.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CallwireServer } from '../../server/src/CallwireServer.ts';
import { startTestServer } from '../../server/src/testing/harness.ts';
import { Bot, type BotStats } from './Bot.ts';
import { MediaClock } from './MediaClock.ts';

const ROOM = 'bots-test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
}

describe('Bot', () => {
  let server: CallwireServer | null = null;
  const clock = new MediaClock();
  const bots: Bot[] = [];

  afterEach(async () => {
    await Promise.all(bots.splice(0).map((b) => b.close()));
    clock.close();
    await server?.close();
    server = null;
  });

  it('four bots on the SFU each hear the three others (Opus, packets rising) and see the camera (VP8)', async () => {
    const rtcPort = 44_000 + 2 * Math.floor(Math.random() * 1_500);
    server = await startTestServer({ SFU_ENABLED: 'true', SFU_WORKERS: '1', SFU_RTC_PORT: String(rtcPort) });
    for (let i = 0; i < 4; i++) {
      bots.push(new Bot({ url: server.url, roomId: ROOM, name: `Bot ${i + 1}`, seed: i + 1, clock, video: i === 0 ? { width: 160, height: 120, fps: 10 } : false }));
    }
    // Joins overlap, as they do in a real call; the first two wait for the third to move the room to the SFU.
    await Promise.all(bots.map((b, i) => sleep(i * 100).then(() => b.start(20_000))));
    const ids = bots.map((b) => b.participantId!);
    const from = (s: BotStats, id: string, kind: 'audio' | 'video') => s.inbound.find((i) => i.participantId === id && i.kind === kind);

    await until('every bot receives packets from every other bot', async () => {
      const all = await Promise.all(bots.map((b) => b.stats()));
      return all.every((s, i) => ids.every((id, j) => i === j || (from(s, id, 'audio')?.packetsReceived ?? 0) > 0));
    });
    const first = await Promise.all(bots.map((b) => b.stats()));
    await sleep(1_000);
    const second = await Promise.all(bots.map((b) => b.stats()));

    for (const [i, s] of second.entries()) {
      expect(s.joinMs, `${s.name} joined`).toBeGreaterThan(0);
      expect(s.firstRtpMs, `${s.name} got a first packet`).toBeGreaterThan(s.joinMs!);
      expect(s.errors, `${s.name} errors`).toEqual([]);
      expect(s.packetsSent, `${s.name} sends`).toBeGreaterThan(0);
      for (const [j, id] of ids.entries()) {
        if (i === j) continue;
        const now = from(s, id, 'audio')!;
        const before = from(first[i]!, id, 'audio')!;
        expect(now.codec.toLowerCase(), `${s.name} ← Bot ${j + 1}`).toBe('audio/opus');
        // 1 s of voice is ~50 packets; DTX in a pause sends fewer, never none for a whole second.
        expect(now.packetsReceived - before.packetsReceived, `${s.name} ← Bot ${j + 1} packets rising`).toBeGreaterThan(10);
        expect(now.bytesReceived).toBeGreaterThan(before.bytesReceived);
      }
      if (i !== 0) {
        const cam = from(s, ids[0]!, 'video');
        expect(cam?.codec.toLowerCase(), `${s.name} sees Bot 1's camera`).toBe('video/vp8');
        expect(cam!.packetsReceived).toBeGreaterThan(0);
      }
    }
    // Real Opus decoded into real sound, not just packets.
    await until('every bot decoded non-silent audio', () => bots.every((b) => b.firstAudioMs !== null), 5_000);
  }, 30_000);
});
