#!/usr/bin/env node
// Makes sure a runnable mediasoup-worker binary exists for the installed
// mediasoup package. Runs as callwire's root `postinstall`; also usable by hand:
//
//   node scripts/mediasoup/install-worker.mjs            # idempotent
//   node scripts/mediasoup/install-worker.mjs --force    # rebuild from source
//
// Steps (first success wins):
//   1. a runnable worker already in node_modules/mediasoup/worker/out/Release/
//   2. a runnable worker in the cache
//      ${XDG_CACHE_HOME:-~/.cache}/callwire/mediasoup-worker/<version>-<hash>/
//   3. mediasoup's prebuilt download (same URL scheme as mediasoup's own
//      postinstall), with a short timeout; the binary must run on this host
//   4. build from the worker sources shipped in the mediasoup npm tarball,
//      against Debian's system libraries: copy the sources to a temporary
//      build dir, apply worker-build.patch, meson + ninja, verify, and store
//      the binary in the cache (atomic rename).
//
// See docs/mediasoup-install.md. Plain Node ESM, builtins only.
//
// Environment:
//   CALLWIRE_MEDIASOUP_CACHE_DIR           override the cache root
//   CALLWIRE_MEDIASOUP_DOWNLOAD_TIMEOUT_MS prebuilt download timeout (15000)
//   MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD=1   skip step 3 (mediasoup's name)
//   MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL  mirror for step 3 (mediasoup's name)
//   CALLWIRE_MEDIASOUP_SKIP=1              do nothing (exit 0)
//   CALLWIRE_MEDIASOUP_KEEP_BUILD=1        keep the build dir after the build

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

import { BUILD_RECIPE, PATCH_FILE, cacheRoot, cachedWorker, findMediasoupPackage, isRunnableWorker, packagedWorkerPath, patchHash } from './worker-path.mjs';

/** Debian packages needed to build the worker (bookworm names). */
export const APT_PACKAGES = [
  'build-essential',
  'pkg-config',
  'patch',
  'meson',
  'ninja-build',
  'flatbuffers-compiler',
  'libssl-dev',
  'libuv1-dev',
  'libsrtp2-dev',
  'libusrsctp-dev',
  'libabsl-dev',
  'libflatbuffers-dev',
];

const TAG = '[callwire mediasoup-worker]';
const T0 = Date.now();

function elapsed(since = T0) {
  const s = Math.round((Date.now() - since) / 1000);

  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** @param {string} msg */
function log(msg) {
  console.log(`${TAG} ${msg}`);
}

class InstallError extends Error {}

/** @param {string} msg @returns {never} */
function fail(msg) {
  throw new InstallError(msg);
}

function usage() {
  console.log(`Usage: node scripts/mediasoup/install-worker.mjs [--force] [--no-download]

Ensures a runnable mediasoup-worker exists (prebuilt or built from the
mediasoup npm tarball's sources against Debian libraries, cached in
${cacheRoot()}).

  --force        ignore existing/cached workers and rebuild from source
  --no-download  do not try mediasoup's prebuilt download
  -h, --help     this help`);
}

// ---------------------------------------------------------------------------
// Step 3: mediasoup's prebuilt binary.

/** @typedef {{ dir: string, version: string }} MediasoupPackage */

/** @param {MediasoupPackage} ms @param {{ repository?: { url?: string } }} pkg */
async function tryPrebuiltDownload(ms, pkg) {
  if (process.env.MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD) {
    log('prebuilt download skipped (MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD)');

    return false;
  }

  const base =
    process.env.MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL ||
    `${String(pkg.repository?.url ?? 'git+https://github.com/versatica/mediasoup.git')
      .replace(/^git\+/, '')
      .replace(/\.git$/, '')}/releases/download`;
  let name = `mediasoup-worker-${ms.version}-${os.platform()}-${os.arch()}`;

  if (os.platform() === 'linux') {
    name += `-kernel${Number(os.release().split('.')[0])}`;
  }

  const url = `${base}/${ms.version}/${name}.tgz`;
  const timeoutMs = Number(process.env.CALLWIRE_MEDIASOUP_DOWNLOAD_TIMEOUT_MS) || 15_000;

  log(`trying mediasoup's prebuilt worker (timeout ${timeoutMs / 1000}s): ${url}`);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'callwire-ms-prebuilt-'));

  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });

    if (!res.ok) {
      log(`no prebuilt worker: HTTP ${res.status}`);

      return false;
    }

    const tgz = path.join(tmp, 'worker.tgz');

    fs.writeFileSync(tgz, Buffer.from(await res.arrayBuffer()));

    const tar = spawnSync('tar', ['-xzf', tgz, '-C', tmp], { encoding: 'utf8' });
    const bin = path.join(tmp, 'mediasoup-worker');

    if (tar.status !== 0 || !fs.existsSync(bin)) {
      log(`prebuilt archive unusable: ${tar.stderr || 'no mediasoup-worker inside'}`);

      return false;
    }

    fs.chmodSync(bin, 0o755);

    if (!isRunnableWorker(bin)) {
      log('prebuilt worker does not run on this host (libc/kernel mismatch?)');

      return false;
    }

    const dest = packagedWorkerPath(ms.dir);

    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(bin, `${dest}.tmp`);
    fs.chmodSync(`${dest}.tmp`, 0o755);
    fs.renameSync(`${dest}.tmp`, dest);
    log(`prebuilt worker installed: ${dest}`);

    return true;
  } catch (error) {
    const e = /** @type {{ cause?: { code?: string, message?: string }, name?: string }} */ (error);
    const cause = e?.cause?.code ?? e?.cause?.message ?? e?.name;

    log(`prebuilt download failed (${cause ?? error}); will build from source`);

    return false;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// Step 4a: system packages.

/** @param {string} cmd */
function hasCommand(cmd) {
  return spawnSync('sh', ['-c', `command -v "${cmd}"`], { stdio: 'ignore' }).status === 0;
}

function missingAptPackages() {
  if (!hasCommand('dpkg-query')) {
    return null; // not Debian-like; checked by tools below
  }

  return APT_PACKAGES.filter((p) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' });

    return r.status !== 0 || !r.stdout.includes('install ok installed');
  });
}

