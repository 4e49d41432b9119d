/**
 * The hooks of a test file that runs against a deployment (one node, or two on Redis): a fresh
 * deployment per test, guests spread over its nodes (the i-th guest on node i mod n), and
 * everything closed after each test.
 */
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { singleNode, twoNodes, type Deployment } from './deployments.ts';
import { RedisProcess } from './RedisProcess.ts';
import { TestClient } from './harness.ts';

export interface DeploymentFixture {
  /** This test's deployment. */
  readonly server: Deployment;
  /** A guest on the next node; `key` keeps the handle across reconnections (default: random). */
  guest(handle: string, key?: string): Promise<TestClient>;
}

export function withDeployment(deploy: () => Promise<Deployment>): DeploymentFixture {
  let server: Deployment | null = null;
  let joined = 0;
  const clients: TestClient[] = [];
  beforeEach(async () => {
    joined = 0;
    server = await deploy();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server?.close();
    server = null;
  });
  return {
    get server() {
      if (!server) throw new Error('no deployment outside a test');
      return server;
    },
    async guest(handle, key) {
      const c = await TestClient.guest(this.server.urlFor(joined++), handle, handle.toUpperCase(), key);
      clients.push(c);
      return c;
    },
  };
}

/**
 * The deployments a behaviour must hold in, for `describe.each`: one node with its embedded
 * store, and two nodes on a real Redis that this test file starts (and stops).
 */
export function bothDeployments(env: Record<string, string> = {}): [name: string, deploy: () => Promise<Deployment>][] {
  let redis: RedisProcess | null = null;
  beforeAll(async () => {
    redis = await RedisProcess.start();
  });
  afterAll(async () => {
    await redis?.close();
  });
  return [
    ['one node, embedded store', () => singleNode(env)],
    ['two nodes on Redis', () => twoNodes(redis!, env)],
  ];
}
