/**
 * Helpers that act like a person (own browser context, fake camera and mic) and read real
 * media statistics from every RTCPeerConnection the page created.
 */
import { expect, type Browser, type BrowserContext, type Frame, type Page } from '@playwright/test';

/** Records every RTCPeerConnection so tests can read getStats() without app hooks. */
export const TRACK_PEER_CONNECTIONS = () => {
  const Native = window.RTCPeerConnection;
  const all: RTCPeerConnection[] = [];
  (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs = all;
  window.RTCPeerConnection = class extends Native {
    constructor(config?: RTCConfiguration) {
      super(config);
      all.push(this);
    }
  } as typeof RTCPeerConnection;
};

/** Contexts made by person(): Playwright does not close manually made ones, so tests must. */
const openContexts = new Set<BrowserContext>();

/**
 * Closes every person's browser context. Each spec runs it after each test (`test.afterEach(
 * closePeople)`), so a finished test's calls and fake cameras stop loading the machine.
 */
export async function closePeople(): Promise<void> {
  await Promise.all([...openContexts].map((c) => c.close().catch(() => {})));
  openContexts.clear();
}

export async function person(browser: Browser): Promise<Page> {
  const context = await browser.newContext();
  openContexts.add(context);
  await context.addInitScript(TRACK_PEER_CONNECTIONS);
  return context.newPage();
}

export interface MediaSnapshot {
  peerConnections: number;
  connected: number;
  outAudioCodec: string | null;
  outVideoCodec: string | null;
  outVideoFmtp: string | null;
  outVideoBytes: number;
  outAudioBytes: number;
  inAudioPackets: number;
  inAudioCodec: string | null;
  inVideoCodec: string | null;
  framesDecoded: number;
  candidateType: string | null;
  protocol: string | null;
  /** Distinct inbound streams that delivered: audio with packets, video with decoded frames. */
  inAudioStreams: number;
  inVideoStreams: number;
  inVideoCodecs: string[];
  /**
   * Per received stream (keyed by its track): audio packets and decoded video frames. The totals
   * above drop when a connection closes (a P2P link after the move to the SFU); these do not.
   */
  inAudioPacketsByStream: Record<string, number>;
  framesDecodedByStream: Record<string, number>;
}

/**
 * Anything media can be read in: a Chromium page, a frame (the embed widget's call runs in an
 * iframe), or a Firefox person (firefox.ts), whose `evaluate` and `waitForTimeout` behave alike.
 */
export type Inspectable = Page | Frame | { evaluate<R>(fn: () => R | Promise<R>): Promise<R>; waitForTimeout(ms: number): Promise<void> };

/** What every RTCPeerConnection of the page reports (getStats), summed up. */
export function snapshot(page: Inspectable): Promise<MediaSnapshot> {
  return (page as Page).evaluate(async () => {
    const pcs = ((window as unknown as { __pcs?: RTCPeerConnection[] }).__pcs ?? []).filter((pc) => pc.connectionState !== 'closed');
    const s: MediaSnapshot = {
      peerConnections: pcs.length,
      connected: pcs.filter((pc) => pc.connectionState === 'connected').length,
      outAudioCodec: null,
      outVideoCodec: null,
      outVideoFmtp: null,
      outVideoBytes: 0,
      outAudioBytes: 0,
      inAudioPackets: 0,
      inAudioCodec: null,
      inVideoCodec: null,
      framesDecoded: 0,
      candidateType: null,
      protocol: null,
      inAudioStreams: 0,
      inVideoStreams: 0,
      inVideoCodecs: [],
      inAudioPacketsByStream: {},
      framesDecodedByStream: {},
    };
    for (const pc of pcs) {
      const report = await pc.getStats();
      const byId = new Map<string, Record<string, unknown>>();
      report.forEach((r: Record<string, unknown>) => byId.set(r['id'] as string, r));
      for (const r of byId.values()) {
        const codec = byId.get(r['codecId'] as string);
        if (r['type'] === 'outbound-rtp' && r['kind'] === 'audio') {
          s.outAudioBytes += Number(r['bytesSent'] ?? 0);
          s.outAudioCodec = (codec?.['mimeType'] as string) ?? s.outAudioCodec;
        }
        if (r['type'] === 'outbound-rtp' && r['kind'] === 'video') {
          s.outVideoBytes += Number(r['bytesSent'] ?? 0);
          if (codec) {
            s.outVideoCodec = codec['mimeType'] as string;
            s.outVideoFmtp = (codec['sdpFmtpLine'] as string) ?? null;
          }
        }
        if (r['type'] === 'inbound-rtp' && r['kind'] === 'audio') {
          if (Number(r['packetsReceived'] ?? 0) > 0) s.inAudioStreams++;
          s.inAudioPackets += Number(r['packetsReceived'] ?? 0);
          s.inAudioPacketsByStream[String(r['trackIdentifier'] ?? r['id'])] = Number(r['packetsReceived'] ?? 0);
          s.inAudioCodec = (codec?.['mimeType'] as string) ?? s.inAudioCodec;
        }
        if (r['type'] === 'inbound-rtp' && r['kind'] === 'video') {
          if (Number(r['framesDecoded'] ?? 0) > 0) {
            s.inVideoStreams++;
            if (codec) s.inVideoCodecs.push(codec['mimeType'] as string);
          }
          s.framesDecoded += Number(r['framesDecoded'] ?? 0);
          s.framesDecodedByStream[String(r['trackIdentifier'] ?? r['id'])] = Number(r['framesDecoded'] ?? 0);
          s.inVideoCodec = (codec?.['mimeType'] as string) ?? s.inVideoCodec;
        }
        if (r['type'] === 'transport' && r['selectedCandidatePairId']) {
          const pair = byId.get(r['selectedCandidatePairId'] as string);
          const local = byId.get(pair?.['localCandidateId'] as string);
          s.candidateType = (local?.['candidateType'] as string) ?? null;
          s.protocol = (local?.['relayProtocol'] as string) ?? (local?.['protocol'] as string) ?? null;
        }
      }
    }
    return s;
  });
}

/** The ICE username fragment of the page's newest live connection (it changes with every ICE restart). */
export function localIceUfrag(page: Inspectable): Promise<string | null> {
  return (page as Page).evaluate(() => {
    const pcs = ((window as unknown as { __pcs?: RTCPeerConnection[] }).__pcs ?? []).filter((pc) => pc.connectionState !== 'closed');
    return pcs.at(-1)?.localDescription?.sdp.match(/a=ice-ufrag:(\S+)/)?.[1] ?? null;
  });
}

/** What a page shows of the (first) remote person's tile: the muted badge, and the avatar instead of video. */
export function remoteTile(page: Inspectable): Promise<{ muted: boolean; noVideo: boolean }> {
  return (page as Page).evaluate(() => ({
    muted: !(document.querySelector('[data-testid=remote-muted]') as HTMLElement | null)?.hidden,
    noVideo: document.querySelector('[data-testid=remote-tile]')?.classList.contains('no-video') ?? false,
  }));
}

/** How much the streams of `later` grew since `earlier` (a stream gone meanwhile counts nothing). */
function growth(earlier: Record<string, number>, later: Record<string, number>): number {
  return Object.entries(later).reduce((n, [stream, v]) => n + Math.max(0, v - (earlier[stream] ?? 0)), 0);
}

/**
 * Waits until media arrives, then checks that it keeps arriving: some received stream's counters
 * rise between two samples (per stream, so a connection closing in between does not mask it).
 */
export async function expectMediaFlowing(page: Inspectable, opts: { video: boolean }): Promise<MediaSnapshot> {
  await expect.poll(async () => (await snapshot(page)).inAudioPackets, { timeout: 20_000, message: 'audio packets arrive' }).toBeGreaterThan(0);
  if (opts.video) {
    await expect.poll(async () => (await snapshot(page)).framesDecoded, { timeout: 20_000, message: 'video frames decode' }).toBeGreaterThan(0);
  }
  const first = await snapshot(page);
  await (page as Page).waitForTimeout(1_500);
  const second = await snapshot(page);
  expect(growth(first.inAudioPacketsByStream, second.inAudioPacketsByStream), 'audio packets keep arriving').toBeGreaterThan(0);
  if (opts.video) expect(growth(first.framesDecodedByStream, second.framesDecodedByStream), 'video frames keep decoding').toBeGreaterThan(0);
  return second;
}

/**
 * Time (ms since `since`) until `page` decodes video on `count` streams it did not have in
 * `before` — new receivers, e.g. fresh SFU consumers after a media server restart. Polled every
 * 100 ms, at most `timeoutMs`.
 */
export async function untilNewVideoStreams(page: Page, before: MediaSnapshot, count: number, since: number, timeoutMs = 30_000): Promise<number> {
  const old = new Set(Object.keys(before.framesDecodedByStream));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const fresh = Object.entries((await snapshot(page)).framesDecodedByStream).filter(([stream, frames]) => !old.has(stream) && frames > 0);
    if (fresh.length >= count) return Date.now() - since;
    await page.waitForTimeout(100);
  }
  throw new Error(`no video on ${count} new stream(s) within ${timeoutMs} ms`);
}

