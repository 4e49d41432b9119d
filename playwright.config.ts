import { defineConfig } from '@playwright/test';
import { TEST_METRICS_TOKEN } from './server/src/testing/health.ts';

/**
 * End-to-end tests: Debian's Chromium with fake camera/mic, against the real server started
 * below. Run them through `npm test` (or `npm run test:e2e`), which puts the whole run in a
 * loopback-only network namespace.
 */
export const E2E_PORT = Number(process.env['E2E_PORT'] ?? 3180);
/** test/e2e/embed.spec.ts serves a host page here; the server allows it to embed calls. */
export const EMBED_HOST_ORIGIN = `http://127.0.0.1:${E2E_PORT + 1}`;
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
];

export default defineConfig({
  testDir: 'test/e2e',
  timeout: 90_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  // One retry in CI only: a failing run blocks the whole submission, and a test that is really
  // broken still fails twice. Flaky passes are counted and listed by the runner.
  retries: process.env['CI'] ? 1 : 0,
  reporter: [['list'], ['json', { outputFile: 'test-results/e2e.json' }]],
  use: {
    baseURL: `http://127.0.0.1:${E2E_PORT}`,
    viewport: { width: 800, height: 600 },
    launchOptions: { executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium', args: CHROMIUM_ARGS },
    trace: 'off',
  },
  webServer: {
    command: 'node --import tsx server/src/main.ts',
    url: `http://127.0.0.1:${E2E_PORT}/healthz`,
    reuseExistingServer: false,
    timeout: 30_000,
    env: {
      PORT: String(E2E_PORT),
      HOST: '127.0.0.1',
      DATA_DIR: 'test-results/e2e-data',
      RING_TIMEOUT_MS: '6000',
      RECONNECT_GRACE_MS: '5000',
      LOG_LEVEL: 'warn',
      EMBED_ALLOWED_ORIGINS: EMBED_HOST_ORIGIN,
      // Operators' view (call-quality history, /metrics) for the tests that check it.
      METRICS_TOKEN: TEST_METRICS_TOKEN,
    },
  },
});
