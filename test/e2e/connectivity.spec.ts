/**
 * The connection test page (/connectivity) in Chromium against in-process deployments on
 * loopback: everything passes on a healthy stack except TURN over TLS, which Chromium refuses
 * with a self-signed certificate and the page says so; without TURN over UDP the page names that
 * failure and the summary says calls go through a TCP relay; with the server down it fails fast.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import type { CheckName, ConnectivityReport } from '../../web/src/connectivity/checks.ts';
import { JsonSchemaValidator, type JsonSchema } from '../../scripts/connectivity/JsonSchemaValidator.ts';
import { ConnectivityStack } from '../../scripts/connectivity/testing/ConnectivityStack.ts';

const schema = new JsonSchemaValidator(JSON.parse(readFileSync(new URL('../../docs/connectivity.schema.json', import.meta.url), 'utf8')) as JsonSchema);
const PAGE_CHECKS: CheckName[] = [
  'browser.webrtc',
  'media.microphone',
  'media.camera',
  'server.reachable',
  'signaling.websocket',
  'signaling.polling',
  'ice.servers',
  'ice.host',
  'ice.stun',
  'turn.udp',
  'turn.tcp',
  'turn.tls',
  'sfu.media',
];

const row = (page: Page, name: CheckName) => page.getByTestId(`check-${name}`);

async function runTest(page: Page, url: string, timeout = 75_000): Promise<number> {
  await page.goto(`${url}/connectivity`);
  const t0 = Date.now();
  await page.getByTestId('start-test').click();
  await expect(page.getByTestId('connectivity-summary')).toHaveAttribute('data-verdict', /.+/, { timeout });
  return Date.now() - t0;
}

test.describe('connection test page', () => {
  test('healthy stack: every check passes; TURN over TLS with a self-signed certificate is reported honestly', async ({ browser }) => {
    const stack = await ConnectivityStack.start({ sfuRtcPort: 41_600 });
    const context = await browser.newContext();
    // Granting some permissions resets the others: keep camera and microphone granted (as a person
    // who allowed them), which is also what makes Chromium offer host candidates on every interface.
    await context.grantPermissions(['clipboard-read', 'clipboard-write', 'camera', 'microphone'], { origin: stack.url });
    const page = await context.newPage();
    try {
      const ms = await runTest(page, stack.url);
      for (const name of PAGE_CHECKS.filter((n) => n !== 'turn.tls')) {
        await expect(row(page, name), `${name}: ${await row(page, name).textContent()}`).toHaveAttribute('data-status', 'pass');
      }
      // Chromium refuses the relay's self-signed certificate; UDP and TCP relays work, so it is a warning.
      const tls = row(page, 'turn.tls');
      await expect(tls).toHaveAttribute('data-status', 'warn');
      await expect(tls).toContainText(/TURN over TLS \(turns:127\.0\.0\.1:\d+\?transport=tcp\) failed: the browser got no relay address from the server/);
      await expect(tls).toContainText('What to do: TLS to the relay');
      await expect(tls).toContainText('not a self-signed one');
      await expect(page.getByTestId('connectivity-summary')).toHaveText('Calls will work (1 warning below).');
      await expect(page.getByTestId('connectivity-summary')).toHaveAttribute('data-verdict', 'works');
      await expect(row(page, 'sfu.media')).toContainText(/got it back for \d s over UDP: round trip \d+ ms, jitter [\d.]+ ms, loss [\d.]+ %, \d+ kbit\/s/);
      // Encrypted as a call is: the echo room sent our frames back and we decrypted them.
      await expect(row(page, 'sfu.media')).toContainText(/end-to-end encrypted \(\d+ frames decrypted\)/);
      await expect(row(page, 'turn.udp')).toContainText('Data went through the relay over UDP');
      await expect(row(page, 'turn.tcp')).toContainText('Data went through the relay over TCP');

      // The JSON report: downloadable, valid against the documented schema, same verdicts.
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-report').click()]);
      const report = JSON.parse(readFileSync((await download.path())!, 'utf8')) as ConnectivityReport;
      expect(schema.validate(report)).toEqual([]);
      expect(report).toMatchObject({ client: 'page', server: stack.url, verdict: 'works' });
      expect(report.checks.map((c) => c.name)).toEqual(PAGE_CHECKS);
      const media = report.checks.find((c) => c.name === 'sfu.media')!.metrics!;
      expect(media['transport']).toBe('udp');
      expect(Number(media['videoFramesDecoded'])).toBeGreaterThan(10);
      expect(Number(media['audioPacketsReceived'])).toBeGreaterThan(100);
      expect(Number(media['framesDecrypted'])).toBeGreaterThan(100);

      // The text report for support tickets: shown, and copied to the clipboard by the button.
      const text = await page.getByTestId('text-report').inputValue();
      expect(text).toContain('Verdict:  Calls will work (1 warning below).');
      expect(text).toMatch(/\[WARN\] TURN relay over TLS \(turn\.tls, \d+ ms\)/);
      await page.getByTestId('copy-report').click();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(text);
      // Everything the test opened on the server is gone again.
      await expect.poll(() => stack.server.rooms.roomCount).toBe(0);
      console.log(`page full run: ${ms} ms (checks: ${report.checks.map((c) => `${c.name} ${c.durationMs}`).join(', ')})`);
    } finally {
      await context.close();
      await stack.close();
    }
  });

  test('without TURN over UDP: that check fails with the advice, and calls go only through a TCP relay', async ({ browser }) => {
    const stack = await ConnectivityStack.start({ sfuRtcPort: 41_604, turnUdp: false });
    const page = await browser.newPage();
    try {
      await runTest(page, stack.url);
      const udp = row(page, 'turn.udp');
      await expect(udp).toHaveAttribute('data-status', 'fail');
      await expect(udp).toContainText('The server offers no TURN relay over UDP.');
      await expect(udp).toContainText('What to do: The server offers no TURN over UDP. Enable it (TURN_UDP_PORT');
      await expect(row(page, 'turn.tcp')).toHaveAttribute('data-status', 'pass');
      await expect(row(page, 'sfu.media')).toHaveAttribute('data-status', 'pass');
      await expect(page.getByTestId('connectivity-summary')).toHaveText('Calls will work only through a TCP relay — expect higher latency.');
      await expect(page.getByTestId('connectivity-summary')).toHaveAttribute('data-verdict', 'works-tcp-only');
    } finally {
      await page.context().close();
      await stack.close();
    }
  });

  test('server down: fails fast with a clear message', async ({ browser }) => {
    const stack = await ConnectivityStack.start({ sfuRtcPort: 41_608 });
    const page = await browser.newPage();
    try {
      const url = stack.url;
      await page.goto(`${url}/connectivity`);
      await stack.close();
      const t0 = Date.now();
      await page.getByTestId('start-test').click();
      await expect(page.getByTestId('connectivity-summary')).toHaveAttribute('data-verdict', 'fails', { timeout: 20_000 });
      const ms = Date.now() - t0;
      await expect(page.getByTestId('connectivity-summary')).toHaveText(`Calls will not work: the callwire server at ${url} is not reachable.`);
      await expect(row(page, 'server.reachable')).toContainText('What to do: Check the address, that the callwire server is running');
      for (const name of ['signaling.websocket', 'ice.servers', 'turn.udp', 'sfu.media'] as const) {
        await expect(row(page, name)).toHaveAttribute('data-status', 'fail');
        await expect(row(page, name)).toContainText('Not run: Server reachable failed.');
      }
      // Only the local device checks (about 4 s) take time; the server part fails at once.
      expect(ms).toBeLessThan(12_000);
      const text = await page.getByTestId('text-report').inputValue();
      const serverPart = [...text.matchAll(/\((server\.reachable|signaling\.\w+|ice\.\w+|turn\.\w+|sfu\.\w+), (\d+) ms\)/g)].reduce(
        (sum, m) => sum + Number(m[2]),
        0,
      );
      expect(serverPart, 'server-side checks, ms in total').toBeLessThan(1_000);
    } finally {
      await page.context().close();
    }
  });
});
