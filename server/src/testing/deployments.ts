/**
 * The two ways callwire is deployed, for tests that must hold in both: one node with its
 * embedded store, and two nodes sharing a real Redis (clients spread over both nodes, so every
 * interaction between two people crosses nodes).
 */
import { CallwireServer } from '../CallwireServer.ts';
import { loadConfig } from '../config.ts';
import type { StateStore } from '../store/StateStore.ts';
import { connectRedis } from '../store/redis.ts';
import type { RedisProcess } from './RedisProcess.ts';
import { TEST_METRICS_TOKEN } from './health.ts';

export interface Deployment {
  readonly name: string;
  readonly nodes: CallwireServer[];
  /** The node the i-th client connects to. */
  urlFor(i: number): string;
  readonly store: StateStore;
  liveCalls(): number;
  roomCount(): number;
  close(): Promise<void>;
}

// E2EE off: the protocol tests speak as clients without encoded transforms (see harness.ts).
const BASE = { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', METRICS_TOKEN: TEST_METRICS_TOKEN, TURN_ENABLED: 'false', SFU_ENABLED: 'false', E2EE: 'off' };

async function deploy(name: string, envs: Record<string, string>[]): Promise<Deployment> {
  const nodes: CallwireServer[] = [];
  try {
    for (const env of envs) {
      const node = new CallwireServer(loadConfig({ ...BASE, ...env }));
      nodes.push(node);
      await node.start();
    }
  } catch (err) {
    for (const n of nodes) await n.close().catch(() => {});
    throw err;
  }
  return {
    name,
    nodes,
    urlFor: (i) => nodes[i % nodes.length]!.url,
    store: nodes[0]!.store,
    liveCalls: () => nodes.reduce((n, s) => n + s.calls.liveCount, 0),
    roomCount: () => nodes.reduce((n, s) => n + s.rooms.roomCount, 0),
    close: async () => {
      for (const n of nodes) await n.close();
    },
  };
}

export function singleNode(env: Record<string, string> = {}): Promise<Deployment> {
  return deploy('one node, embedded store', [{ DATA_DIR: ':memory:', ...env }]);
}

/** Two nodes on `redis` (emptied first). */
export async function twoNodes(redis: RedisProcess, env: Record<string, string> = {}): Promise<Deployment> {
  const r = await connectRedis(redis.url);
  await r.flushall();
  r.disconnect();
  return deploy('two nodes on Redis', [
    { REDIS_URL: redis.url, NODE_ID: 'node-a', ...env },
    { REDIS_URL: redis.url, NODE_ID: 'node-b', ...env },
  ]);
}
