/**
 * Real media on both of callwire's paths, between real wrtc peers and a real server.
 * SFU: an in-process server with one mediasoup worker and four bots (mediasoup-client) in one
 * room; every bot must receive every other bot's voice as Opus with packets still arriving,
 * decode real (non-silent) audio, and receive the one camera as VP8.
 * P2P: two bots in a call of two link directly (the web app's PeerLink); each must hear and see
 * the other, over a host-to-host loopback path, while the SFU stays unused.
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
      bots.push(
        new Bot({ url: server.url, roomId: ROOM, name: `Bot ${i + 1}`, seed: i + 1, clock, video: i === 0 ? { width: 160, height: 120, fps: 10 } : false }),
      );
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

  it('two bots in a call of two talk peer to peer: voice (Opus) and camera (VP8) both ways, the SFU unused', async () => {
    const rtcPort = 44_000 + 2 * Math.floor(Math.random() * 1_500);
    // The SFU is running, so that "unused" means something.
    server = await startTestServer({ SFU_ENABLED: 'true', SFU_WORKERS: '1', SFU_RTC_PORT: String(rtcPort) });
    const camera = { width: 160, height: 120, fps: 10 };
    for (let i = 0; i < 2; i++)
      bots.push(new Bot({ url: server.url, roomId: 'p2p-test', name: `Bot ${i + 1}`, seed: i + 1, clock, mode: 'p2p', video: camera }));
    // The first waits alone until the second joins and offers.
    await Promise.all(bots.map((b, i) => sleep(i * 300).then(() => b.start(15_000))));
    const [a, b] = bots as [Bot, Bot];
    const from = (s: BotStats, bot: Bot, kind: 'audio' | 'video') => s.inbound.find((i) => i.participantId === bot.participantId && i.kind === kind);

    await until("each bot receives the other's voice and camera", async () => {
      const [sa, sb] = await Promise.all([a.stats(), b.stats()]);
      return [from(sa, b, 'audio'), from(sa, b, 'video'), from(sb, a, 'audio'), from(sb, a, 'video')].every((s) => (s?.packetsReceived ?? 0) > 0);
    });
    const first = await Promise.all(bots.map((x) => x.stats()));
    await sleep(1_000);
    const second = await Promise.all(bots.map((x) => x.stats()));

    for (const [i, s] of second.entries()) {
      const other = bots[1 - i]!;
      expect(s.mode).toBe('p2p');
      expect(s.links, `${s.name} has one link`).toBe(1);
      expect(s.path, `${s.name}: straight to the other bot, no relay`).toMatch(/^host udp \S+ → host /);
      expect(s.errors, `${s.name} errors`).toEqual([]);
      expect(s.firstRtpMs, `${s.name} got a first packet`).toBeGreaterThan(s.joinMs!);
      expect(s.streams).toBe(2);
      const voice = from(s, other, 'audio')!;
      const cam = from(s, other, 'video')!;
      expect(voice.codec.toLowerCase(), `${s.name} hears Opus`).toBe('audio/opus');
      expect(cam.codec.toLowerCase(), `${s.name} sees VP8 (wrtc has no H.264 encoder)`).toBe('video/vp8');
      expect(voice.packetsReceived - from(first[i]!, other, 'audio')!.packetsReceived, `${s.name} voice packets rising`).toBeGreaterThan(10);
      expect(cam.packetsReceived - from(first[i]!, other, 'video')!.packetsReceived, `${s.name} camera packets rising`).toBeGreaterThan(5);
      expect(s.outbound.map((o) => o.codec.toLowerCase()).sort()).toEqual(['audio/opus', 'video/vp8']);
    }
    await until('both bots decoded non-silent audio', () => bots.every((x) => x.firstAudioMs !== null), 5_000);
    // Media went bot to bot: the server made no SFU room for the call.
    expect(server.sfu?.sfuRooms.length).toBe(0);
  }, 30_000);

  it('a P2P bot refuses a room that is already on the SFU', async () => {
    const rtcPort = 44_000 + 2 * Math.floor(Math.random() * 1_500);
    server = await startTestServer({ SFU_ENABLED: 'true', SFU_WORKERS: '1', SFU_RTC_PORT: String(rtcPort) });
    for (let i = 0; i < 3; i++) bots.push(new Bot({ url: server.url, roomId: 'sfu-room', name: `Bot ${i + 1}`, seed: i + 1, clock }));
    await Promise.all(bots.map((b, i) => sleep(i * 100).then(() => b.start(20_000))));
    const late = new Bot({ url: server.url, roomId: 'sfu-room', name: 'Late', seed: 9, clock, mode: 'p2p' });
    bots.push(late);
    await expect(late.start(5_000)).rejects.toThrow(/already on the SFU: P2P bots need rooms of two/);
  }, 30_000);
});
