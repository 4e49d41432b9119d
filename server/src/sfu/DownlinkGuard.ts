/**
 * Loss-based layer selection per receiver, on top of mediasoup's own.
 *
 * mediasoup chooses each receiver's simulcast layers from a delay-based bandwidth estimate. A link
 * that drops packets without queueing them first (a policer, a congested radio cell) never shows
 * delay: measured here under a 300 kbit/s cap, mediasoup kept estimating 3.2 Mbit/s, kept the top
 * layer, and retransmitted into the loss — 10.9 Mbit/s sent, 96 % lost, not one frame decoded.
 *
 * Every 2 s this reads each receiver's loss (`rtpPacketLossSent` of their recv transport: what
 * their receiver reports say). Loss of LOSS_HIGH or more in two reads in a row steps all their
 * video down one rung: first the spatial layer, then the frame rate (temporal layers). Five clean
 * reads in a row step back up one rung; when that brings the loss back, the next try waits twice
 * as long (up to a minute), so a link at its limit is not probed into loss every 10 s. A step
 * down that leaves the loss where it was is undone: that is random loss on the path, which
 * sending less does not cure (retransmission and FEC handle it), so the picture stays. The receiver's own wish (the layer its tile needs,
 * `sfu.setPreferredLayers`) is always the ceiling: the guard only ever lowers it.
 */
import type { types } from 'mediasoup';
import type { ConsumerMeta, SfuPeer } from './SfuPeer.ts';

export const LOSS_HIGH = 0.1;
export const LOSS_LOW = 0.03;
const DOWN_AFTER = 2;
/** Loss this high is a full link, never random loss on the path. */
const CONGESTED = 0.5;
const UP_AFTER = 5;
/** Clean reads needed before trying again after a step up that failed, at most (60 s). */
const UP_AFTER_MAX = 30;

interface PeerState {
  /** Rungs below the receiver's wish (0: no cap). */
  level: number;
  bad: number;
  good: number;
  /** Clean reads before the next step up: doubles each time a step up brings the loss back. */
  upAfter: number;
  /** The last change was a step up (so a step down now means it did not fit). */
  probing: boolean;
  /** Mean loss of the reads that made us step down last (to see whether it helped). */
  lossAtStep: number | null;
  /** Stepping down did not lower the loss: it is not congestion (random loss on the path). */
  futile: boolean;
  /** A step down lowered the loss: the link is full, so keep stepping while it stays lossy. */
  congested: boolean;
  /** Loss of the last lossy reads in a row (at most DOWN_AFTER). */
  recent: number[];
}

type Consumer = types.Consumer<ConsumerMeta>;

export class DownlinkGuard {
  readonly #state = new WeakMap<SfuPeer, PeerState>();
  readonly #timer: NodeJS.Timeout;
  #busy = false;
  #closed = false;

  constructor(
    private readonly peers: () => Iterable<SfuPeer>,
    intervalMs = 2_000,
  ) {
    this.#timer = setInterval(() => void this.poll(), intervalMs);
    this.#timer.unref();
  }

  /** The layers a consumer should get now: its receiver's wish, lowered by that receiver's rung. */
  layersFor(peer: SfuPeer, consumer: Consumer): { spatialLayer: number; temporalLayer: number } {
    const wish = wishOf(consumer);
    const temporalTop = temporalLayersOf(consumer) - 1;
    const level = this.#state.get(peer)?.level ?? 0;
    const spatialLayer = Math.max(0, wish - level);
    const temporalLayer = Math.max(0, temporalTop - Math.max(0, level - wish));
    return { spatialLayer, temporalLayer };
  }

