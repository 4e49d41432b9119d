/**
 * The embed widget (docs/embedding.md): a host page on one origin embeds a call served by the
 * callwire origin, drives it with commands and hears its events; a host origin that is not in
 * EMBED_ALLOWED_ORIGINS and bad options get typed errors. The host page is docs/embed-demo.html,
 * served by a tiny HTTP server on other ports (a different port is a different origin).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import { expect, test, type Frame, type Page } from '@playwright/test';
import { E2E_PORT, EMBED_HOST_ORIGIN } from '../../playwright.config.ts';
import { expectMediaFlowing, person, snapshot, closePeople } from './media.ts';

test.afterEach(closePeople);

const CALLWIRE = `http://127.0.0.1:${E2E_PORT}`;
/** Not in the server's EMBED_ALLOWED_ORIGINS. */
const OTHER_ORIGIN = `http://127.0.0.1:${E2E_PORT + 2}`;
/** The demo as published points at a local callwire; point it at the test server. */
const DEMO = readFileSync('docs/embed-demo.html', 'utf8').replaceAll('http://localhost:3000', CALLWIRE);
const LIFECYCLE = new Set(['ready', 'joined', 'left', 'participant-joined', 'participant-left', 'mute-changed', 'error']);

interface Recorded {
  name: string;
  data: Record<string, unknown>;
  t: number;
}

const servers: Server[] = [];
test.beforeAll(async () => {
  for (const origin of [EMBED_HOST_ORIGIN, OTHER_ORIGIN]) {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(DEMO);
    });
    await new Promise<void>((resolve) => server.listen(Number(new URL(origin).port), '127.0.0.1', resolve));
    servers.push(server);
  }
});
test.afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const events = (page: Page) => page.evaluate(() => (window as unknown as { callwireEvents: Recorded[] }).callwireEvents);
const lifecycle = async (page: Page) => (await events(page)).filter((e) => LIFECYCLE.has(e.name)).map((e) => e.name);
const lastOf = async (page: Page, name: string) => (await events(page)).filter((e) => e.name === name).at(-1)?.data;
/** Runs a handle method in the host page; resolves with null or the rejection's error code. */
const command = (page: Page, method: string, ...args: unknown[]) =>
  page.evaluate(
    ([m, a]) => {
      const handle = (window as unknown as { callwireHandle: Record<string, (...x: unknown[]) => Promise<void>> }).callwireHandle;
      return handle[m as string]!(...(a as unknown[])).then(
        () => null,
        (e: { code: string }) => e.code,
      );
    },
    [method, args] as const,
  );

async function callFrame(page: Page): Promise<Frame> {
  const find = () => page.frames().find((f) => f.url().startsWith(`${CALLWIRE}/embed/call/`));
  await expect.poll(() => find() !== undefined, { message: 'the call iframe loads' }).toBe(true);
  return find()!;
}