function aptListsPresent() {
  try {
    return fs.readdirSync('/var/lib/apt/lists').some((f) => f.includes('_Packages'));
  } catch {
    return false;
  }
}

/** @param {string} cmd @param {string[]} args @param {string} logFile @param {import('node:child_process').SpawnSyncOptions} [opts] */
function runLogged(cmd, args, logFile, opts = {}) {
  const fd = fs.openSync(logFile, 'a');

  fs.writeSync(fd, `\n$ ${cmd} ${args.join(' ')}\n`);

  const r = spawnSync(cmd, args, { stdio: ['ignore', fd, fd], ...opts });

  fs.closeSync(fd);

  return r.status === 0;
}

/** @param {string} file */
function tail(file, lines = 40) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** @param {string} logFile */
function ensureSystemPackages(logFile) {
  const missing = missingAptPackages();

  if (missing && missing.length > 0) {
    const cmd = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
    const isRoot = process.getuid?.() === 0;

    if (!isRoot) {
      fail(
        `missing Debian packages needed to build mediasoup-worker: ${missing.join(' ')}\n` +
          `Install them, then re-run \`npm install\` (or \`node scripts/mediasoup/install-worker.mjs\`):\n` +
          `  sudo apt-get update && sudo ${cmd}`,
      );
    }

    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    // Wait for another apt/dpkg run (system-deps.sh, unattended upgrades) instead of failing.
    const lock = ['-o', 'DPkg::Lock::Timeout=600'];
    const t = Date.now();

    if (!aptListsPresent()) {
      log('step: apt-get update (no package lists yet)');
      runLogged('apt-get', ['update'], logFile, { env });
    }

    log(`step: installing Debian packages: ${missing.join(' ')}`);

    let ok = runLogged('apt-get', [...lock, 'install', '-y', '--no-install-recommends', ...missing], logFile, { env });

    if (!ok) {
      log('apt-get install failed; running apt-get update and retrying');
      runLogged('apt-get', ['update'], logFile, { env });
      ok = runLogged('apt-get', [...lock, 'install', '-y', '--no-install-recommends', ...missing], logFile, { env });
    }

    if (!ok) {
      fail(`\`${cmd}\` failed:\n${tail(logFile, 20)}\n(full log: ${logFile})`);
    }

    log(`Debian packages installed (${elapsed(t)})`);
  }

  const tools = ['meson', 'ninja', 'pkg-config', 'flatc', 'c++', 'patch'];
  const absent = tools.filter((t) => !hasCommand(t));

  if (absent.length > 0) {
    fail(`missing build tools: ${absent.join(', ')}. On Debian/Ubuntu install: ` + `apt-get install -y --no-install-recommends ${APT_PACKAGES.join(' ')}`);
  }

  const mesonVersion = spawnSync('meson', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const [maj, min] = mesonVersion.split('.').map(Number);

  if (!(maj > 1 || (maj === 1 && min >= 0))) {
    fail(`meson ${mesonVersion} is too old; need >= 1.0.0`);
  }
}

// ---------------------------------------------------------------------------
// Step 4b-f: build.

/** @param {MediasoupPackage} ms @param {string} dest */
function copyWorkerSources(ms, dest) {
  const src = path.join(ms.dir, 'worker');
  const skip = new Set(['out', 'prebuild', 'pip_invoke', 'packagecache']);

  fs.cpSync(src, dest, {
    recursive: true,
    filter: (p) => !skip.has(path.basename(p)),
  });
}

/** Runs a build command, streaming ninja progress as periodic log lines. */
/** @param {string} label @param {string} cmd @param {string[]} args @param {string} logFile @param {string} cwd @returns {Promise<void>} */
function runStep(label, cmd, args, logFile, cwd) {
  return new Promise((resolve, reject) => {
    const t = Date.now();
    const out = fs.createWriteStream(logFile, { flags: 'a' });

    out.write(`\n$ ${cmd} ${args.join(' ')}\n`);
    log(`step: ${label} ...`);

    const child = spawn(cmd, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NINJA_STATUS: '[%f/%t] ' },
    });
    let done = 0;
    let total = 0;
    let buf = '';
    /** @param {Buffer} chunk */
    const onData = (chunk) => {
      out.write(chunk);
      buf += chunk.toString('utf8');

      let nl;

      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        const m = /^\[(\d+)\/(\d+)\]/.exec(line);

        buf = buf.slice(nl + 1);

        if (m) {
          done = Number(m[1]);
          total = Number(m[2]);
        }
      }
    };
    const timer = setInterval(() => {
      const progress = total ? ` ${done}/${total} (${Math.floor((100 * done) / total)}%)` : '';

      log(`  ${label}:${progress} ${elapsed(t)} (total ${elapsed()})`);
    }, 15_000);

    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (error) => {
      clearInterval(timer);
      out.end();
      reject(error);
    });
    child.on('close', (code) => {
      clearInterval(timer);
      out.end(() => {
        if (code === 0) {
          log(`  ${label}: done in ${elapsed(t)}`);
          resolve();
        } else {
          reject(new InstallError(`${label} failed (exit ${code}):\n${tail(logFile, 40)}`));
        }
      });
    });
  });
}

