/**
 * SFU benchmarks in Debian Chromium on loopback:
 *  1. join → first remote frame: a person on the pre-join screen presses Join in a call of three
 *     (already on the SFU); until the first frame from someone there is presented. Median of N.
 *  2. escalation gap: two people in a P2P call, a third joins; the longest freeze of each
 *     original person's video as seen by the other.
 *  3. server CPU for an 8-person 320x240 video call (8 Chromium pages), 20 s.
 *
 *   sh scripts/netns.sh npx tsx bench/sfu-video.ts [--runs 10] [--escalations 5] [--people 8] [--e2ee required|off]
 */
import { chromium, type Browser, type Page } from '@playwright/test';
import { CallwireServer } from '../server/src/CallwireServer.ts';
import { loadConfig } from '../server/src/config.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { CHROMIUM_ARGS } from '../playwright.config.ts';

const arg = (name: string, def: number, max: number) => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isInteger(v) || v < 1 || v > max) throw new Error(`--${name} must be 1..${max}`);
  return v;
};
const RUNS = arg('runs', 10, 50);
const ESCALATIONS = arg('escalations', 5, 20);
const PEOPLE = arg('people', 8, 8);
/** The server's E2EE policy: `required` (default, frames encrypted) or `off` (no transforms at all). */
const E2EE = process.argv.includes('--e2ee') ? process.argv[process.argv.indexOf('--e2ee') + 1] : 'required';
if (E2EE !== 'required' && E2EE !== 'off') throw new Error('--e2ee must be required or off');

/** Plain JS (tsx would inject helpers the page lacks): frame times per remote tile, and the Join click. */
const CLOCK = `
  window.__frames = {}; window.__join = null;
  const now = () => performance.timeOrigin + performance.now();
  document.addEventListener('click', (e) => { if (e.target.closest('button')?.textContent === 'Join') window.__join = now(); }, true);
  new MutationObserver(() => {
    for (const v of document.querySelectorAll('[data-testid=remote-video]')) {
      if (v.__clocked) continue;
      v.__clocked = true;
      const name = () => v.closest('[data-testid=remote-tile]')?.querySelector('.name')?.textContent ?? '?';
      const tick = () => { (window.__frames[name()] ??= []).push(now()); v.requestVideoFrameCallback(tick); };
      v.requestVideoFrameCallback(tick);
    }
  }).observe(document, { subtree: true, childList: true });
`;

type Marks = { frames: Record<string, number[]>; join: number | null };
const marks = (p: Page) =>
  p.evaluate(() => ({
    frames: (window as never as Marks & { __frames: Marks['frames'] }).__frames,
    join: (window as never as { __join: number | null }).__join,
  }));

async function open(browser: Browser, url: string): Promise<Page> {
  const ctx = await browser.newContext();
  await ctx.addInitScript({ content: CLOCK });
  const page = await ctx.newPage();
  await page.goto(url);
  return page;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(0.95 * xs.length) - 1)]!;
