// Side-effect module: sets process.env.MEDIASOUP_WORKER_BIN to a usable worker.
//
// mediasoup reads MEDIASOUP_WORKER_BIN ONCE, when its Worker module is first
// loaded (mediasoup.workerBin), so this must run BEFORE anything imports
// 'mediasoup'. Either import it first in the entry point:
//
//   import '../../scripts/mediasoup/register.mjs'; // before any mediasoup import
//
// or preload it: node --import ./scripts/mediasoup/register.mjs server/src/main.ts
//
// Throws (with instructions) if no usable worker exists.
import { getMediasoupWorkerPath } from './worker-path.mjs';

process.env.MEDIASOUP_WORKER_BIN = getMediasoupWorkerPath();