/**
 * People joining one call link at 320x240, each in their own browser context; resolves once every
 * page says "Connected".
 */
export async function joinCall(browser: Browser, room: string, names: string[]): Promise<Page[]> {
  const pages: Page[] = [];
  for (const name of names) {
    const page = await person(browser);
    await page.goto(`/call/${room}?name=${name}&res=320x240`);
    pages.push(page);
  }
  for (const page of pages) await expect(page.getByTestId('call-status')).toHaveText('Connected', { timeout: 30_000 });
  return pages;
}

/** Onboards a guest on the home page (of `origin`, default the test server) and returns their handle. */
export async function signUp(page: Page, name: string, origin = ''): Promise<string> {
  await page.goto(`${origin}/`);
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Continue' }).click();
  const handle = page.getByTestId('my-handle');
  await expect(handle).toBeVisible();
  return (await handle.textContent())!.trim();
}

export async function dial(page: Page, handle: string, kind: 'Video call' | 'Voice call'): Promise<void> {
  await page.getByLabel('Handle to call').fill(handle);
  await page.getByRole('button', { name: kind, exact: true }).click();
}

/**
 * Records when each remote video presents a frame (by the sender's name), to measure freezes.
 * Plain JS in a string (the page has no test helpers); install it with `addInitScript` before
 * the page loads, or `evaluate` it later (it also clocks the videos already on the page).
 */
