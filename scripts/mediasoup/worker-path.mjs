// Locates a usable mediasoup-worker binary for callwire.
//
// Plain Node ESM with no dependencies: it is imported both by the server at
// run time and by install-worker.mjs during `npm install`.
//
// Lookup order (first runnable one wins):
//   1. $MEDIASOUP_WORKER_BIN, if the environment already sets it;
//   2. the worker inside the mediasoup package
//      (node_modules/mediasoup/worker/out/Release/mediasoup-worker), i.e. a
//      prebuilt binary fetched by mediasoup / install-worker.mjs;
//   3. the worker that install-worker.mjs built from source, cached outside
//      the repo in <cache>/callwire/mediasoup-worker/<version>-<hash>/.
//
// "Runnable" means: executing it without MEDIASOUP_VERSION exits with code 41,
// which is what mediasoup's own postinstall uses to validate a prebuilt.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Directory holding this script, the patch and the build recipe. */
export const SCRIPTS_DIR = HERE;
/** The patch applied to mediasoup's worker sources before building. */
export const PATCH_FILE = path.join(HERE, 'worker-build.patch');
/** Default project root: two levels above scripts/mediasoup/. */
export const DEFAULT_PROJECT_ROOT = path.resolve(HERE, '..', '..');

/**
 * Everything that changes the built binary besides mediasoup's own sources.
 * Part of the cache key: editing any of it yields a new cache directory.
 */
export const BUILD_RECIPE = Object.freeze({
  meson: ['--buildtype', 'release', '-Db_ndebug=true', '--wrap-mode=nodownload', '-Dms_disable_liburing=true'],
  targets: ['flatbuffers-generator', 'mediasoup-worker'],
});

const runnableMemo = new Map();

/**
 * Locate the installed mediasoup package (without loading it).
 * mediasoup's "exports" hides package.json, so walk the resolution paths.
 * @param {string} [projectRoot]
 * @returns {{ dir: string, version: string }}
 */
export function findMediasoupPackage(projectRoot = DEFAULT_PROJECT_ROOT) {
  const require = createRequire(path.join(projectRoot, 'package.json'));
  const candidates = require.resolve.paths('mediasoup') ?? [];

  for (const nodeModules of candidates) {
    const pkgJson = path.join(nodeModules, 'mediasoup', 'package.json');

    if (fs.existsSync(pkgJson)) {
      const pkg = JSON.parse(fs.readFileSync(pkgJson, 'utf8'));

      return { dir: path.dirname(pkgJson), version: String(pkg.version) };
    }
  }

  throw new Error(`mediasoup is not installed (looked from ${projectRoot}); run \`npm install\` first`);
}

/** Hash of the patch + build recipe (12 hex chars). */
export function patchHash() {
  const h = createHash('sha256');

  h.update(fs.readFileSync(PATCH_FILE));
  h.update(JSON.stringify(BUILD_RECIPE));

  return h.digest('hex').slice(0, 12);
}

/** Root of callwire's mediasoup-worker cache. */
export function cacheRoot() {
  if (process.env.CALLWIRE_MEDIASOUP_CACHE_DIR) {
    return path.resolve(process.env.CALLWIRE_MEDIASOUP_CACHE_DIR);
  }

  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache');

  return path.join(base, 'callwire', 'mediasoup-worker');
}

/**
 * Cache directory and binary path for a mediasoup version.
 * @param {string} version
 */
export function cachedWorker(version) {
  const dir = path.join(cacheRoot(), `${version}-${patchHash()}`);

  return { dir, bin: path.join(dir, 'mediasoup-worker') };
}

/**
 * Path where mediasoup itself looks for its worker by default.
 * @param {string} mediasoupDir
 */
export function packagedWorkerPath(mediasoupDir) {
  return path.join(mediasoupDir, 'worker', 'out', 'Release', 'mediasoup-worker');
}

/**
 * True if `bin` exists and runs on this host (exits 41 without MEDIASOUP_VERSION).
 * @param {string} bin
 */
export function isRunnableWorker(bin) {
  if (runnableMemo.has(bin)) {
    return runnableMemo.get(bin);
  }

  let ok = false;

  try {
    fs.accessSync(bin, fs.constants.X_OK);

    const res = spawnSync(bin, [], {
      env: {},
      stdio: 'ignore',
      timeout: 10_000,
    });

    ok = res.status === 41;
  } catch {
    ok = false;
  }

  // Only remember successes: a failing binary may be replaced by a build.
  if (ok) {
    runnableMemo.set(bin, true);
  }

  return ok;
}

/**
 * Absolute path of a usable mediasoup-worker binary.
 * @param {{ projectRoot?: string, ignoreEnv?: boolean }} [options]
 * @returns {string}
 */
export function getMediasoupWorkerPath(options = {}) {
  const projectRoot = options.projectRoot ?? DEFAULT_PROJECT_ROOT;
  const tried = [];
  const fromEnv = process.env.MEDIASOUP_WORKER_BIN;

  if (fromEnv && !options.ignoreEnv) {
    const bin = path.resolve(fromEnv);

    if (isRunnableWorker(bin)) {
      return bin;
    }

    tried.push(`${bin} (from MEDIASOUP_WORKER_BIN)`);
  }

  const { dir, version } = findMediasoupPackage(projectRoot);
  const packaged = packagedWorkerPath(dir);

  if (isRunnableWorker(packaged)) {
    return packaged;
  }

  tried.push(packaged);

  const { bin } = cachedWorker(version);

  if (isRunnableWorker(bin)) {
    return bin;
  }

  tried.push(bin);

  const installer = path.relative(process.cwd(), path.join(HERE, 'install-worker.mjs'));

  throw new Error(
    `No usable mediasoup-worker binary for mediasoup ${version}. Looked at:\n` +
      tried.map((t) => `  - ${t}`).join('\n') +
      `\nRun \`node ${installer || 'scripts/mediasoup/install-worker.mjs'}\` ` +
      '(it runs automatically on `npm install`) to fetch or build one.',
  );
}

export default getMediasoupWorkerPath;
