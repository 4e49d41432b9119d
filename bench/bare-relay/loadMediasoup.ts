/**
 * Loads mediasoup with the same worker binary as callwire's WorkerPool: mediasoup reads
 * MEDIASOUP_WORKER_BIN once, when first imported, so it is pointed at the worker that
 * `npm install` built or downloaded (scripts/mediasoup/) first. Whichever of callwire and the bare
 * relay loads mediasoup first in a process, both then run the very same binary.
 */
import type * as mediasoupModule from 'mediasoup';
export type Mediasoup = typeof mediasoupModule;

export async function loadMediasoup(): Promise<Mediasoup> {
  if (!process.env['MEDIASOUP_WORKER_BIN']) {
    const { getMediasoupWorkerPath } = await import('../../scripts/mediasoup/worker-path.mjs');
    process.env['MEDIASOUP_WORKER_BIN'] = getMediasoupWorkerPath();
  }
  return import('mediasoup');
}
