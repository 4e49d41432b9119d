/**
 * What the server sees of an end-to-end encrypted group call: a receiver on the server side (a
 * mediasoup consumer on a DirectTransport, attached to every producer of the room) gets every
 * packet the SFU forwards, and none of it is a usable frame — every Opus payload and every H.264
 * frame is SFrame ciphertext (RFC 9605 header at its end, a counter that only grows), while the
 * three Chromium pages decode each other. The H.264 NAL headers stay readable, so the SFU still
 * sees keyframes (simulcast layers keep switching).
 */
import { expect, test, type Page } from '@playwright/test';
import type { CallwireServer } from '../../server/src/CallwireServer.ts';
import { startSfuServer } from '../../server/src/testing/harness.ts';
import { decodeHeader } from '../../web/src/e2ee/sframe.ts';
import { unescape } from '../../web/src/e2ee/h264.ts';
import { closePeople, expectMediaFlowing, person, snapshot } from './media.ts';
import type {} from '../../web/src/testHook.ts';

test.afterEach(closePeople);

let server: CallwireServer;
test.beforeAll(async () => {
  server = await startSfuServer(40_950, { E2EE: 'required' });
});
test.afterAll(async () => server?.close());

/** An RTP packet's payload (after CSRCs and the header extension, before padding), its SSRC and marker bit. */
function rtp(buf: Buffer): { ssrc: number; marker: boolean; payload: Buffer } {
  const cc = buf[0]! & 0x0f;
  let at = 12 + 4 * cc;
  if (buf[0]! & 0x10) at += 4 + 4 * buf.readUInt16BE(at + 2);
  const padding = buf[0]! & 0x20 ? buf[buf.length - 1]! : 0;
  return { ssrc: buf.readUInt32BE(8), marker: (buf[1]! & 0x80) !== 0, payload: buf.subarray(at, buf.length - padding) };
}

/** The SFrame header at the end of a frame's ciphertext, or null if there is none. */
function trailer(tail: Uint8Array): { kid: number; ctr: number } | null {
  const length = tail[tail.length - 1] ?? 0;
  if (length < 1 || length > 17 || tail.length < length + 1) return null;
  const h = decodeHeader(tail.subarray(tail.length - 1 - length, tail.length - 1));
  return h && h.length === length ? { kid: h.kid, ctr: h.ctr } : null;
}

test('the SFU forwards only ciphertext: a server-side receiver gets every packet and no decodable frame, while the pages decode each other', async ({
  browser,
}) => {
  const roomId = `wire-${Date.now()}`;
  const pages: Page[] = [];
  for (const name of ['Ann', 'Ben', 'Cat']) {
    const page = await person(browser);
    await page.goto(`${server.url}/call/${roomId}?name=${name}&res=320x240`);
    pages.push(page);
  }
  for (const page of pages) await expect.poll(async () => (await snapshot(page)).inVideoStreams, { timeout: 30_000 }).toBe(2);
  for (const page of pages) expect((await page.evaluate(() => window.callwire!.e2ee())).encrypted).toBe(true);

  // Tap every producer of the room on the server, as a curious operator could.
  const sfuRoom = server.sfu!.sfuRooms.find((r) => r.roomId === roomId)!;
  const tap = await sfuRoom.router.createDirectTransport();
  const audio: { ssrc: number; payload: Buffer }[] = [];
  const videoFrames: { ssrc: number; nalTypes: number[]; tail: Uint8Array }[] = [];
  const current = new Map<number, { nalTypes: number[]; tail: Buffer }>();
  for (const peer of sfuRoom.peers.values()) {
    for (const producer of peer.producers.values()) {
      const consumer = await tap.consume({ producerId: producer.id, rtpCapabilities: sfuRoom.router.rtpCapabilities });
      consumer.on('rtp', (buf) => {
        const p = rtp(buf);
        if (producer.kind === 'audio') return void audio.push(p);
        // H.264: gather each frame's NAL types (FU-A and STAP-A opened) and the end of its last NAL.
        const f = current.get(p.ssrc) ?? { nalTypes: [], tail: Buffer.alloc(0) };
        current.set(p.ssrc, f);
        const type = p.payload[0]! & 0x1f;
        if (type === 28) {
          if (p.payload[1]! & 0x80) f.nalTypes.push(p.payload[1]! & 0x1f);
          f.tail = Buffer.concat([f.tail, p.payload.subarray(2)]).subarray(-64);
        } else if (type === 24) {
          for (let at = 1; at + 2 < p.payload.length;) {
            const size = p.payload.readUInt16BE(at);
            f.nalTypes.push(p.payload[at + 2]! & 0x1f);
            f.tail = p.payload.subarray(at + 2, at + 2 + size).subarray(-64);
            at += 2 + size;
          }
        } else {
          f.nalTypes.push(type);
          f.tail = p.payload.subarray(-64);
        }
        if (p.marker) {
          videoFrames.push({ ssrc: p.ssrc, nalTypes: f.nalTypes, tail: unescape(f.tail) });
          current.delete(p.ssrc);
        }
      });
      if (producer.kind === 'video') await consumer.requestKeyFrame();
    }
  }
  await pages[0]!.waitForTimeout(4_000);
  tap.close();

  expect(audio.length, 'the tap received the audio').toBeGreaterThan(200);
  expect(videoFrames.length, 'and the video').toBeGreaterThan(30);
  // Every Opus payload ends with an SFrame header, its counter growing per sender.
  const lastCtr = new Map<number, number>();
  const kids = new Set<number>();
  for (const { ssrc, payload } of audio) {
    const h = trailer(payload);
    expect(h, 'an SFrame header ends every audio payload').not.toBeNull();
    expect(h!.ctr).toBeGreaterThan(lastCtr.get(ssrc) ?? -1);
    lastCtr.set(ssrc, h!.ctr);
    kids.add(h!.kid);
  }
  // Plain Opus from Chromium starts with one or two TOC bytes; ciphertext starts with anything.
  expect(new Set(audio.map((a) => a.payload[0])).size, 'Opus TOC bytes are ciphertext').toBeGreaterThan(30);
  for (const f of videoFrames) expect(trailer(f.tail), `an SFrame header ends every H.264 frame (NAL types ${f.nalTypes.join(',')})`).not.toBeNull();
  // The NAL headers stayed readable: the SFU sees keyframes (IDR with SPS and PPS) and delta frames.
  expect(videoFrames.some((f) => f.nalTypes.includes(5) && f.nalTypes.includes(7))).toBe(true);
  expect(videoFrames.some((f) => f.nalTypes.includes(1))).toBe(true);
  console.log(
    `server-side tap: ${audio.length} audio packets, ${videoFrames.length} video frames, all SFrame ciphertext; key ids seen: ${[...kids].join(', ')}`,
  );

  for (const page of pages) {
    const s = await expectMediaFlowing(page, { video: true });
    expect(s.inVideoCodecs).toEqual(['video/H264', 'video/H264']);
  }
});