  /** One round (the timer calls it; public for tests). Never throws; rounds never overlap. */
  async poll(): Promise<void> {
    if (this.#busy || this.#closed) return;
    this.#busy = true;
    try {
      for (const peer of [...this.peers()]) {
        const layered = [...peer.consumers.values()].filter((c) => c.type === 'simulcast' || c.type === 'svc');
        if (!peer.recv || layered.length === 0) continue;
        const stats = await peer.recv.getStats().catch(() => null);
        if (this.#closed) return;
        const loss = stats?.[0]?.rtpPacketLossSent;
        if (typeof loss !== 'number') continue;
        const s = this.#state.get(peer) ?? {
          level: 0,
          bad: 0,
          good: 0,
          upAfter: UP_AFTER,
          probing: false,
          lossAtStep: null,
          futile: false,
          congested: false,
          recent: [],
        };
        this.#state.set(peer, s);
        if (loss >= LOSS_HIGH) {
          s.bad++;
          s.good = 0;
          s.recent = [...s.recent, loss].slice(-DOWN_AFTER);
        } else if (loss < LOSS_LOW) {
          s.good++;
          s.bad = 0;
          s.recent = [];
          s.futile = false; // a clean link: whatever comes next is news
          s.congested = false;
        } else {
          s.bad = 0;
          s.good = 0;
          s.recent = [];
        }
        const deepest = Math.max(...layered.map((c) => this.#deepest(c)));
        const meanLoss = s.recent.length ? s.recent.reduce((a, b) => a + b, 0) / s.recent.length : 0;
        // Random loss (a lossy radio, not a full queue) does not fall when we send less: if the
        // last step down left the loss where it was, undo it and stop stepping down until the
        // link changes (clean, or clearly worse). Lower layers would only cost picture.
        if (s.futile && s.lossAtStep !== null && meanLoss > 1.5 * s.lossAtStep) s.futile = false;
        // Did the last step down help? Judged on twice the reads (receiver reports lag), and only
        // below CONGESTED: a link losing that much is full, whatever the last step showed. Once a
        // step has helped, the link is full: later steps that help less do not make it random.
        const helped = s.lossAtStep !== null && s.bad >= DOWN_AFTER && meanLoss < 0.7 * s.lossAtStep;
        if (helped) s.congested = true;
        const unhelped = s.lossAtStep !== null && !s.probing && !s.congested && s.level > 0 && meanLoss >= 0.7 * s.lossAtStep && meanLoss < CONGESTED;
        let next = s.level;
        if (unhelped && s.bad >= 2 * DOWN_AFTER) {
          s.futile = true;
          next = s.level - 1;
        } else if (unhelped && s.bad >= DOWN_AFTER)
          continue; // wait for the second look
        else if (s.bad >= DOWN_AFTER && s.level < deepest && !s.futile) next = s.level + 1;
        else if (s.good >= s.upAfter && s.level > 0) next = s.level - 1;
        if (next === s.level) continue;
        if (next > s.level && s.probing) s.upAfter = Math.min(UP_AFTER_MAX, s.upAfter * 2);
        s.probing = next < s.level && !s.futile;
        s.lossAtStep = next > s.level ? meanLoss : s.futile ? s.lossAtStep : null;
        // After a change, the next reads still carry the old loss: start counting afresh.
        s.level = next;
        s.bad = 0;
        s.good = 0;
        s.recent = [];
        for (const c of layered) if (!c.closed) await c.setPreferredLayers(this.layersFor(peer, c)).catch(() => {});
      }
    } finally {
      this.#busy = false;
    }
  }

  /** How many rungs a consumer has below its wish (spatial steps, then temporal ones). */
  #deepest(c: Consumer): number {
    return wishOf(c) + temporalLayersOf(c) - 1;
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }
}

/** The spatial layer the receiver asked for (its tile size; 1 until it says). */
function wishOf(c: Consumer): number {
  return typeof c.appData['wantSpatial'] === 'number' ? c.appData['wantSpatial'] : 1;
}

/** Temporal layers the sender's encoding has (`L1T3` → 3), 1 when it says none. */
function temporalLayersOf(c: Consumer): number {
  const mode = c.rtpParameters.encodings?.[0]?.scalabilityMode ?? '';
  const m = /T(\d)/.exec(mode);
  return m ? Math.max(1, Number(m[1])) : 1;
}
