/**
 * State and scale-out benchmarks (issue: nothing lost on restart, past one machine).
 *  1. call set-ups per second on one node (embedded SQLite store) and on two nodes sharing Redis
 *     (every caller on node A, every callee on node B), with the CPU of each part, Redis included;
 *  2. cross-node ring latency: caller's `call.invite` sent → callee's `call.incoming` received;
 *  3. idle connections held by one node of the cluster and its memory per connection;
 *  4. the embedded store's missed-call writes per second (WAL, synchronous=FULL: fsync per commit).
 * Nodes and Redis run in their own processes; clients are socket.io-client in this process.
 *
 *   sh scripts/netns.sh npx tsx bench/cluster.ts [--pairs 40] [--seconds 10] [--rings 300] [--connections 2000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import { RedisProcess, freeTcpPort } from '../server/src/testing/RedisProcess.ts';
import { ServerProcess } from '../server/src/testing/ServerProcess.ts';
import { SqliteStore } from '../server/src/store/SqliteStore.ts';
import { callSetupLoop, connect as connectTo, cpuTicks, next, req, rssKb, sleep } from './signalingLoad.ts';

const arg = (name: string, def: number, max: number) => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isInteger(v) || v < 1 || v > max) throw new Error(`--${name} must be an integer 1..${max}`);
  return v;
};
const PAIRS = arg('pairs', 40, 500);
const SECONDS = arg('seconds', 10, 120);
const RINGS = arg('rings', 300, 5_000);
const CONNECTIONS = arg('connections', 2000, 20_000);
const WRITES = arg('writes', 2000, 100_000);

const NODE_ENV = { SFU_ENABLED: 'false', TURN_ENABLED: 'false', LOG_LEVEL: 'error', RATE_LIMIT_PER_SEC: '10000', RING_TIMEOUT_MS: '60000' };
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

let seq = 0;
const connect = (url: string, handle = `u${seq++}`) => connectTo(url, handle);

interface Deployment {
  label: string;
  callerUrl: string;
  calleeUrl: string;
  pids: { label: string; pid: number }[];
  close(): Promise<void>;
}

async function oneNode(): Promise<Deployment> {
  const dir = mkdtempSync(join(tmpdir(), 'callwire-bench-'));
  const node = await ServerProcess.start(await freeTcpPort(), { ...NODE_ENV, DATA_DIR: dir });
  return {
    label: '1 node (SQLite)',
    callerUrl: node.url,
    calleeUrl: node.url,
    pids: [{ label: 'node', pid: node.pid! }],
    close: async () => {
      await node.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function twoNodes(): Promise<Deployment & { redis: RedisProcess; a: ServerProcess; b: ServerProcess }> {
  const redis = await RedisProcess.start();
  const env = { ...NODE_ENV, REDIS_URL: redis.url };
  const a = await ServerProcess.start(await freeTcpPort(), { ...env, NODE_ID: 'node-a' });
  const b = await ServerProcess.start(await freeTcpPort(), { ...env, NODE_ID: 'node-b' });
  return {
    label: '2 nodes + Redis',
    callerUrl: a.url,
    calleeUrl: b.url,
    pids: [
      { label: 'node A', pid: a.pid! },
      { label: 'node B', pid: b.pid! },
      { label: 'redis', pid: redis.pid! },
    ],
    redis,
    a,
    b,
    close: async () => {
      await a.kill('SIGTERM');
      await b.kill('SIGTERM');
      await redis.close();
    },
  };
}

/** Full 1:1 set-ups in a loop: invite → ring → accept → both join → offer/answer → hang-up. */
async function setups(d: Deployment): Promise<string> {
  const pairs = await Promise.all(
    Array.from({ length: PAIRS }, async (_, i) => {
      const callee = `callee${i}-${seq++}`;
      return [await connect(d.callerUrl), await connect(d.calleeUrl, callee), callee] as const;
    }),
  );
  await sleep(500);
  const deadline = Date.now() + SECONDS * 1_000;
  const cpu0 = d.pids.map((p) => cpuTicks(p.pid));
  const started = Date.now();
  const calls = await callSetupLoop(pairs, deadline);
  const secs = (Date.now() - started) / 1_000;
  const cpu = d.pids.map((p, i) => `${p.label} ${(((cpuTicks(p.pid) - cpu0[i]!) / 100 / secs) * 100).toFixed(0)} %`);
  for (const [a, b] of pairs) {
    a.close();
    b.close();
  }
  return `| ${d.label} | ${(calls / secs).toFixed(0)} | ${cpu.join(', ')} |`;
}

