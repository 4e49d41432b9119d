/**
 * P2P call setup time: the callee presses Accept → the first remote video frame is presented
 * (requestVideoFrameCallback), on both sides, in Debian Chromium on loopback.
 *
 *   sh scripts/netns.sh npx tsx bench/p2p-setup.ts [--runs 20] [--e2ee required|off]
 *
 * Starts its own server on a free loopback port; every run is a fresh call between the same two
 * signed-up people, so page load and sign-up are not part of the number.
 */
import { chromium, type Page } from '@playwright/test';
import { CallwireServer } from '../server/src/CallwireServer.ts';
import { loadConfig } from '../server/src/config.ts';
import { CHROMIUM_ARGS } from '../playwright.config.ts';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 10);
if (!Number.isInteger(runs) || runs < 1 || runs > 200) throw new Error('--runs must be 1..200');
/** The server's E2EE policy: `required` (default, frames encrypted) or `off` (no transforms at all). */
const e2ee = process.argv.includes('--e2ee') ? process.argv[process.argv.indexOf('--e2ee') + 1] : 'required';
if (e2ee !== 'required' && e2ee !== 'off') throw new Error('--e2ee must be required or off');

/**
 * Marks (epoch ms, sub-ms) of the Accept click and of the first presented remote frame.
 * Plain JS in a string: tsx's transform would add helpers that do not exist in the page.
 */
const INSTRUMENT = `
  window.__marks = {};
  const now = () => performance.timeOrigin + performance.now();
  document.addEventListener('click', (e) => {
    if (e.target.closest('button')?.textContent === 'Accept') window.__marks.accept = now();
  }, true);
  new MutationObserver(() => {
    for (const v of document.querySelectorAll('[data-testid=remote-video]')) {
      if (v.__seen) continue;
      v.__seen = true;
      v.requestVideoFrameCallback(() => { window.__marks.firstFrame ??= now(); });
    }
  }).observe(document, { subtree: true, childList: true });
`;

async function main(): Promise<void> {
  const server = new CallwireServer(loadConfig({ DATA_DIR: ':memory:', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', E2EE: e2ee }));
  console.log(`end-to-end encryption: ${e2ee}`);
  await server.start();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const open = async (name: string) => {
    const ctx = await browser.newContext({ baseURL: server.url });
    await ctx.addInitScript({ content: INSTRUMENT });
    const page = await ctx.newPage();
    await page.goto('/');
    await page.getByLabel('Your name').fill(name);
    await page.getByRole('button', { name: 'Continue' }).click();
    const handle = (await page.getByTestId('my-handle').textContent())!.trim();
    return { page, handle };
  };
  const caller = await open('Caller');
  const callee = await open('Callee');
  const marks = (p: Page) => p.evaluate(() => (window as unknown as { __marks: Record<string, number> }).__marks);
  const reset = (p: Page) => p.evaluate(() => void ((window as unknown as { __marks: Record<string, number> }).__marks = {}));

  const calleeMs: number[] = [];
  const callerMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    await reset(caller.page);
    await reset(callee.page);
    await caller.page.getByLabel('Handle to call').fill(callee.handle);
    await caller.page.getByRole('button', { name: 'Video call', exact: true }).click();
    await callee.page.getByRole('dialog', { name: 'Incoming call' }).getByRole('button', { name: 'Accept' }).click();
    const deadline = Date.now() + 20_000;
    let a: Record<string, number> = {};
    let b: Record<string, number> = {};
    while (Date.now() < deadline) {
      [a, b] = [await marks(callee.page), await marks(caller.page)];
      if (a['firstFrame'] && b['firstFrame']) break;
      await callee.page.waitForTimeout(20);
    }
    if (!a['firstFrame'] || !b['firstFrame'] || !a['accept']) throw new Error(`run ${i + 1}: no first frame within 20 s: ${JSON.stringify({ a, b })}`);
    calleeMs.push(a['firstFrame'] - a['accept']);
    callerMs.push(b['firstFrame'] - a['accept']);
    console.error(`run ${i + 1}/${runs}: callee ${calleeMs.at(-1)!.toFixed(0)} ms, caller ${callerMs.at(-1)!.toFixed(0)} ms`);
    await callee.page.getByRole('button', { name: 'Hang up' }).click();
    await caller.page.getByTestId('call-ended').waitFor();
    await caller.page.getByRole('button', { name: 'Back to home' }).click();
    await callee.page.getByRole('button', { name: 'Back to home' }).click();
  }
  await browser.close();
  await server.close();

  const q = (xs: number[], p: number) => {
    const s = [...xs].sort((x, y) => x - y);
    return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  };
  const row = (label: string, xs: number[]) =>
    `| ${label} | ${xs.length} | ${q(xs, 0.5).toFixed(0)} | ${q(xs, 0.95).toFixed(0)} | ${Math.min(...xs).toFixed(0)} | ${Math.max(...xs).toFixed(0)} |`;
  console.log('| accept → first remote frame presented | runs | median ms | p95 ms | min ms | max ms |');
  console.log('|---|---|---|---|---|---|');
  console.log(row('callee sees caller', calleeMs));
  console.log(row('caller sees callee', callerMs));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
