/**
 * Mixed-browser calls: Debian's Chromium (Playwright) and Debian's Firefox ESR (puppeteer-core
 * over WebDriver BiDi, firefox.ts) in the same calls, end-to-end encrypted (the server's default,
 * E2EE=required), asserting on real media on both sides: codecs, bytes, frames decoded.
 *
 * Firefox here has no H.264 (its OpenH264 plugin is a download): 1:1 calls negotiate VP8, and an
 * SFU room with a Firefox participant switches every sender to VP8 (docs/browsers.md).
 */
import { expect, test, type Page } from '@playwright/test';
import type { Browser as FirefoxBrowser } from 'puppeteer-core';
import type { CallwireServer } from '../../server/src/CallwireServer.ts';
import { startSfuServer } from '../../server/src/testing/harness.ts';
import { ConnectivityStack } from '../../scripts/connectivity/testing/ConnectivityStack.ts';
import { FirefoxPerson, launchFirefox } from './firefox.ts';
import { closePeople, expectMediaFlowing, localIceUfrag, person, remoteTile, signUp, snapshot, type Inspectable } from './media.ts';
import type {} from '../../web/src/testHook.ts';

/** The namespace's routed address (scripts/netns.sh): Firefox reaches the SFU there. */
const NETNS_ADDR = process.env['CALLWIRE_NETNS_ADDR'];
const SECRET = 'e2e-firefox-turn-secret-0123456789';

let server: CallwireServer;
let firefox: FirefoxBrowser;
const firefoxPeople: FirefoxPerson[] = [];

test.beforeAll(async () => {
  if (!NETNS_ADDR) {
    throw new Error('Firefox needs the routed test namespace (scripts/netns.sh sets CALLWIRE_NETNS_ADDR): run these through npm test or npm run test:e2e');
  }
  // The test harness's SFU server, as a call is: encrypted, with the bundled TURN relay.
  server = await startSfuServer(44_610, {
    LOG_LEVEL: 'warn',
    E2EE: 'required',
    SFU_LISTEN_IP: NETNS_ADDR,
    TURN_ENABLED: 'true',
    TURN_SECRET: SECRET,
    TURN_UDP_PORT: '0',
    TURN_TCP_PORT: '0',
    RING_TIMEOUT_MS: '15000',
  });
  firefox = await launchFirefox();
});

test.afterAll(async () => {
  await firefox?.close().catch(() => {});
  await server?.close();
});

test.afterEach(async () => {
  await Promise.all(firefoxPeople.splice(0).map((p) => p.close()));
  await closePeople();
});

async function firefoxPerson(): Promise<FirefoxPerson> {
  const p = await FirefoxPerson.open(firefox, server.url);
  firefoxPeople.push(p);
  return p;
}

const status = (page: Page) => page.getByTestId('call-status');
const e2ee = (p: Inspectable) => (p as Page).evaluate(() => window.callwire!.e2ee());

/** Someone's audio and video passed through this person's decrypting transform (names as shown). */
async function expectDecrypts(p: Inspectable, others: string[], video = true): Promise<void> {
  await expect
    .poll(
      async () => {
        const { counts } = await e2ee(p);
        return others.every((o) => (counts?.decrypted[`${o}:audio`] ?? 0) > 20 && (!video || (counts?.decrypted[`${o}:video`] ?? 0) > 10));
      },
      { timeout: 20_000, message: `frames from ${others.join(', ')} decrypted` },
    )
    .toBe(true);
}

test('call link, Chromium ↔ Firefox: both connect, encrypted with the same safety code; VP8 video and Opus audio flow both ways', async ({ browser }) => {
  const room = `fx-link-${Date.now()}`;
  const chrome = await person(browser);
  const fox = await firefoxPerson();
  await chrome.goto(`${server.url}/call/${room}?name=Chris&res=320x240`);
  await fox.goto(`/call/${room}?name=Fiona&res=320x240`);
  await expect(status(chrome)).toHaveText('Connected', { timeout: 30_000 });
  await fox.expectText('call-status', 'Connected');
  for (const [p, other] of [
    [chrome, 'Fiona'],
    [fox, 'Chris'],
  ] as const) {
    const s = await expectMediaFlowing(p, { video: true });
    expect(s.inVideoCodecs).toEqual(['video/VP8']);
    expect(s.outVideoCodec).toBe('video/VP8');
    expect(s.inAudioCodec).toBe('audio/opus');
    expect(s.outVideoBytes).toBeGreaterThan(0);
    expect((await e2ee(p)).encrypted).toBe(true);
    await expectDecrypts(p, [other]);
  }
  // The safety code people compare aloud is the same in both browsers.
  const [c1, c2] = await Promise.all([chrome, fox].map(async (p) => (await e2ee(p)).safetyCode));
  expect(c1).toMatch(/\d/);
  expect(c2).toBe(c1);
});