test('a host page on another origin embeds a call: media flows, commands act, events arrive in order', async ({ browser }) => {
  const room = `embed-${Date.now()}`;
  const host = await person(browser);
  await host.goto(`${EMBED_HOST_ORIGIN}/?room=${room}&name=Ada`);

  const iframe = host.locator('iframe');
  await expect(iframe).toHaveAttribute('allow', 'camera; microphone; display-capture; autoplay; fullscreen');
  await expect(iframe).toHaveAttribute('src', `${CALLWIRE}/embed/call/${room}?parent=${encodeURIComponent(EMBED_HOST_ORIGIN)}`);
  await expect.poll(() => lifecycle(host), { message: 'ready, then joined' }).toEqual(['ready', 'joined']);
  const joined = (await events(host)).find((e) => e.name === 'joined')!;
  expect(joined.data).toMatchObject({ room, self: { name: 'Ada', audioMuted: false, videoMuted: false }, participants: [], encrypted: true });
  const selfId = (joined.data['self'] as { id: string }).id;
  console.log(`embed: mount() → joined ${joined.t} ms`);

  // Someone joins the same room directly.
  const bob = await person(browser);
  await bob.goto(`/call/${room}?name=Bob`);
  await expect(bob.getByTestId('call-status')).toHaveText('Connected');
  const frame = await callFrame(host);
  await expect(frame.getByTestId('call-status')).toHaveText('Connected');
  await expect.poll(() => lifecycle(host)).toEqual(['ready', 'joined', 'participant-joined']);
  const bobInfo = (await lastOf(host, 'participant-joined')) as { id: string; name: string };
  expect(bobInfo).toMatchObject({ name: 'Bob', audioMuted: false, videoMuted: false });

  // Media flows both ways; the call inside the frame is out of reach of the host page's CSS.
  const inFrame = await expectMediaFlowing(frame, { video: true });
  expect(inFrame.outVideoCodec).toBe('video/H264');
  await expectMediaFlowing(bob, { video: true });
  expect(await frame.locator('video.self-view').evaluate((v) => getComputedStyle(v).filter)).toBe('none');
  // Bob's fake microphone beeps: the audio levels make him the active speaker.
  await expect.poll(() => lastOf(host, 'active-speaker'), { timeout: 20_000, message: 'active-speaker event' }).toEqual({ id: bobInfo.id, name: 'Bob' });

  // Commands change the call, as the other person sees it.
  expect(await command(host, 'setAudioMuted', true)).toBeNull();
  await expect(bob.getByTestId('remote-muted')).toBeVisible();
  await expect(frame.getByRole('button', { name: 'Unmute' })).toHaveAttribute('aria-pressed', 'true');
  expect(await lifecycle(host)).toEqual(['ready', 'joined', 'participant-joined', 'mute-changed']);
  expect(await lastOf(host, 'mute-changed')).toMatchObject({ id: selfId, local: true, audioMuted: true, videoMuted: false });
  expect(await command(host, 'setAudioMuted', false)).toBeNull();
  await expect(bob.getByTestId('remote-muted')).toBeHidden();

  expect(await command(host, 'setVideoMuted', true)).toBeNull();
  await expect(bob.getByTestId('remote-tile')).toHaveClass(/no-video/);
  expect(await lastOf(host, 'mute-changed')).toMatchObject({ local: true, audioMuted: false, videoMuted: true });
  expect(await command(host, 'switchToVideo')).toBeNull();
  await expect(bob.getByTestId('remote-tile')).not.toHaveClass(/no-video/);

  expect(await command(host, 'setDisplayName', 'Ada Lovelace')).toBeNull();
  await expect(bob.getByTestId('remote-tile')).toContainText('Ada Lovelace');

  // The remote side's changes are events too.
  await bob.getByRole('button', { name: 'Mute', exact: true }).click();
  await expect.poll(() => lastOf(host, 'mute-changed')).toMatchObject({ id: bobInfo.id, local: false, audioMuted: true });
  await bob.getByRole('button', { name: 'Unmute' }).click();
  await expect.poll(() => lastOf(host, 'mute-changed')).toMatchObject({ id: bobInfo.id, local: false, audioMuted: false });

  // A bad argument is a typed rejection and an error event, and changes nothing.
  expect(await command(host, 'setAudioMuted', 'yes')).toBe('invalid-argument');
  await expect.poll(() => lastOf(host, 'error')).toMatchObject({ code: 'invalid-argument', fatal: false });

  // Link quality comes from the model's stats sampling (loopback: no loss, ~1 ms round trip).
  await expect.poll(() => lastOf(host, 'network-quality'), { message: 'network-quality event' }).toMatchObject({ id: bobInfo.id, score: 5, level: 'good' });

  // Leave and join again from the host page.
  expect(await command(host, 'leave')).toBeNull();
  await expect.poll(() => lastOf(host, 'left')).toEqual({ reason: 'command' });
  await expect(bob.getByTestId('call-status')).toHaveText('Waiting for others — share the link');
  expect(await command(host, 'join')).toBeNull();
  await expect(bob.getByTestId('call-status')).toHaveText('Connected');
  await expect.poll(async () => (await lifecycle(host)).slice(-2)).toEqual(['joined', 'participant-joined']);

  // destroy() leaves properly (no ghost until the reconnect grace of 5 s ends) and removes the frame.
  await host.evaluate(() => (window as unknown as { callwireHandle: { destroy(): Promise<void> } }).callwireHandle.destroy());
  await expect(iframe).toHaveCount(0);
  await expect(bob.getByTestId('call-status')).toHaveText('Waiting for others — share the link', { timeout: 4_000 });
  expect(await command(host, 'join')).toBe('destroyed');
  expect((await snapshot(bob)).peerConnections).toBe(0);
});