/** @param {string} lockFile */
function acquireLock(lockFile) {
  for (;;) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });

      return;
    } catch (error) {
      if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'EEXIST') {
        throw error;
      }

      const pid = Number(fs.readFileSync(lockFile, 'utf8'));
      let alive = false;

      try {
        alive = pid > 0 && process.kill(pid, 0);
      } catch (e) {
        alive = /** @type {NodeJS.ErrnoException} */ (e).code === 'EPERM';
      }

      if (alive) {
        return 'busy';
      }

      fs.rmSync(lockFile, { force: true });
    }
  }
}

/** @param {string} lockFile @param {string} bin */
async function waitForOtherBuild(lockFile, bin) {
  log(`another install (pid ${fs.readFileSync(lockFile, 'utf8')}) is building; waiting ...`);

  while (fs.existsSync(lockFile)) {
    await new Promise((r) => setTimeout(r, 2000));
  }

  return isRunnableWorker(bin);
}

/** @param {MediasoupPackage} ms */
async function buildFromSource(ms) {
  const { dir: cacheDir, bin } = cachedWorker(ms.version);
  const root = cacheRoot();

  fs.mkdirSync(root, { recursive: true });

  const lockFile = path.join(root, `${path.basename(cacheDir)}.lock`);

  if (acquireLock(lockFile) === 'busy') {
    if (await waitForOtherBuild(lockFile, bin)) {
      log(`the other install finished; using ${bin}`);

      return bin;
    }

    acquireLock(lockFile);
  }

  const buildDir = fs.mkdtempSync(path.join(root, `.build-${path.basename(cacheDir)}-`));
  const logFile = path.join(buildDir, 'build.log');
  const keep = Boolean(process.env.CALLWIRE_MEDIASOUP_KEEP_BUILD);
  let ok = false;

  try {
    log(`building mediasoup-worker ${ms.version} from source (typically 4-9 min on 2 cores); log: ${logFile}`);
    ensureSystemPackages(logFile);

    log('step: copying worker sources from the mediasoup package and applying worker-build.patch');

    const src = path.join(buildDir, 'worker');

    copyWorkerSources(ms, src);

    if (!runLogged('patch', ['-p1', '--forward', '--batch', '-d', src, '-i', PATCH_FILE], logFile)) {
      fail(`worker-build.patch does not apply to mediasoup ${ms.version} ` + `(it was written for 3.19.3):\n${tail(logFile, 20)}`);
    }

    const out = path.join(buildDir, 'out');
    const jobs = String(Math.max(1, os.availableParallelism?.() ?? os.cpus().length));

    await runStep('meson setup', 'meson', ['setup', ...BUILD_RECIPE.meson, out, src], logFile, buildDir);

    for (const target of BUILD_RECIPE.targets) {
      await runStep(`compile ${target}`, 'meson', ['compile', '-C', out, '-j', jobs, target], logFile, buildDir);
    }

    const built = path.join(out, 'mediasoup-worker');

    log('step: verifying the built binary');

    if (!isRunnableWorker(built)) {
      fail(`the built ${built} does not run (expected exit code 41); see ${logFile}`);
    }

    fs.mkdirSync(cacheDir, { recursive: true });
    fs.copyFileSync(built, `${bin}.tmp`);
    fs.chmodSync(`${bin}.tmp`, 0o755);
    fs.renameSync(`${bin}.tmp`, bin);
    fs.copyFileSync(logFile, path.join(cacheDir, 'build.log'));
    fs.writeFileSync(
      path.join(cacheDir, 'build-info.json'),
      JSON.stringify(
        {
          mediasoup: ms.version,
          patchHash: patchHash(),
          recipe: BUILD_RECIPE,
          builtAt: new Date().toISOString(),
          buildSeconds: Math.round((Date.now() - T0) / 1000),
          node: process.version,
        },
        null,
        2,
      ) + '\n',
    );
    ok = true;
    log(`built and cached: ${bin} (${elapsed()})`);

    return bin;
  } finally {
    if (!ok) {
      const saved = path.join(root, `last-failed-build-${ms.version}.log`);

      try {
        fs.copyFileSync(logFile, saved);
        log(`build log saved to ${saved}`);
      } catch {
        /* the log is a convenience: a failed copy changes nothing */
      }
    }

    if (!keep) {
      fs.rmSync(buildDir, { recursive: true, force: true });
    }

    fs.rmSync(lockFile, { force: true });
  }
}