/** Sequential rings: invite sent → callee's call.incoming, then cancel. */
async function ringLatency(d: Deployment): Promise<string> {
  const callee = `ringee-${seq++}`;
  const caller = await connect(d.callerUrl);
  const ringee = await connect(d.calleeUrl, callee);
  const samples: number[] = [];
  for (let i = 0; i < RINGS; i++) {
    const ringing = next(ringee, 'call.incoming');
    const t0 = performance.now();
    const invite = req(caller, 'call.invite', { to: callee, video: false });
    await ringing;
    samples.push(performance.now() - t0);
    const { callId } = await invite;
    const ended = next(ringee, 'call.ended');
    await req(caller, 'call.cancel', { callId });
    await ended;
    await ringee
      .timeout(5_000)
      .emitWithAck('missedCalls.ack', { ids: [] })
      .catch(() => {});
  }
  caller.close();
  ringee.close();
  samples.sort((a, b) => a - b);
  return `| ${d.label} | ${RINGS} | ${pct(samples, 50).toFixed(1)} | ${pct(samples, 99).toFixed(1)} | ${samples.at(-1)!.toFixed(1)} |`;
}

async function idle(url: string, pid: number, label: string): Promise<string> {
  const warm = await Promise.all(Array.from({ length: 20 }, () => connect(url)));
  for (const s of warm) s.close();
  await sleep(1_000);
  const rss0 = rssKb(pid);
  const t0 = Date.now();
  const held: Socket[] = [];
  for (let i = 0; i < CONNECTIONS; i += 100) held.push(...(await Promise.all(Array.from({ length: Math.min(100, CONNECTIONS - i) }, () => connect(url)))));
  const ms = Date.now() - t0;
  await sleep(2_000);
  const rss1 = rssKb(pid);
  for (const s of held) s.close();
  return `| ${label} | ${CONNECTIONS} in ${(ms / 1000).toFixed(1)} s | ${(((rss1 - rss0) * 1024) / CONNECTIONS / 1024).toFixed(1)} KiB (RSS ${(rss0 / 1024).toFixed(0)} → ${(rss1 / 1024).toFixed(0)} MiB) |`;
}

async function storeWrites(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'callwire-sqlite-bench-'));
  try {
    const store = new SqliteStore(dir);
    const t0 = performance.now();
    for (let i = 0; i < WRITES; i++) {
      await store.addMissedCall(
        `user${i % 100}`,
        { id: `m${i}xxxxx`, callId: `c${i}xxxxx`, from: { handle: 'ann', name: 'Ann' }, video: false, at: Date.now(), reason: 'no-answer' },
        100,
      );
    }
    const secs = (performance.now() - t0) / 1000;
    await store.close();
    return `| SQLite, WAL, synchronous=FULL (the default store) | ${WRITES} | ${(WRITES / secs).toFixed(0)} | ${((secs * 1000) / WRITES).toFixed(2)} |`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A fresh deployment for one measurement, always torn down. */
async function measure<D extends Deployment>(make: () => Promise<D>, run: (d: D) => Promise<string>): Promise<string> {
  const d = await make();
  try {
    return await run(d);
  } finally {
    await d.close();
  }
}

async function main(): Promise<void> {
  const out: string[] = [];
  out.push('', '| deployment | call set-ups/s | CPU (% of one core) |', '|---|---:|---|');
  for (const make of [oneNode, twoNodes]) out.push(await measure(make, setups));
  out.push('', '| ring: invite → call.incoming | rings | p50 ms | p99 ms | max ms |', '|---|---:|---:|---:|---:|');
  for (const make of [oneNode, twoNodes]) out.push(await measure(make, ringLatency));
  out.push('', '| idle connections | held | node memory per connection |', '|---|---|---|');
  out.push(await measure(oneNode, (d) => idle(d.callerUrl, d.pids[0]!.pid, '1 node (SQLite)')));
  out.push(await measure(twoNodes, (d) => idle(d.callerUrl, d.a.pid!, 'node A of 2 (Redis)')));
  out.push('', '| missed-call writes | writes | per second | ms each |', '|---|---:|---:|---:|');
  out.push(await storeWrites());
  console.log(out.join('\n'));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
