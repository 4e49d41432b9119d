/**
 * Mixed browsers: join → first frame and the codecs each mix negotiates, Chromium ↔ Chromium
 * against Chromium ↔ Firefox (and a 2 Chromium + 1 Firefox SFU room), in Debian's Chromium
 * (Playwright) and Firefox ESR (puppeteer-core, WebDriver BiDi), end-to-end encrypted.
 *
 *   sh scripts/netns.sh npx tsx bench/browser-mix.ts [--runs 5]
 *
 * Each run is a fresh call link: the first person is in the call, waiting; the second opens the
 * link. "Join → first frame" runs from the joiner's navigation start to the first remote video
 * frame presented (requestVideoFrameCallback), on the joiner's page and on the waiting person's.
 * Both browsers share this machine's clock (epoch ms from performance.timeOrigin).
 */
import { chromium, type BrowserContext } from '@playwright/test';
import type { Browser as FirefoxBrowser, BrowserContext as FirefoxContext, Page as FirefoxPage } from 'puppeteer-core';
import { startSfuServer } from '../server/src/testing/harness.ts';
import { CHROMIUM_ARGS } from '../playwright.config.ts';
import { launchFirefox } from '../test/e2e/firefox.ts';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 5;
if (!Number.isInteger(RUNS) || RUNS < 1 || RUNS > 50) throw new Error('--runs must be an integer 1..50');
const NETNS_ADDR = process.env['CALLWIRE_NETNS_ADDR'];
if (!NETNS_ADDR) throw new Error('run this inside scripts/netns.sh: Firefox needs its routed test address (CALLWIRE_NETNS_ADDR)');

/**
 * Plain JS (a string: tsx's transform would add helpers the page does not have): records every
 * RTCPeerConnection, and the epoch time of the first presented frame of each remote video.
 */
const INSTRUMENT = `
  window.__pcs = [];
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native { constructor(c) { super(c); window.__pcs.push(this); } };
  window.__firstFrame = null;
  const now = () => performance.timeOrigin + performance.now();
  const scan = () => {
    for (const v of document.querySelectorAll('[data-testid=remote-video]')) {
      if (v.__seen) continue;
      v.__seen = true;
      v.requestVideoFrameCallback(() => { window.__firstFrame ??= now(); });
    }
  };
  document.addEventListener('DOMContentLoaded', () => new MutationObserver(scan).observe(document.body, { subtree: true, childList: true }));
`;
/** What one page reports: first frame (epoch ms), navigation start, and the codecs in use. */
const READ = `(async () => {
  const codecs = { out: [], in: [] };
  for (const pc of window.__pcs.filter((p) => p.connectionState === 'connected')) {
    const stats = [...(await pc.getStats()).values()];
    const byId = new Map(stats.map((s) => [s.id, s]));
    for (const s of stats) {
      const c = byId.get(s.codecId)?.mimeType;
      if (!c) continue;
      if (s.type === 'outbound-rtp' && s.bytesSent > 0) codecs.out.push(c);
      if (s.type === 'inbound-rtp' && (s.kind === 'audio' ? s.packetsReceived > 0 : s.framesDecoded > 0)) codecs.in.push(c);
    }
  }
  return { firstFrame: window.__firstFrame, navStart: performance.timeOrigin, codecs: { out: [...new Set(codecs.out)].sort(), in: [...new Set(codecs.in)].sort() } };
})()`;

interface Reading {
  firstFrame: number | null;
  navStart: number;
  codecs: { out: string[]; in: string[] };
}

/** One person's page, in either browser. */
interface Tab {
  goto(url: string): Promise<void>;
  read(): Promise<Reading>;
  close(): Promise<void>;
}

async function chromiumTab(ctxOf: () => Promise<BrowserContext>): Promise<Tab> {
  const ctx = await ctxOf();
  await ctx.addInitScript({ content: INSTRUMENT });
  const page = await ctx.newPage();
  return {
    goto: async (url) => void (await page.goto(url)),
    read: () => page.evaluate(READ) as Promise<Reading>,
    close: () => ctx.close(),
  };
}