test('the embedded host locks the call, admits from the lobby, asks to mute and removes, by commands and events', async ({ browser }) => {
  const room = `embed-host-${Date.now()}`;
  // Ada opens the room first, in the widget: she is its host.
  const ada = await person(browser);
  await ada.goto(`${EMBED_HOST_ORIGIN}/?room=${room}&name=Ada&video=0`);
  await expect.poll(() => lastOf(ada, 'joined')).toMatchObject({ self: { name: 'Ada', host: true } });
  expect(await command(ada, 'setLocked', true)).toBeNull();
  await expect.poll(() => lastOf(ada, 'locked')).toEqual({ locked: true });

  // Bob opens the link: he waits in the lobby; Ada's page hears who waits and lets him in.
  const bob = await person(browser);
  await bob.goto(`/call/${room}?name=Bob&video=0`);
  await expect(bob.getByTestId('call-status')).toHaveText(/waiting for the host/);
  await expect.poll(() => lastOf(ada, 'lobby')).toMatchObject({ waiting: [{ name: 'Bob', handle: expect.stringMatching(/^bob-/) }] });
  const waiting = (await lastOf(ada, 'lobby')) as { waiting: { id: string }[] };
  expect(await command(ada, 'admit', 'not an id!', true)).toBe('invalid-argument');
  expect(await command(ada, 'admit', waiting.waiting[0]!.id, true)).toBeNull();
  await expect(bob.getByTestId('call-status')).toHaveText('Connected');
  await expect.poll(() => lastOf(ada, 'lobby')).toEqual({ waiting: [] });
  await expect.poll(() => lastOf(ada, 'participant-joined')).toMatchObject({ name: 'Bob', host: false });

  // Cy, in another widget, is no host: host commands are typed refusals.
  expect(await command(ada, 'setLocked', false)).toBeNull();
  const cy = await person(browser);
  await cy.goto(`${EMBED_HOST_ORIGIN}/?room=${room}&name=Cy&video=0`);
  await expect.poll(() => lastOf(cy, 'joined'), { timeout: 20_000 }).toMatchObject({ self: { name: 'Cy', host: false } });
  expect(await command(cy, 'setLocked', true)).toBe('not-host');
  const cyId = ((await lastOf(cy, 'joined')) as { self: { id: string } }).self.id;

  // Ada asks Cy to mute: Cy's page hears it and decides.
  expect(await command(ada, 'requestMute', cyId)).toBeNull();
  await expect.poll(() => lastOf(cy, 'mute-requested')).toMatchObject({ from: { name: 'Ada' } });
  expect(await command(cy, 'setAudioMuted', true)).toBeNull();
  await expect.poll(() => lastOf(ada, 'mute-changed')).toMatchObject({ id: cyId, local: false, audioMuted: true });

  // Ada removes Cy: Cy's page hears `left` with reason `removed`.
  expect(await command(ada, 'removeParticipant', cyId)).toBeNull();
  await expect.poll(() => lastOf(cy, 'left')).toEqual({ reason: 'removed' });
  await expect.poll(() => lastOf(ada, 'participant-left')).toMatchObject({ id: cyId, name: 'Cy' });
  await expect((await callFrame(cy)).getByTestId('embed-message')).toContainText('You were removed from the call');
});

test('a host origin that is not allowed gets origin-not-allowed; the frame page refuses it too', async ({ browser, request }) => {
  const host = await person(browser);
  await host.goto(`${OTHER_ORIGIN}/?room=refused-room&name=Eve`);
  await expect.poll(() => lastOf(host, 'error')).toMatchObject({ code: 'origin-not-allowed', fatal: true });
  expect(await lifecycle(host)).toEqual(['error']);
  await expect(host.locator('iframe')).toHaveCount(0);
  expect(await host.evaluate(() => (window as unknown as { callwireHandle: { state: string } }).callwireHandle.state)).toBe('failed');

  // Without the pre-check answer, the browser itself blocks the frame (frame-ancestors) and the
  // handle reports that the frame never answered.
  await host.route('**/api/embed/check**', (r) => r.abort());
  const code = await host.evaluate(
    () =>
      new Promise<string>((resolve) => {
        const el = document.createElement('div');
        document.body.append(el);
        const w = window as unknown as { Callwire: { mount(e: HTMLElement, o: unknown): { on(n: string, f: (d: { code: string }) => void): void } } };
        w.Callwire.mount(el, { room: 'refused-room', loadTimeoutMs: 3_000 }).on('error', (e) => resolve(e.code));
      }),
  );
  expect(code).toBe('frame-timeout');
  expect((await events(host)).some((e) => e.name === 'ready')).toBe(false);

  // What the server answers.
  const refused = await request.get(`${CALLWIRE}/embed/call/refused-room?parent=${encodeURIComponent(OTHER_ORIGIN)}`);
  expect(refused.status()).toBe(403);
  expect(refused.headers()['content-security-policy']).toBe("frame-ancestors 'none'");
  const allowed = await request.get(`${CALLWIRE}/embed/call/some-room?parent=${encodeURIComponent(EMBED_HOST_ORIGIN)}`);
  expect(allowed.status()).toBe(200);
  // The full page policy (docs/security.md), framable only by the allowed origin.
  expect(allowed.headers()['content-security-policy']).toMatch(new RegExp(`(^|; )frame-ancestors ${EMBED_HOST_ORIGIN.replace(/[.]/g, '\\.')}$`));
  expect(allowed.headers()['content-security-policy']).toContain("script-src 'self'");
  expect(await (await request.get(`${CALLWIRE}/api/embed/check?origin=${encodeURIComponent(OTHER_ORIGIN)}`)).json()).toEqual({ allowed: false, enabled: true });
  expect((await request.get(`${CALLWIRE}/call/some-room`)).headers()['content-security-policy']).toMatch(/(^|; )frame-ancestors 'none'$/);
});

