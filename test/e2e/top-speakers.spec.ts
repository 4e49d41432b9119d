/**
 * Top-K audio in Chromium: above the threshold only the K most recent loudest speakers' audio is
 * forwarded. With K=1 and three people, the listener receives only the person talking; when
 * someone else starts talking they are heard after a short, measured delay.
 *
 * Everyone "talks" a steady tone at about −20 dBFS (a WAV file as Chromium's fake microphone),
 * as a person speaking does. Chromium's built-in fake microphone is a short beep whose level,
 * after auto gain control, drifts down to about −70 dBov: right at the SFU's speech threshold,
 * so whether a new speaker counted as speaking was a matter of luck (1 run in 8 failed).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, expect, test, type Browser, type Page } from '@playwright/test';
import { CHROMIUM_ARGS } from '../../playwright.config.ts';
import type { CallwireServer } from '../../server/src/CallwireServer.ts';
import { startSfuServer } from '../../server/src/testing/harness.ts';
import { person, closePeople } from './media.ts';
import type {} from '../../web/src/testHook.ts';

test.afterEach(closePeople);

let server: CallwireServer;
let browser: Browser;
test.beforeAll(async () => {
  server = await startSfuServer(40_700, { SFU_TOP_K: '1', SFU_TOP_K_THRESHOLD: '2' });
  const voice = resolve('test-results', 'top-speakers-voice.wav');
  mkdirSync('test-results', { recursive: true });
  writeFileSync(voice, toneWav(440, 0.1, 4));
  browser = await chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS, `--use-file-for-fake-audio-capture=${voice}`],
  });
});
test.afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** A mono 16-bit 48 kHz WAV: a sine of `hz` at `amplitude` (0–1 of full scale) for `seconds` (Chromium loops it). */
function toneWav(hz: number, amplitude: number, seconds: number): Buffer {
  const rate = 48_000;
  const n = rate * seconds;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + n * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(amplitude * 32_767 * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + i * 2);
  return b;
}

/** Audio packets `page` has received from each remote person, by name. */
const audioPackets = (page: Page) => page.evaluate(() => window.callwire!.audioPackets());

/** What the SFU forwards to whom right now (for failure messages): consumer → paused or not. */
function forwardingState(): string {
  const room = server.sfu?.sfuRooms[0];
  if (!room) return 'no SFU room';
  const names = new Map([...(server.rooms.get(room.roomId)?.participants.values() ?? [])].map((p) => [p.id, p.name]));
  const rows: string[] = [];
  for (const [pid, peer] of room.peers) {
    for (const c of peer.consumers.values()) {
      if (c.kind === 'audio')
        rows.push(`${names.get(pid)}←${names.get(c.appData.participantId)}: ${c.paused ? 'paused' : 'forwarded'}${c.producerPaused ? ' (sender paused)' : ''}`);
    }
  }
  return rows.join(', ');
}

/** Packets per second from each person over `ms`. */
async function rates(page: Page, ms = 1_500): Promise<Record<string, number>> {
  const a = await audioPackets(page);
  await page.waitForTimeout(ms);
  const b = await audioPackets(page);
  return Object.fromEntries(Object.keys(b).map((k) => [k, ((b[k]! - (a[k] ?? 0)) * 1000) / ms]));
}

test('only the current speaker is forwarded; a new speaker is heard within a few hundred ms', async () => {
  const room = `topk-${Date.now()}`;
  const pages: Record<string, Page> = {};
  // Ann and Ben join muted; Cat talks (the tone above, without a pause).
  for (const [name, muted] of [
    ['Ann', true],
    ['Ben', true],
    ['Cat', false],
  ] as const) {
    const page = await person(browser);
    await page.goto(`${server.url}/call/${room}?name=${name}&video=0`);
    await expect(page.getByTestId('call-status')).toHaveText(/Connected|Waiting/, { timeout: 30_000 });
    if (muted) await page.getByRole('button', { name: 'Mute', exact: true }).click();
    pages[name] = page;
  }
  const ben = pages['Ben']!;
  // Ann and Ben started peer to peer; wait until the move to the SFU has closed that link.
  const p2pLinks = (page: Page) => page.evaluate(() => window.callwire!.p2pLinks());
  for (const page of Object.values(pages)) await expect.poll(() => p2pLinks(page), { timeout: 20_000, message: 'escalated to the SFU' }).toBe(0);
  await expect.poll(async () => (await rates(ben))['Cat'] ?? 0, { timeout: 20_000, message: 'Ben hears Cat' }).toBeGreaterThan(20);
  const before = await rates(ben);
  expect(before['Ann'], 'muted Ann is not forwarded').toBeLessThan(5);

  // Cat stops, Ann starts. How long until Ben receives Ann's voice?
  const delays: number[] = [];
  for (let round = 0; round < 3; round++) {
    const [talker, other] = round % 2 === 0 ? ['Ann', 'Cat'] : ['Cat', 'Ann'];
    await pages[other]!.getByRole('button', { name: 'Mute', exact: true }).click();
    await ben.waitForTimeout(1_500);
    const start = await audioPackets(ben);
    const t0 = Date.now();
    await pages[talker]!.getByRole('button', { name: 'Unmute' }).click();
    let heardAt = 0;
    while (Date.now() - t0 < 10_000) {
      const now = await audioPackets(ben);
      if ((now[talker] ?? 0) - (start[talker] ?? 0) >= 5) {
        heardAt = Date.now() - t0;
        break;
      }
      await ben.waitForTimeout(20);
    }
    expect(heardAt, `${talker} is heard; the SFU's view of what Ben receives: ${forwardingState()}`).toBeGreaterThan(0);
    delays.push(heardAt);
  }
  console.log(`top-K: new speaker heard after ${delays.join(', ')} ms (unmute click → 5 packets at the listener)`);
  // With K=1 the one who stopped is no longer forwarded.
  const after = await rates(ben);
  const quiet = Object.entries(after)
    .filter(([, r]) => r > 20)
    .map(([n]) => n);
  expect(quiet).toHaveLength(1);
  for (const p of Object.values(pages)) await p.context().close();
});
