/**
 * embed.js: the host-page script, built on its own as one small IIFE into web/dist/embed.js
 * (after the app build, which empties web/dist). The build fails if it outgrows its gzipped
 * budget, so the "tiny script" promise in docs/embedding.md cannot quietly rot.
 */
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** Gzipped size limit of embed.js, in bytes. */
export const EMBED_GZIP_BUDGET = 10 * 1024;

function gzipBudget(limit: number): Plugin {
  return {
    name: 'callwire-embed-budget',
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue;
        const gz = gzipSync(chunk.code, { level: 9 }).length;
        const line = `${chunk.fileName}: ${chunk.code.length} bytes, ${gz} bytes gzipped (budget ${limit})`;
        if (gz > limit) this.error(`${line} — over budget`);
        this.info(line);
      }
    },
  };
}

export default defineConfig({
  root: here('.'),
  publicDir: false,
  logLevel: 'info',
  build: {
    outDir: here('dist'),
    emptyOutDir: false,
    target: 'es2022',
    sourcemap: false,
    minify: true,
    lib: {
      entry: here('src/embed/embed.ts'),
      formats: ['iife'],
      name: 'CallwireEmbed',
      fileName: () => 'embed.js',
    },
  },
  plugins: [gzipBudget(EMBED_GZIP_BUDGET)],
});
