/**
 * Signaling benchmarks against a server in its own process (so its memory and CPU are its own):
 *  1. idle connections: connect N clients, report the server's RSS per connection;
 *  2. call set-up throughput: P caller/callee pairs run invite → accept → join both → offer →
 *     answer → leave in a loop; report signaling messages per second and server CPU.
 *
 *   sh scripts/netns.sh npx tsx bench/signaling.ts [--connections 2000] [--pairs 50] [--seconds 10]
 */
import { spawn } from 'node:child_process';
import type { Socket } from 'socket.io-client';
import { REQUESTS_PER_SETUP, callSetupLoop, connect as connectTo, cpuTicks, rssKb, sleep } from './signalingLoad.ts';

const arg = (name: string, def: number, max: number) => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isInteger(v) || v < 1 || v > max) throw new Error(`--${name} must be 1..${max}`);
  return v;
};
const CONNECTIONS = arg('connections', 2000, 20_000);
const PAIRS = arg('pairs', 50, 500);
const SECONDS = arg('seconds', 10, 120);
const PORT = 3391;
const URL = `http://127.0.0.1:${PORT}`;
const connect = (handle: string) => connectTo(URL, handle);

async function main(): Promise<void> {
  const server = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
    env: {
      ...process.env,
      PORT: String(PORT),
      HOST: '127.0.0.1',
      DATA_DIR: ':memory:',
      SFU_ENABLED: 'false',
      TURN_ENABLED: 'false',
      LOG_LEVEL: 'error',
      RATE_LIMIT_PER_SEC: '10000',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const pid = server.pid!;
  try {
    for (let i = 0; i < 100; i++) {
      if (
        await fetch(`${URL}/healthz`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await sleep(100);
    }
    // Warm up (JIT, socket.io internals), then measure.
    const warm = await Promise.all(Array.from({ length: 20 }, (_, i) => connect(`warm${i}`)));
    for (const s of warm) s.close();
    await sleep(1_000);
    const rss0 = rssKb(pid);
    const t0 = Date.now();
    const idle: Socket[] = [];
    for (let i = 0; i < CONNECTIONS; i += 100) {
      idle.push(...(await Promise.all(Array.from({ length: Math.min(100, CONNECTIONS - i) }, (_, k) => connect(`idle${i + k}`)))));
    }
    const connectMs = Date.now() - t0;
    await sleep(2_000);
    const rss1 = rssKb(pid);
    const perConn = ((rss1 - rss0) * 1024) / CONNECTIONS;
    for (const s of idle) s.close();
    await sleep(1_000);

    // Call set-up throughput.
    const pairs = await Promise.all(
      Array.from({ length: PAIRS }, async (_, i) => [await connect(`caller${i}`), await connect(`callee${i}`), `callee${i}`] as const),
    );
    const deadline = Date.now() + SECONDS * 1_000;
    const cpu0 = cpuTicks(pid);
    const started = Date.now();
    const calls = await callSetupLoop(pairs, deadline);
    const messages = calls * REQUESTS_PER_SETUP;
    const secs = (Date.now() - started) / 1_000;
    const cpu = (cpuTicks(pid) - cpu0) / 100 / secs;
    for (const [a, b] of pairs) {
      a.close();
      b.close();
    }

    console.log('| signaling | value |');
    console.log('|---|---|');
    console.log(`| idle connections held | ${CONNECTIONS} (connected in ${(connectMs / 1000).toFixed(1)} s) |`);
    console.log(
      `| server memory per idle connection | ${(perConn / 1024).toFixed(1)} KiB (RSS ${(rss0 / 1024).toFixed(0)} → ${(rss1 / 1024).toFixed(0)} MiB) |`,
    );
    console.log(`| call set-ups per second (${PAIRS} pairs, full ring → accept → join → offer/answer → hang-up) | ${(calls / secs).toFixed(0)} |`);
    console.log(`| signaling requests per second during set-up | ${(messages / secs).toFixed(0)} (server CPU ${(cpu * 100).toFixed(0)} % of a core) |`);
  } finally {
    server.kill('SIGTERM');
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
