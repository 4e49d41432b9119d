/**
 * Calls that must go through a relay: Chromium ↔ Chromium with iceTransportPolicy "relay",
 * through the bundled TURN over UDP and over TCP, across allocation refreshes, and through
 * Debian's coturn with the same shared secret (credential compatibility).
 */
import { expect, test, type Browser, type Page } from '@playwright/test';
import { CallwireServer } from '../../server/src/CallwireServer.ts';
import { loadConfig } from '../../server/src/config.ts';
import { CoturnProcess } from '../../turn/test/CoturnProcess.ts';
import { expectMediaFlowing, person, snapshot, closePeople } from './media.ts';

test.afterEach(closePeople);

const SECRET = 'e2e-shared-turn-secret-0123456789';

async function startCallwire(env: Record<string, string>): Promise<CallwireServer> {
  const server = new CallwireServer(
    loadConfig({ DATA_DIR: ':memory:', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', SFU_ENABLED: 'false', TURN_SECRET: SECRET, ...env }),
  );
  await server.start();
  return server;
}

/** Two people in one room, both relay-only over `relay` (a URL parameter of the call page). */
async function relayCall(browser: Browser, server: CallwireServer, relay: string): Promise<[Page, Page]> {
  const room = `relay-${relay}-${Date.now()}`;
  const pages: Page[] = [];
  for (const name of ['Alice', 'Bob']) {
    const page = await person(browser);
    await page.goto(`${server.url}/call/${room}?name=${name}&relay=${relay}`);
    pages.push(page);
  }
  for (const page of pages) await expect(page.getByTestId('call-status')).toHaveText('Connected', { timeout: 30_000 });
  return pages as [Page, Page];
}

test.describe('bundled TURN relay', () => {
  let server: CallwireServer;
  test.beforeAll(async () => {
    // A 10 s allocation lifetime makes Chromium refresh every 5 s (it refreshes at half of
    // lifetimes under 2 min), so a short call crosses several refreshes.
    server = await startCallwire({ TURN_UDP_PORT: '0', TURN_TCP_PORT: '0', TURN_MIN_LIFETIME: '10', TURN_DEFAULT_LIFETIME: '10', TURN_MAX_LIFETIME: '10' });
  });
  test.afterAll(async () => server?.close());

  for (const transport of ['udp', 'tcp'] as const) {
    test(`relay-only call over TURN/${transport.toUpperCase()}: relay candidates, media flows`, async ({ browser }) => {
      const pages = await relayCall(browser, server, transport);
      for (const page of pages) {
        const s = await expectMediaFlowing(page, { video: true });
        expect(s.candidateType, 'selected local candidate').toBe('relay');
        expect(s.protocol, 'client ↔ relay transport').toBe(transport);
        expect(s.outVideoCodec).toBe('video/H264');
      }
      expect(server.turn!.stats().allocations).toBeGreaterThanOrEqual(2);
      for (const page of pages) await page.context().close();
    });
  }

  test('a person can choose "Hide my IP address" before joining: only relay candidates are used', async ({ browser }) => {
    const room = `hide-ip-${Date.now()}`;
    const alice = await person(browser);
    await alice.goto(`${server.url}/call/${room}`);
    await alice.getByLabel('Your name').fill('Alice');
    await alice.getByRole('button', { name: 'Continue' }).click();
    await alice.getByLabel('Hide my IP address (relay only)').check();
    await alice.getByRole('button', { name: 'Join', exact: true }).click();
    const bob = await person(browser);
    await bob.goto(`${server.url}/call/${room}?name=Bob`);
    await expect(alice.getByTestId('call-status')).toHaveText('Connected', { timeout: 30_000 });
    const s = await expectMediaFlowing(alice, { video: true });
    expect(s.candidateType).toBe('relay');
    // Alice's SDP never carried a host candidate, so Bob never learned her address.
    const hostCandidates = await alice.evaluate(() =>
      (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.flatMap((pc) => pc.localDescription?.sdp.match(/a=candidate:.* typ host/g) ?? []),
    );
    expect(hostCandidates).toEqual([]);
    for (const page of [alice, bob]) await page.context().close();
  });

  test('a relayed call keeps media flowing across allocation refreshes', async ({ browser }) => {
    const pages = await relayCall(browser, server, 'udp');
    await expectMediaFlowing(pages[1], { video: true });
    // This call's allocations only (a previous test's may still be waiting to expire).
    const handles = await Promise.all(
      pages.map((p) => p.evaluate(() => (window as unknown as { callwire: { room: { self: { handle: string } } } }).callwire.room.self.handle)),
    );
    const ours = () =>
      server
        .turn!.allocations()
        .filter((a) => handles.includes(a.userId))
        .map((a) => a.id)
        .sort();
    const allocations = ours();
    expect(allocations.length).toBeGreaterThanOrEqual(2);
    // 25 s = 2.5 allocation lifetimes: without honoured refreshes the allocations would be gone.
    await pages[0].waitForTimeout(25_000);
    const relayedBefore = server.turn!.stats().packetsRelayed;
    for (const page of pages) await expectMediaFlowing(page, { video: true });
    // Still through our relay: its packet counter keeps rising.
    expect(server.turn!.stats().packetsRelayed).toBeGreaterThan(relayedBefore + 100);
    expect(ours(), 'same allocations, refreshed, not recreated').toEqual(allocations);
    for (const page of pages) await page.context().close();
  });
});

test.describe('external relay: Debian coturn', () => {
  let coturn: CoturnProcess;
  let server: CallwireServer;
  test.beforeAll(async () => {
    coturn = await CoturnProcess.start({ secret: SECRET, realm: 'callwire' });
    // callwire only hands out coturn's URLs and signs credentials with the shared secret.
    server = await startCallwire({ TURN_ENABLED: 'false', TURN_URLS: `turn:127.0.0.1:${coturn.port}?transport=udp` });
  });
  test.afterAll(async () => {
    await server?.close();
    await coturn?.close();
  });

  test('relay-only call through coturn with callwire-issued credentials', async ({ browser }) => {
    expect(server.turn).toBeNull();
    const pages = await relayCall(browser, server, 'udp');
    for (const page of pages) {
      const s = await expectMediaFlowing(page, { video: true });
      expect(s.candidateType).toBe('relay');
    }
    expect((await snapshot(pages[0])).connected).toBe(1);
  });
});
