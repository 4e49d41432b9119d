// Types for worker-path.mjs (locates a usable mediasoup-worker binary).

export interface WorkerPathOptions {
  /** Project root whose node_modules holds mediasoup. Default: repo root. */
  projectRoot?: string;
  /** Ignore an already-set MEDIASOUP_WORKER_BIN. Default: false. */
  ignoreEnv?: boolean;
}

/**
 * Absolute path of a runnable mediasoup-worker: $MEDIASOUP_WORKER_BIN if set
 * and runnable, else node_modules/mediasoup/worker/out/Release/mediasoup-worker,
 * else the cached source build. Throws an Error telling the user to run
 * `node scripts/mediasoup/install-worker.mjs` when none is usable.
 * Typical use: `process.env.MEDIASOUP_WORKER_BIN = getMediasoupWorkerPath();`
 * before `mediasoup.createWorker()`.
 */
export function getMediasoupWorkerPath(options?: WorkerPathOptions): string;
export default getMediasoupWorkerPath;

/** True if the binary exists and exits 41 when run without MEDIASOUP_VERSION. */
export function isRunnableWorker(bin: string): boolean;

/** Installed mediasoup package directory and version (does not load it). */
export function findMediasoupPackage(projectRoot?: string): { dir: string; version: string };

/** Cache directory and binary path for a mediasoup version. */
export function cachedWorker(version: string): { dir: string; bin: string };

/** Root of the cache: $CALLWIRE_MEDIASOUP_CACHE_DIR or ${XDG_CACHE_HOME:-~/.cache}/callwire/mediasoup-worker. */
export function cacheRoot(): string;

/** 12-hex-char hash of worker-build.patch + the build recipe (part of the cache key). */
export function patchHash(): string;

/** Where mediasoup looks for its worker by default. */
export function packagedWorkerPath(mediasoupDir: string): string;

export const SCRIPTS_DIR: string;
export const PATCH_FILE: string;
export const DEFAULT_PROJECT_ROOT: string;
export const BUILD_RECIPE: Readonly<{ meson: readonly string[]; targets: readonly string[] }>;
