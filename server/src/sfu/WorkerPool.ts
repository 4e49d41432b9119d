/**
 * mediasoup workers, one per core by default, each with a WebRtcServer so all of a worker's media
 * uses one UDP and one TCP port (ICE-TCP works where UDP is blocked). Routers go to the
 * least-loaded worker. A worker that dies is replaced on the same ports and `workerDied` tells
 * the owner which routers were lost.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from '../logger.ts';
import { MEDIA_CODECS } from './mediaCodecs.ts';
import type * as mediasoupModule from 'mediasoup';

export interface WorkerPoolOptions {
  size: number;
  listenIp: string;
  announcedAddress: string | undefined;
  /** Worker i listens on rtcPort + i. */
  rtcPort: number;
  logger: Logger;
}

export class WorkerSlot {
  readonly routers = new Set<types.Router>();
  constructor(
    readonly index: number,
    readonly worker: types.Worker,
    readonly webRtcServer: types.WebRtcServer,
  ) {}

  get pid(): number {
    return this.worker.pid;
  }

  /** Load estimate: consumers dominate a worker's CPU; routers break ties. */
  load(consumers: (r: types.Router) => number): number {
    let n = 0;
    for (const r of this.routers) n += 1 + consumers(r);
    return n;
  }
}

export type WorkerPoolEvents = {
  /** The worker's routers are closed; a replacement is starting. */
  workerDied: [slot: WorkerSlot];
};

type Mediasoup = typeof mediasoupModule;

export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  readonly #slots: (WorkerSlot | null)[];
  readonly #consumerCounts = new WeakMap<types.Router, number>();
  #closed = false;

  private constructor(
    private readonly mediasoup: Mediasoup,
    private readonly options: WorkerPoolOptions,
  ) {
    super();
    this.#slots = new Array<WorkerSlot | null>(options.size).fill(null);
  }

  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    const mediasoup = await loadMediasoup();
    const pool = new WorkerPool(mediasoup, options);
    try {
      for (let i = 0; i < options.size; i++) pool.#slots[i] = await pool.#spawn(i);
    } catch (err) {
      pool.close();
      throw err;
    }
    return pool;
  }

  get slots(): WorkerSlot[] {
    return this.#slots.filter((s): s is WorkerSlot => s !== null);
  }

  /** Tells the pool how many consumers a router has (for placement). */
  /** Consumers on one worker's routers (as the rooms last counted them). */
  consumersOn(slot: WorkerSlot): number {
    let n = 0;
    for (const r of slot.routers) n += this.#consumerCounts.get(r) ?? 0;
    return n;
  }

  setConsumerCount(router: types.Router, n: number): void {
    this.#consumerCounts.set(router, n);
  }

  async createRouter(): Promise<{ router: types.Router; slot: WorkerSlot }> {
    // Right after a crash the replacement may still be starting: wait for it a little.
    for (let i = 0; i < 100 && this.slots.length === 0 && !this.#closed; i++) await new Promise((r) => setTimeout(r, 100));
    const slots = this.slots;
    if (slots.length === 0) throw new Error('no mediasoup worker is running');
    const count = (r: types.Router) => this.#consumerCounts.get(r) ?? 0;
    const slot = slots.reduce((best, s) => (s.load(count) < best.load(count) ? s : best));
    const router = await slot.worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    slot.routers.add(router);
    router.observer.once('close', () => slot.routers.delete(router));
    return { router, slot };
  }

  close(): void {
    this.#closed = true;
    for (const s of this.slots) s.worker.close();
    this.#slots.fill(null);
    this.removeAllListeners();
  }

  async #spawn(index: number): Promise<WorkerSlot> {
    const { listenIp, announcedAddress, rtcPort, logger } = this.options;
    const worker = await this.mediasoup.createWorker({ logLevel: 'warn', disableLiburing: true });
    let webRtcServer: types.WebRtcServer;
    try {
      const port = rtcPort + index;
      webRtcServer = await worker.createWebRtcServer({
        listenInfos: [
          { protocol: 'udp', ip: listenIp, announcedAddress, port },
          { protocol: 'tcp', ip: listenIp, announcedAddress, port },
        ],
      });
    } catch (err) {
      worker.close();
      throw new Error(`SFU worker ${index}: cannot listen on ${listenIp}:${rtcPort + index}: ${(err as Error).message}`);
    }
    const slot = new WorkerSlot(index, worker, webRtcServer);
    worker.on('died', (error) => {
      logger.error(`mediasoup worker ${index} (pid ${worker.pid}) died: ${error.message}; replacing it`);
      this.#slots[index] = null;
      this.emit('workerDied', slot);
      void this.#replace(index);
    });
    logger.info(`mediasoup worker ${index} (pid ${worker.pid}) on ${announcedAddress ?? listenIp}:${rtcPort + index} udp+tcp`);
    return slot;
  }

  /** Retries a bounded number of times: the dead worker's ports may take a moment to free. */
  async #replace(index: number): Promise<void> {
    for (let attempt = 1; attempt <= 20 && !this.#closed; attempt++) {
      try {
        const slot = await this.#spawn(index);
        if (this.#closed) return slot.worker.close();
        this.#slots[index] = slot;
        return;
      } catch (err) {
        this.options.logger.warn(`replacing worker ${index}, attempt ${attempt}: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 250 * attempt));
      }
    }
  }
}

/**
 * mediasoup reads MEDIASOUP_WORKER_BIN once, when first loaded: point it at the worker that
 * `npm install` built or downloaded (scripts/mediasoup/) before importing it.
 */
async function loadMediasoup(): Promise<Mediasoup> {
  if (!process.env['MEDIASOUP_WORKER_BIN']) {
    const { getMediasoupWorkerPath } = await import('../../../scripts/mediasoup/worker-path.mjs');
    process.env['MEDIASOUP_WORKER_BIN'] = getMediasoupWorkerPath();
  }
  return import('mediasoup');
}