export const FRAME_CLOCK = `
  window.__frameTimes = {};
  const scan = () => {
    for (const v of document.querySelectorAll('[data-testid=remote-video]')) {
      if (v.__clocked) continue;
      v.__clocked = true;
      const name = () => v.closest('[data-testid=remote-tile]')?.querySelector('.name')?.textContent ?? '?';
      const tick = () => {
        (window.__frameTimes[name()] ??= []).push(performance.now());
        v.requestVideoFrameCallback(tick);
      };
      v.requestVideoFrameCallback(tick);
    }
  };
  scan();
  new MutationObserver(scan).observe(document, { subtree: true, childList: true });
`;

/** Longest gap between presented frames of `who`'s video in the page-clock window [from, to] (ms). */
export function maxGap(page: Page, who: string, from: number, to = Number.POSITIVE_INFINITY): Promise<{ gap: number; frames: number }> {
  return page.evaluate(
    ([who, from, to]) => {
      const t = ((window as unknown as { __frameTimes: Record<string, number[]> }).__frameTimes[who] ?? []).filter((x) => x >= from && x <= to);
      let gap = 0;
      for (let i = 1; i < t.length; i++) gap = Math.max(gap, t[i]! - t[i - 1]!);
      return { gap: Math.round(gap), frames: t.length };
    },
    [who, from, to] as const,
  );
}