/** Onboards a Firefox guest on the home page and returns their handle. */
async function signUpFirefox(p: FirefoxPerson, name: string): Promise<string> {
  await p.goto('/');
  await p.fill('Your name', name);
  await p.clickButton('Continue');
  await expect.poll(() => p.text('my-handle'), { timeout: 15_000, message: 'a handle (Firefox)' }).not.toBe('');
  return p.text('my-handle');
}

const sentTrackId = (p: FirefoxPerson, kind: 'audio' | 'video') =>
  p.evaluate(
    (kind) =>
      (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs
        .filter((pc) => pc.connectionState !== 'closed')
        .flatMap((pc) => pc.getSenders())
        .find((s) => s.track?.kind === kind)?.track?.id ?? null,
    kind,
  );

test('by handle, Firefox calls Chromium: ringing, voice, then video on consent; mute, camera off, camera and speaker switch and ICE restart work from either side', async ({
  browser,
}) => {
  const chrome = await person(browser);
  const fox = await firefoxPerson();
  const chrisHandle = await signUp(chrome, 'Chris', server.url);
  await signUpFirefox(fox, 'Fiona');

  // Firefox dials; Chromium rings and accepts.
  await fox.fill('Handle to call', chrisHandle);
  await fox.clickButton('Voice call');
  await fox.expectText('call-status', 'Ringing…');
  const incoming = chrome.getByRole('dialog', { name: 'Incoming call' });
  await expect(incoming).toContainText('Fiona');
  await incoming.getByRole('button', { name: 'Accept' }).click();
  await expect(status(chrome)).toHaveText('Connected');
  await fox.expectText('call-status', 'Connected');
  for (const p of [chrome, fox]) {
    const s = await expectMediaFlowing(p, { video: false });
    expect(s.inAudioCodec).toBe('audio/opus');
    expect(s.outVideoBytes).toBe(0);
  }

  // Voice → video: Firefox asks, Chromium agrees; VP8 flows both ways.
  await fox.clickButton('Switch to video');
  await chrome.getByRole('button', { name: 'Accept video' }).click();
  for (const p of [chrome, fox]) {
    const s = await expectMediaFlowing(p, { video: true });
    expect(s.outVideoCodec).toBe('video/VP8');
    expect(s.inVideoCodecs).toEqual(['video/VP8']);
  }

  // Firefox mutes: Chromium sees it; unmutes.
  await fox.clickButton('Mute');
  await expect(chrome.getByTestId('remote-muted')).toBeVisible();
  await fox.clickButton('Unmute');
  await expect(chrome.getByTestId('remote-muted')).toBeHidden();

  // Chromium turns its camera off: Firefox shows the avatar; on again brings video back.
  await chrome.getByRole('button', { name: 'Camera off' }).click();
  const noVideo = async () => (await remoteTile(fox)).noVideo;
  await expect.poll(noVideo, { message: 'Firefox shows the avatar' }).toBe(true);
  await chrome.getByRole('button', { name: 'Camera on' }).click();
  await expect.poll(noVideo, { message: 'Firefox shows video again' }).toBe(false);
  await expectMediaFlowing(fox, { video: true });

  // Firefox picks its camera again in Devices: a new track is sent, Chromium keeps decoding.
  const before = await sentTrackId(fox, 'video');
  await fox.clickButton('Devices');
  await fox.page.waitForSelector('dialog.devices select[aria-label="Camera"]');
  const camera = await fox.page.$eval('dialog.devices select[aria-label="Camera"]', (s) => (s as HTMLSelectElement).value);
  await fox.page.select('dialog.devices select[aria-label="Camera"]', camera);
  await expect.poll(() => sentTrackId(fox, 'video'), { message: 'a new camera track is sent' }).not.toBe(before);
  // …and another speaker (setSinkId): Chris is played on it from now on.
  const speaker = 'dialog.devices select[aria-label="Speaker"]';
  const outputs = await fox.page.$$eval(`${speaker} option`, (os) => os.map((o) => (o as HTMLOptionElement).value));
  expect(outputs.length, 'Firefox lists its speakers').toBeGreaterThan(1);
  await fox.page.select(speaker, outputs.at(-1)!);
  await expect
    .poll(() => fox.evaluate(() => (document.querySelector('[data-testid=remote-audio]') as HTMLAudioElement & { sinkId: string }).sinkId), {
      message: 'remote audio plays on the chosen speaker',
    })
    .toBe(outputs.at(-1));
  await fox.clickButton('Done');
  await expectMediaFlowing(chrome, { video: true });

  // An ICE restart from Firefox (the app restarts ICE when the network comes back).
  const ufrag = () => localIceUfrag(fox);
  const oldUfrag = await ufrag();
  await fox.evaluate(() => window.dispatchEvent(new Event('online')));
  await expect.poll(ufrag, { message: 'Firefox negotiated new ICE credentials' }).not.toBe(oldUfrag);
  await expect(status(chrome)).toHaveText('Connected');
  for (const p of [chrome, fox]) await expectMediaFlowing(p, { video: true });
  await expectDecrypts(chrome, ['Fiona']);
  await expectDecrypts(fox, ['Chris']);

  await fox.clickButton('Hang up');
  await expect(chrome.getByTestId('call-ended')).toContainText('Call ended');
});

test('Firefox ↔ Firefox by handle: a voice call rings and is accepted, goes to video on consent, and mute, camera off and ICE restart work; encrypted VP8 + Opus', async () => {
  const a = await firefoxPerson();
  const b = await firefoxPerson();
  await signUpFirefox(a, 'Fern');
  const bHandle = await signUpFirefox(b, 'Felix');
  await a.fill('Handle to call', bHandle);
  await a.clickButton('Voice call');
  await expect.poll(() => b.text('verified-handle'), { message: 'Felix sees who calls' }).toMatch(/^✓ @/);
  await b.clickButton('Accept', '[aria-label="Incoming call"]');
  for (const p of [a, b]) await p.expectText('call-status', 'Connected');
  await expectMediaFlowing(b, { video: false });

  // Felix asks for video, Fern agrees.
  await b.clickButton('Switch to video');
  await a.clickButton('Accept video');
  for (const [p, other] of [
    [a, 'Felix'],
    [b, 'Fern'],
  ] as const) {
    const s = await expectMediaFlowing(p, { video: true });
    expect(s.outVideoCodec).toBe('video/VP8');
    expect(s.inVideoCodecs).toEqual(['video/VP8']);
    expect(s.inAudioCodec).toBe('audio/opus');
    await expectDecrypts(p, [other]);
  }

  // Fern mutes and turns her camera off: Felix sees both; back on, video flows again.
  await a.clickButton('Mute');
  await a.clickButton('Camera off');
  await expect.poll(() => remoteTile(b), { message: 'Felix sees Fern muted, without video' }).toEqual({ muted: true, noVideo: true });
  await a.clickButton('Unmute');
  await a.clickButton('Camera on');
  await expect.poll(() => remoteTile(b), { message: 'Felix sees Fern back' }).toEqual({ muted: false, noVideo: false });
  await expectMediaFlowing(b, { video: true });

  // Felix's network "comes back": ICE restarts and the call goes on.
  const ufrag = () => localIceUfrag(b);
  const before = await ufrag();
  await b.evaluate(() => window.dispatchEvent(new Event('online')));
  await expect.poll(ufrag, { message: 'new ICE credentials' }).not.toBe(before);
  for (const p of [a, b]) {
    await p.expectText('call-status', 'Connected');
    await expectMediaFlowing(p, { video: true });
  }
});

test('Firefox ↔ Firefox by call link, relay only (bundled TURN over UDP): relay candidates, encrypted media both ways, the same safety code', async () => {
  const room = `fx-fx-relay-${Date.now()}`;
  const a = await firefoxPerson();
  const b = await firefoxPerson();
  await a.goto(`/call/${room}?name=Fern&res=320x240&relay=udp`);
  await b.goto(`/call/${room}?name=Felix&res=320x240&relay=udp`);
  for (const p of [a, b]) await p.expectText('call-status', 'Connected');
  for (const [p, other] of [
    [a, 'Felix'],
    [b, 'Fern'],
  ] as const) {
    const s = await expectMediaFlowing(p, { video: true });
    expect(s.candidateType, 'selected local candidate').toBe('relay');
    expect(s.inVideoCodecs).toEqual(['video/VP8']);
    await expectDecrypts(p, [other]);
  }
  const codes = await Promise.all([a, b].map(async (p) => (await e2ee(p)).safetyCode));
  expect(codes[0]).toMatch(/\d/);
  expect(codes[1]).toBe(codes[0]);
});

for (const transport of ['udp', 'tcp'] as const) {
  test(`relay-only Chromium ↔ Firefox over the bundled TURN (${transport.toUpperCase()}): both use relay candidates, media flows`, async ({ browser }) => {
    const room = `fx-relay-${transport}-${Date.now()}`;
    const chrome = await person(browser);
    const fox = await firefoxPerson();
    await chrome.goto(`${server.url}/call/${room}?name=Chris&res=320x240&relay=${transport}`);
    await fox.goto(`/call/${room}?name=Fiona&res=320x240&relay=${transport}`);
    await expect(status(chrome)).toHaveText('Connected', { timeout: 30_000 });
    await fox.expectText('call-status', 'Connected');
    for (const p of [chrome, fox]) {
      const s = await expectMediaFlowing(p, { video: true });
      expect(s.candidateType, 'selected local candidate').toBe('relay');
      expect(s.inVideoCodecs).toEqual(['video/VP8']);
    }
    expect((await snapshot(chrome)).protocol, 'Chromium ↔ relay transport').toBe(transport);
    expect(server.turn!.stats().allocations).toBeGreaterThanOrEqual(2);
  });
}

test('group call, 2 Chromium + 1 Firefox: the P2P pair moves to the SFU, the room switches to VP8 for Firefox, everyone decodes everyone; H.264 again once Firefox leaves', async ({
  browser,
}) => {
  const room = `fx-group-${Date.now()}`;
  const chris = await person(browser);
  const fox = await firefoxPerson();
  await chris.goto(`${server.url}/call/${room}?name=Chris&res=320x240`);
  // Firefox at 640x480: large enough for two simulcast layers.
  await fox.goto(`/call/${room}?name=Fiona&res=640x480`);
  await expect(status(chris)).toHaveText('Connected', { timeout: 30_000 });
  await fox.expectText('call-status', 'Connected');
  const cara = await person(browser);
  await cara.goto(`${server.url}/call/${room}?name=Cara&res=320x240`);
  await expect(status(cara)).toHaveText('Connected', { timeout: 30_000 });

  const mode = (p: Inspectable) => (p as Page).evaluate(() => window.callwire!.mode());
  const p2pLinks = (p: Inspectable) => (p as Page).evaluate(() => window.callwire!.p2pLinks());
  for (const p of [chris, fox, cara]) {
    await expect.poll(() => mode(p), { timeout: 20_000 }).toBe('sfu');
    await expect.poll(() => p2pLinks(p), { timeout: 20_000, message: 'the P2P link made way for the SFU' }).toBe(0);
  }
  // Firefox keeps only the SFU's two transports (its old P2P connection is closed, not left frozen).
  await expect.poll(async () => (await snapshot(fox)).peerConnections, { timeout: 20_000 }).toBe(2);

  for (const [p, others] of [
    [chris, ['Fiona', 'Cara']],
    [fox, ['Chris', 'Cara']],
    [cara, ['Chris', 'Fiona']],
  ] as const) {
    await expect
      .poll(async () => (await snapshot(p)).inVideoCodecs.filter((c) => c === 'video/VP8').length, { timeout: 30_000, message: 'VP8 video from both others' })
      .toBe(2);
    const s = await expectMediaFlowing(p, { video: true });
    expect(s.outVideoCodec).toBe('video/VP8');
    expect(s.inAudioCodec).toMatch(/^audio\/(opus|red)$/);
    await expectDecrypts(p, [...others]);
  }
  // Firefox sends simulcast (two layers at 640x480), which the SFU forwards by layer.
  const sfuRoom = server.sfu!.sfuRooms.find((r) => r.roomId === room)!;
  expect(sfuRoom.codecs).toEqual({ audio: 'audio/opus', video: 'video/VP8' });
  const foxId = await fox.evaluate(() => window.callwire!.selfId());
  const foxCamera = sfuRoom.peers.get(foxId!)!.producers.get('camera')!;
  expect(foxCamera.type).toBe('simulcast');
  expect(foxCamera.rtpParameters.encodings!.length).toBe(2);
  // The active speaker is highlighted on the Firefox page too.
  await expect.poll(() => fox.evaluate(() => document.querySelectorAll('.speaking').length), { timeout: 20_000 }).toBe(1);

  // Firefox leaves: the two Chromiums go back to H.264.
  await fox.clickButton('Hang up');
  await expect.poll(() => sfuRoom.codecs).toEqual({ audio: 'audio/red', video: 'video/H264' });
  const sentCodec = async (p: Page) => {
    const id = await p.evaluate(() => window.callwire!.selfId());
    return sfuRoom.peers.get(id!)?.producers.get('camera')?.rtpParameters.codecs[0]?.mimeType ?? null;
  };
  for (const p of [chris, cara]) {
    await expect.poll(() => sentCodec(p), { timeout: 20_000, message: 'the camera is sent in H.264 again' }).toBe('video/H264');
    await expect.poll(async () => (await snapshot(p)).inVideoCodecs.includes('video/H264'), { timeout: 20_000, message: 'H.264 from the other' }).toBe(true);
  }
  await expectMediaFlowing(chris, { video: true });
});

test('the connection test page gives Firefox a correct verdict: calls work, with VP8 (no H.264) and the self-signed TURN/TLS as warnings', async () => {
  const stack = await ConnectivityStack.start({ sfuRtcPort: 44_620, env: { SFU_LISTEN_IP: NETNS_ADDR! } });
  const fox = await FirefoxPerson.open(firefox, stack.url);
  firefoxPeople.push(fox);
  try {
    await fox.goto('/connectivity');
    await fox.clickButton('Start');
    const verdict = () => fox.evaluate(() => document.querySelector('[data-testid=connectivity-summary]')?.getAttribute('data-verdict') ?? '');
    await expect.poll(verdict, { timeout: 90_000, message: 'a verdict' }).not.toBe('');
    const rows = await fox.evaluate(() =>
      Object.fromEntries(
        [...document.querySelectorAll('[data-testid^=check-]')].map((r) => [
          r.getAttribute('data-testid')!.slice(6),
          [r.getAttribute('data-status'), r.textContent ?? ''],
        ]),
      ),
    );
    const failed = Object.entries(rows).filter(([, [status]]) => status === 'fail');
    expect(failed, 'no check fails in Firefox').toEqual([]);
    expect(await verdict()).toBe('works');
    // This Firefox has no H.264: it says so, and the media test ran on VP8, encrypted.
    expect(rows['browser.webrtc']).toEqual(['warn', expect.stringContaining('no H.264 video: video will use VP8')]);
    expect(rows['sfu.media']![0]).toBe('pass');
    expect(rows['sfu.media']![1]).toMatch(/end-to-end encrypted \(\d+ frames decrypted\)/);
    expect(rows['turn.udp']![0]).toBe('pass');
    expect(rows['turn.tcp']![0]).toBe('pass');
    // Like Chromium, Firefox refuses the relay's self-signed certificate; UDP and TCP relays work, so a warning.
    expect(rows['turn.tls']![0]).toBe('warn');
    expect(await fox.text('connectivity-summary')).toMatch(/^Calls will work \(\d warnings? below\)\.$/);
  } finally {
    await stack.close();
  }
});