const poll = async <T>(fn: () => Promise<T | null | undefined>, ms: number, what: string): Promise<T> => {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== null && v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out: ${what}`);
};

async function main(): Promise<void> {
  const server = new CallwireServer(
    loadConfig({ DATA_DIR: ':memory:', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', TURN_ENABLED: 'false', SFU_RTC_PORT: '40800', E2EE }),
  );
  await server.start();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const base = server.url;
  const out: string[] = [];

  // 1. join → first remote frame.
  const room = `bench-join-${Date.now()}`;
  const present: Page[] = [];
  for (const name of ['P1', 'P2', 'P3']) present.push(await open(browser, `${base}/call/${room}?name=${name}&res=320x240`));
  await poll(async () => ((await marks(present[0]!)).frames['P3']?.length ?? 0) > 10 || null, 30_000, 'call of three running');
  const joinMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const page = await open(browser, `${base}/call/${room}?res=320x240`);
    await page.getByLabel('Your name').fill(`Joiner${i}`);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Join', exact: true }).click();
    const first = await poll(
      async () => {
        const m = await marks(page);
        const firsts = Object.values(m.frames)
          .map((t) => t[0]!)
          .filter(Boolean);
        return m.join && firsts.length > 0 ? Math.min(...firsts) - m.join : null;
      },
      20_000,
      'first remote frame',
    );
    joinMs.push(first);
    console.error(`join ${i + 1}/${RUNS}: ${first.toFixed(0)} ms`);
    // Hang up like a person: a closed tab would keep its seat for the reconnect grace period.
    await page.getByRole('button', { name: 'Hang up' }).click();
    await page.getByTestId('call-ended').waitFor();
    await page.context().close();
  }
  for (const p of present) await p.context().close();
  out.push(`| SFU join → first remote frame (3 already in the call) | ${RUNS} | ${median(joinMs).toFixed(0)} ms | ${p95(joinMs).toFixed(0)} ms |`);

  // 2. escalation gap.
  const gaps: number[] = [];
  for (let i = 0; i < ESCALATIONS; i++) {
    const r = `bench-esc-${Date.now()}`;
    const a = await open(browser, `${base}/call/${r}?name=A&res=320x240`);
    const b = await open(browser, `${base}/call/${r}?name=B&res=320x240`);
    await poll(async () => ((await marks(a)).frames['B']?.length ?? 0) > 30 || null, 30_000, 'P2P pair running');
    const t0 = Date.now();
    const c = await open(browser, `${base}/call/${r}?name=C&res=320x240`);
    await poll(async () => ((await marks(c)).frames['A']?.length ?? 0) > 20 || null, 30_000, 'third person sees the others');
    // Let the P2P links close, then look at the whole window.
    await new Promise((res) => setTimeout(res, 3_000));
    for (const [page, other] of [
      [a, 'B'],
      [b, 'A'],
    ] as const) {
      const t = ((await marks(page)).frames[other] ?? []).filter((x) => x >= t0 - 1_000);
      let gap = 0;
      for (let k = 1; k < t.length; k++) gap = Math.max(gap, t[k]! - t[k - 1]!);
      gaps.push(gap);
    }
    console.error(
      `escalation ${i + 1}/${ESCALATIONS}: longest freeze ${gaps
        .slice(-2)
        .map((g) => g.toFixed(0))
        .join(' / ')} ms`,
    );
    for (const p of [a, b, c]) {
      await p.getByRole('button', { name: 'Hang up' }).click();
      await p.context().close();
    }
  }
  out.push(`| escalation P2P → SFU: longest video freeze of the original pair | ${gaps.length} | ${median(gaps).toFixed(0)} ms | ${p95(gaps).toFixed(0)} ms |`);

  // 3. server CPU for an N-person 320x240 video call.
  const r = `bench-cpu-${Date.now()}`;
  const pages: Page[] = [];
  for (let i = 0; i < PEOPLE; i++) pages.push(await open(browser, `${base}/call/${r}?name=V${i}&res=320x240`));
  await poll(async () => (Object.keys((await marks(pages[0]!)).frames).length >= PEOPLE - 1 ? true : null), 60_000, 'everyone sees everyone');
  await new Promise((res) => setTimeout(res, 5_000));
  const workers = server.sfu!.pool.slots.map((s) => s.worker);
  const before = await Promise.all(workers.map((w) => w.getResourceUsage()));
  const nodeBefore = process.cpuUsage();
  const browserBefore = chromiumCpuSeconds();
  const packetsBefore = await forwardedPackets(server);
  const seconds = 20;
  await new Promise((res) => setTimeout(res, seconds * 1_000));
  const browserCpu = (chromiumCpuSeconds() - browserBefore) / seconds;
  const forwarded = (await forwardedPackets(server)) - packetsBefore;
  const after = await Promise.all(workers.map((w) => w.getResourceUsage()));
  const nodeAfter = process.cpuUsage(nodeBefore);
  const workerCpu = after.reduce((sum, u, i) => sum + (u.ru_utime + u.ru_stime - before[i]!.ru_utime - before[i]!.ru_stime), 0) / 1000 / seconds;
  const nodeCpu = (nodeAfter.user + nodeAfter.system) / 1e6 / seconds;
  const consumers = server.sfu!.sfuRooms.reduce((n, room) => n + room.consumerCount, 0);
  out.push(
    `| ${PEOPLE}-person 320x240 video call, ${consumers} consumers: mediasoup workers CPU | — | ${(workerCpu * 100).toFixed(1)} % of a core | node (signaling + bench driver): ${(nodeCpu * 100).toFixed(1)} % |`,
  );
  out.push(
    `| ${PEOPLE}-person 320x240 video call: SFU worker CPU per forwarded packet (E2EE ${E2EE}) | — | ${forwarded > 0 ? (((workerCpu * seconds) / forwarded) * 1e6).toFixed(1) : '–'} µs | ${Math.round(forwarded / seconds)} packets/s forwarded |`,
  );
  out.push(
    `| ${PEOPLE}-person 320x240 video call: Chromium CPU per participant (E2EE ${E2EE}) | — | ${((browserCpu / PEOPLE) * 100).toFixed(1)} % of a core | all ${PEOPLE} pages: ${(browserCpu * 100).toFixed(0)} % |`,
  );
  for (const p of pages) await p.context().close();

  await browser.close();
  await server.close();
  console.log('| SFU | runs | median | p95 / notes |');
  console.log('|---|---|---|---|');
  for (const line of out) console.log(line);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

/** CPU seconds (user + system) used so far by the Chromium processes this bench started (its descendants named chrom…), from /proc. */
function chromiumCpuSeconds(): number {
  const stats = new Map<number, { ppid: number; ticks: number; chromium: boolean }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const raw = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command is in parentheses and may hold spaces; the fields after it are numbers.
      const comm = raw.slice(raw.indexOf('(') + 1, raw.lastIndexOf(')'));
      const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), chromium: /^chrom/i.test(comm) });
    } catch {
      // The process ended meanwhile.
    }
  }
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of stats) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  let ticks = 0;
  const todo = [process.pid];
  for (let n = 0; todo.length > 0 && n < 10_000; n++) {
    const pid = todo.pop()!;
    const s = stats.get(pid);
    if (s?.chromium) ticks += s.ticks;
    todo.push(...(children.get(pid) ?? []));
  }
  // Clock ticks are 1/100 s on Linux.
  return ticks / 100;
}

/** RTP packets the SFU has sent so far on every consumer of every room (mediasoup's own counters). */
async function forwardedPackets(server: CallwireServer): Promise<number> {
  let n = 0;
  for (const room of server.sfu?.sfuRooms ?? [])
    for (const peer of room.peers.values())
      for (const consumer of peer.consumers.values()) {
        const stats = await consumer.getStats().catch(() => []);
        for (const s of stats) if (s.type === 'outbound-rtp') n += s.packetCount;
      }
  return n;
}