test('bad options give a typed invalid-options error event (and a DOM event), never a silent failure', async ({ browser }) => {
  const host = await person(browser);
  await host.goto(`${EMBED_HOST_ORIGIN}/?mount=0`);
  const results = await host.evaluate(async (callwire) => {
    const w = window as unknown as {
      Callwire: {
        mount(e: HTMLElement, o: unknown): { state: string; on(n: string, f: (d: { code: string; message: string; fatal: boolean }) => void): void };
      };
    };
    const attempt = (options: unknown) =>
      new Promise<{ code: string; message: string; fatal: boolean; domCode: string; iframes: number; state: string }>((resolve) => {
        const el = document.createElement('div');
        document.body.append(el);
        let domCode = '';
        el.addEventListener('callwire-error', (e) => (domCode = (e as CustomEvent<{ code: string }>).detail.code));
        const handle = w.Callwire.mount(el, options);
        handle.on('error', (e) => setTimeout(() => resolve({ ...e, domCode, iframes: el.querySelectorAll('iframe').length, state: handle.state })));
      });
    return Promise.all([
      attempt({ room: 42 }),
      attempt({ room: 'no spaces please' }),
      attempt({ room: 'fine-room', rooom: 'typo' }),
      attempt({ room: 'fine-room', controls: ['mute'] }),
      attempt({ room: 'fine-room', audioMuted: 'yes' }),
      attempt({ room: 'https://elsewhere.example/call/abc-room' }),
      attempt({ room: `${callwire}/call/not a room` }),
      attempt(null),
    ]);
  }, CALLWIRE);
  for (const r of results) expect(r).toMatchObject({ code: 'invalid-options', domCode: 'invalid-options', fatal: true, iframes: 0, state: 'failed' });
  expect(results.map((r) => r.message)).toEqual([
    'room must be a string, got 42',
    'room "no spaces please" is not a room name (3–64 of A-Z a-z 0-9 _ -) or a call link',
    'unknown option "rooom"',
    'controls must be a list of distinct names from microphone, camera, devices, stats, hangup',
    'audioMuted must be true or false, got "yes"',
    `call link is for https://elsewhere.example, but this embed talks to ${CALLWIRE}`,
    `"${CALLWIRE}/call/not a room" is not a call link (…/call/<room>)`,
    'options must be an object, got null',
  ]);
});

test('a token the server refuses is a fatal unauthorized error from the frame; the handle fails', async ({ browser }) => {
  const host = await person(browser);
  await host.goto(`${EMBED_HOST_ORIGIN}/?mount=0`);
  const result = await host.evaluate(
    () =>
      new Promise<{ events: string[]; error: unknown; state: string; iframes: number; joinCode: string }>((resolve) => {
        const el = document.createElement('div');
        document.body.append(el);
        type Handle = { state: string; join(): Promise<void>; on(n: string, f: (d: unknown) => void): void };
        const w = window as unknown as { Callwire: { mount(e: HTMLElement, o: unknown): Handle } };
        const handle = w.Callwire.mount(el, { room: 'token-room', token: 'not.a.jwt' });
        const events: string[] = [];
        handle.on('ready', () => events.push('ready'));
        handle.on('joined', () => events.push('joined'));
        handle.on('error', (error) => {
          events.push('error');
          void handle
            .join()
            .catch((e: { code: string }) => resolve({ events, error, state: handle.state, iframes: el.querySelectorAll('iframe').length, joinCode: e.code }));
        });
      }),
  );
  expect(result).toMatchObject({
    events: ['ready', 'error'],
    error: { code: 'unauthorized', fatal: true },
    state: 'failed',
    iframes: 0,
    joinCode: 'destroyed',
  });
});

test('<callwire-call> joins from attributes (a call link, camera off) and reports DOM events', async ({ browser }) => {
  const room = `element-${Date.now()}`;
  const host = await person(browser);
  await host.goto(`${EMBED_HOST_ORIGIN}/?element=1&video=0&name=Grace&room=${encodeURIComponent(`${CALLWIRE}/call/${room}`)}`);
  await expect.poll(() => lifecycle(host)).toEqual(['ready', 'joined']);
  expect(await lastOf(host, 'joined')).toMatchObject({ room, self: { name: 'Grace', videoMuted: true } });
  const frame = await callFrame(host);
  await expect(frame.getByRole('button', { name: 'Camera on' })).toBeVisible();
  expect(await frame.locator('video.self-view').evaluate((v) => (v as HTMLVideoElement).srcObject)).toBeNull();
});

test('embed.js stays small', () => {
  const gz = gzipSync(readFileSync('web/dist/embed.js'), { level: 9 }).length;
  console.log(`embed: embed.js ${gz} bytes gzipped`);
  expect(gz).toBeLessThan(10 * 1024);
});
