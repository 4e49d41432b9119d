import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Unit and integration tests sit beside the code they prove (`*.test.ts`);
// browser end-to-end tests live in test/ and run under Playwright instead.
export default defineConfig({
  // The web code imports the signaling contract as `@protocol` (as in tsconfig.json and Vite).
  resolve: { alias: { '@protocol': fileURLToPath(new URL('./server/src/protocol/index.ts', import.meta.url)) } },
  test: {
    include: ['server/**/*.test.ts', 'web/src/**/*.test.ts', 'turn/**/*.test.ts', 'scripts/**/*.test.ts', 'test/unit/**/*.test.ts', 'bench/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
