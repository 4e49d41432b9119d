/**
 * Embed widget: time from `Callwire.mount()` on a host page to its `ready` and `joined` events,
 * in Debian Chromium on loopback. The host page (docs/embed-demo.html) is served from a second
 * origin, as a real site would be; every run is a fresh browser context (cold HTTP cache), so the
 * number covers loading the iframe and the call app, getUserMedia, the signaling connection and
 * room.join. The gzipped size of web/dist/embed.js is printed too.
 *
 *   npm run build:web && sh scripts/netns.sh npx tsx bench/embed-join.ts [--runs 20]
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { chromium } from '@playwright/test';
import { CallwireServer } from '../server/src/CallwireServer.ts';
import { loadConfig } from '../server/src/config.ts';
import { CHROMIUM_ARGS } from '../playwright.config.ts';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 10);
if (!Number.isInteger(runs) || runs < 1 || runs > 200) throw new Error('--runs must be 1..200');

async function main(): Promise<void> {
  let demo = '';
  const host = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(demo);
  });
  await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
  const hostOrigin = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;

  const server = new CallwireServer(loadConfig({ DATA_DIR: ':memory:', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', EMBED_ALLOWED_ORIGINS: hostOrigin }));
  await server.start();
  const callwire = `http://127.0.0.1:${server.port}`;
  demo = readFileSync('docs/embed-demo.html', 'utf8').replaceAll('http://localhost:3000', callwire);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });

  const readyMs: number[] = [];
  const joinedMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${hostOrigin}/?room=bench-${Date.now()}-${i}&name=Bench`);
    const handle = await page.waitForFunction(
      () => {
        const events = (window as unknown as { callwireEvents: { name: string; t: number }[] }).callwireEvents;
        const failed = events.find((e) => e.name === 'error');
        if (failed) return { error: JSON.stringify(failed) };
        const ready = events.find((e) => e.name === 'ready');
        const joined = events.find((e) => e.name === 'joined');
        return ready && joined ? { ready: ready.t, joined: joined.t } : null;
      },
      undefined,
      { timeout: 20_000, polling: 10 },
    );
    const r = (await handle.jsonValue()) as { ready?: number; joined?: number; error?: string };
    if (r.error) throw new Error(`run ${i + 1}: ${r.error}`);
    readyMs.push(r.ready!);
    joinedMs.push(r.joined!);
    console.error(`run ${i + 1}/${runs}: ready ${r.ready} ms, joined ${r.joined} ms`);
    await ctx.close();
  }
  await browser.close();
  await server.close();
  host.close();

  const q = (xs: number[], p: number) => {
    const s = [...xs].sort((x, y) => x - y);
    return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  };
  const row = (label: string, xs: number[]) =>
    `| ${label} | ${xs.length} | ${q(xs, 0.5).toFixed(0)} | ${q(xs, 0.95).toFixed(0)} | ${Math.min(...xs).toFixed(0)} | ${Math.max(...xs).toFixed(0)} |`;
  const js = readFileSync('web/dist/embed.js');
  console.log(`embed.js: ${js.length} bytes, ${gzipSync(js, { level: 9 }).length} bytes gzipped`);
  console.log('| Callwire.mount() → | runs | median ms | p95 ms | min ms | max ms |');
  console.log('|---|---|---|---|---|---|');
  console.log(row('`ready` (frame loaded, options received)', readyMs));
  console.log(row('`joined` (in the room)', joinedMs));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
