/**
 * Where UDP is blocked, group calls still work: every worker's WebRtcServer also listens on TCP
 * (one port), and browsers fall back to ICE-TCP. UDP to the SFU is dropped with nftables inside
 * the test's private network namespace.
 */
import { execFileSync } from 'node:child_process';
import { expect, test } from '@playwright/test';
import type { CallwireServer } from '../../server/src/CallwireServer.ts';
import { startSfuServer } from '../../server/src/testing/harness.ts';
import { expectMediaFlowing, person, snapshot, closePeople } from './media.ts';

test.afterEach(closePeople);

const SFU_PORT = 40650;
const nft = (...args: string[]) => execFileSync('nft', args, { stdio: 'pipe' });

let server: CallwireServer;
test.beforeAll(async () => {
  // Only ever touch the packet filter of the test's own loopback-only namespace.
  if (process.env['CALLWIRE_IN_NETNS'] !== '1') throw new Error('run through scripts/netns.sh (npm test): this test changes the namespace packet filter');
  nft('add', 'table', 'inet', 'callwire_test');
  nft('add', 'chain', 'inet', 'callwire_test', 'in', '{ type filter hook input priority 0; }');
  nft('add', 'rule', 'inet', 'callwire_test', 'in', 'udp', 'dport', String(SFU_PORT), 'drop');
  server = await startSfuServer(SFU_PORT);
});
test.afterAll(async () => {
  await server?.close();
  if (process.env['CALLWIRE_IN_NETNS'] === '1') nft('delete', 'table', 'inet', 'callwire_test');
});

test('with UDP to the SFU blocked, a group call connects over ICE-TCP', async ({ browser }) => {
  const room = `tcp-only-${Date.now()}`;
  const pages = [];
  for (const name of ['Ann', 'Ben', 'Cat']) {
    const page = await person(browser);
    await page.goto(`${server.url}/call/${room}?name=${name}&res=320x240`);
    pages.push(page);
  }
  for (const page of pages) {
    await expect.poll(async () => (await snapshot(page)).inVideoStreams, { timeout: 40_000 }).toBe(2);
    const s = await expectMediaFlowing(page, { video: true });
    expect(s.protocol, 'selected candidate pair').toBe('tcp');
  }
  for (const p of pages) await p.context().close();
});
