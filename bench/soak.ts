/**
 * Churn soak: rooms are created, joined (group calls on the SFU, 1:1 calls ringing) and left for
 * `--minutes`; every minute it samples memory and object counts. At the end everything must be
 * back to the baseline: zero rooms, calls, routers and transports, and memory near where it
 * started. Exits non-zero otherwise.
 *
 * A fixed population of people comes and goes (like real users); memory is the V8 heap after a
 * forced GC plus the worker's RSS.
 *
 *   sh scripts/netns.sh node --expose-gc --import tsx bench/soak.ts [--minutes 30]   (npm run soak)
 */
import { readFileSync } from 'node:fs';
import { startSfuServer } from '../server/src/testing/harness.ts';
import { churnCycle, counts } from '../server/src/testing/churn.ts';

const i = process.argv.indexOf('--minutes');
const MINUTES = i >= 0 ? Number(process.argv[i + 1]) : 30;
if (!(MINUTES > 0 && MINUTES <= 120)) throw new Error('--minutes must be in (0, 120]');

const heapMiB = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 1048576;
};
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
/** Distinct groups of people who come back again and again. */
const POPULATION = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<number> {
  const server = await startSfuServer(40_900, { RECONNECT_GRACE_MS: '1000', RATE_LIMIT_PER_SEC: '1000' });
  const workerPid = () => server.sfu!.pool.slots[0]!.pid;
  // Warm up, then take the baseline.
  for (let k = 0; k < POPULATION; k++) await churnCycle(server, 4, k);
  await sleep(2_000);
  const base = { node: heapMiB(), worker: rssMiB(workerPid()), counts: await counts(server) };
  console.log(`baseline: node heap ${base.node.toFixed(0)} MiB, worker ${base.worker.toFixed(0)} MiB, ${JSON.stringify(base.counts)}`);

  const end = Date.now() + MINUTES * 60_000;
  let cycles = 0;
  let nextSample = Date.now() + 60_000;
  let failed = 0;
  while (Date.now() < end) {
    // A cycle can time out when the machine is starved; count it and go on (the end state is what matters).
    await churnCycle(server, 3 + (cycles % 4), cycles % POPULATION).catch((err: unknown) => {
      failed++;
      if (failed <= 5) console.error(`cycle ${cycles} failed: ${(err as Error).message}`);
    });
    cycles++;
    if (Date.now() >= nextSample) {
      nextSample += 60_000;
      console.log(
        `${new Date().toISOString()} cycles ${cycles}: node heap ${heapMiB().toFixed(0)} MiB, worker ${rssMiB(workerPid()).toFixed(0)} MiB, ${JSON.stringify(await counts(server))}`,
      );
    }
  }
  await sleep(3_000); // reconnect grace of the dropped seats
  const after = { node: heapMiB(), worker: rssMiB(workerPid()), counts: await counts(server) };
  console.log(`after ${cycles} cycles: node heap ${after.node.toFixed(0)} MiB, worker ${after.worker.toFixed(0)} MiB, ${JSON.stringify(after.counts)}`);
  await server.close();

  const leaked = Object.entries(after.counts).filter(([k, v]) => v !== base.counts[k as keyof typeof base.counts]);
  // Memory may settle a little higher (heap growth, allocator caches), but not keep growing.
  const grown = after.node > base.node * 1.25 + 10 || after.worker > base.worker * 1.5 + 10;
  if (leaked.length > 0) console.error(`LEAK: ${JSON.stringify(leaked)}`);
  const tooManyFailures = failed > cycles * 0.05;
  console.log(`${failed} of ${cycles} cycles failed`);
  if (tooManyFailures) console.error('more than 5 % of the cycles failed');
  if (grown) console.error('memory did not return near the baseline');
  return leaked.length > 0 || grown || tooManyFailures ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