// ---------------------------------------------------------------------------

export async function main(argv = process.argv.slice(2)) {
  const opts = { force: false, download: true };

  for (const a of argv) {
    if (a === '--force') opts.force = true;
    else if (a === '--no-download') opts.download = false;
    else if (a === '-h' || a === '--help') return usage();
    else fail(`unknown argument: ${a} (see --help)`);
  }

  if (process.env.CALLWIRE_MEDIASOUP_SKIP) {
    log('CALLWIRE_MEDIASOUP_SKIP set; doing nothing');

    return;
  }

  const ms = findMediasoupPackage();
  const pkg = JSON.parse(fs.readFileSync(path.join(ms.dir, 'package.json'), 'utf8'));
  const cached = cachedWorker(ms.version);

  log(`mediasoup ${ms.version} at ${ms.dir}`);

  if (!opts.force) {
    const envBin = process.env.MEDIASOUP_WORKER_BIN;

    if (envBin && isRunnableWorker(path.resolve(envBin))) {
      log(`using MEDIASOUP_WORKER_BIN=${envBin}; nothing to do`);

      return;
    }

    const packaged = packagedWorkerPath(ms.dir);

    if (isRunnableWorker(packaged)) {
      log(`worker present in the mediasoup package: ${packaged}`);

      return;
    }

    if (isRunnableWorker(cached.bin)) {
      log(`cached worker OK: ${cached.bin}`);

      return;
    }

    if (opts.download && (await tryPrebuiltDownload(ms, pkg))) {
      return;
    }
  } else {
    log('--force: rebuilding from source');
  }

  await buildFromSource(ms);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error) => {
    const msg = error instanceof InstallError ? error.message : (error?.stack ?? String(error));

    console.error(`${TAG} ERROR after ${elapsed()}: ${msg}`);
    process.exitCode = 1;
  });
}