async function firefoxTab(browser: FirefoxBrowser): Promise<Tab> {
  const ctx: FirefoxContext = await browser.createBrowserContext();
  const page: FirefoxPage = await ctx.newPage();
  await page.evaluateOnNewDocument(INSTRUMENT);
  return {
    goto: async (url) => {
      await page.bringToFront();
      await page.goto(url);
    },
    read: () => page.evaluate(READ) as Promise<Reading>,
    close: () => ctx.close(),
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
};

async function main(): Promise<void> {
  const server = await startSfuServer(44_700, { LOG_LEVEL: 'warn', E2EE: 'required', SFU_LISTEN_IP: NETNS_ADDR! });
  const chrome = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const firefox = await launchFirefox();
  const open = (b: 'C' | 'F') => (b === 'C' ? chromiumTab(() => chrome.newContext()) : firefoxTab(firefox));

  // Mixes: who waits in the call, then who joins (C = Chromium, F = Firefox).
  const mixes: string[][] = [
    ['C', 'C'],
    ['C', 'F'],
    ['F', 'C'],
    ['F', 'F'],
    ['C', 'C', 'C'],
    ['C', 'C', 'F'],
  ];
  const rows: string[] = [];
  for (const mix of mixes) {
    const joinerMs: number[] = [];
    const waiterMs: number[] = [];
    const codecs = new Map<string, string>();
    for (let run = 0; run < RUNS; run++) {
      const room = `mix-${mix.join('')}-${run}-${Date.now()}`;
      const tabs: Tab[] = [];
      try {
        // Everyone but the last joins and settles first.
        for (const [i, b] of mix.slice(0, -1).entries()) {
          const t = await open(b as 'C' | 'F');
          tabs.push(t);
          await t.goto(`${server.url}/call/${room}?name=${b}${i}&res=320x240`);
        }
        await waitFor(async () => mix.length === 2 || (await tabs[0]!.read()).firstFrame !== null, 30_000);
        await new Promise((r) => setTimeout(r, 1_000));
        const joiner = await open(mix.at(-1) as 'C' | 'F');
        tabs.push(joiner);
        for (const t of tabs.slice(0, -1)) await t.read(); // warm
        const before = await Promise.all(tabs.slice(0, -1).map((t) => t.read()));
        await joiner.goto(`${server.url}/call/${room}?name=${mix.at(-1)}J&res=320x240`);
        const deadline = Date.now() + 30_000;
        let readings: Reading[] = [];
        while (Date.now() < deadline) {
          readings = await Promise.all(tabs.map((t) => t.read()));
          const joinerDone = readings.at(-1)!.firstFrame !== null;
          // For the waiting person: the first frame of the joiner (a 1:1 call has no frame before).
          const waiterDone = mix.length > 2 || readings[0]!.firstFrame !== null;
          if (joinerDone && waiterDone) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        const nav = readings.at(-1)!.navStart;
        if (readings.at(-1)!.firstFrame === null) throw new Error('the joiner saw no frame within 30 s');
        joinerMs.push(readings.at(-1)!.firstFrame! - nav);
        if (mix.length === 2 && before[0]!.firstFrame === null) waiterMs.push(readings[0]!.firstFrame! - nav);
        await new Promise((r) => setTimeout(r, 2_500));
        const settled = await Promise.all(tabs.map((t) => t.read()));
        settled.forEach((r, i) =>
          codecs.set(`${mix[i]}${i === mix.length - 1 ? 'J' : i}`, `sends ${r.codecs.out.join('+')}; receives ${r.codecs.in.join('+')}`),
        );
        // What the SFU forwards (getStats names a RED stream's codec audio/opus in Chromium).
        const sfuRoom = server.sfu?.sfuRooms.find((r) => r.roomId === room);
        if (sfuRoom) {
          const sent = [...sfuRoom.peers.values()].flatMap((p) => [...p.producers.values()].map((x) => x.rtpParameters.codecs[0]!.mimeType));
          codecs.set('SFU forwards', [...new Set(sent)].sort().join('+'));
        }
      } finally {
        await Promise.all(tabs.map((t) => t.close().catch(() => {})));
      }
    }
    const label = mix.length === 2 ? `${name(mix[0]!)} ↔ ${name(mix[1]!)} (P2P)` : `${mix.map(name).join(' + ')} (SFU, last joins)`;
    const row = `| ${label} | ${median(joinerMs).toFixed(0)} (${Math.min(...joinerMs).toFixed(0)}–${Math.max(...joinerMs).toFixed(0)}) | ${
      waiterMs.length ? `${median(waiterMs).toFixed(0)} (${Math.min(...waiterMs).toFixed(0)}–${Math.max(...waiterMs).toFixed(0)})` : '–'
    } | ${[...codecs].map(([who, c]) => `${who}: ${c}`).join('<br>')} |`;
    console.log(row);
    rows.push(row);
  }
  console.log(
    `\n${RUNS} runs per mix, ms, median (min–max)\n| mix | joiner: open link → first frame | waiting person: joiner opens link → first frame | codecs in use |\n|---|---|---|---|`,
  );
  for (const r of rows) console.log(r);
  await firefox.close();
  await chrome.close();
  await server.close();
}

const name = (b: string) => (b === 'C' ? 'Chromium' : 'Firefox');

async function waitFor(cond: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready within ${ms} ms`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
