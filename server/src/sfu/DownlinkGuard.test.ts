import { describe, expect, it } from 'vitest';
import { DownlinkGuard } from './DownlinkGuard.ts';
import type { SfuPeer } from './SfuPeer.ts';

/** A receiver with one two-layer, three-temporal-layer video consumer, and a link whose loss the test sets. */
function receiver() {
  const set: { spatialLayer: number; temporalLayer: number }[] = [];
  /** The loss the receiver reports; `congested` makes it depend on how much we send. */
  const link = {
    loss: 0,
    congested: false,
    now(): number {
      if (!this.congested) return this.loss;
      const l = set.at(-1) ?? { spatialLayer: 1, temporalLayer: 2 };
      return l.spatialLayer === 1 ? 0.4 : [0, 0.15, 0.25][l.temporalLayer]!;
    },
  };
  const consumer = {
    id: 'c1',
    type: 'simulcast',
    closed: false,
    appData: { wantSpatial: 1 } as Record<string, unknown>,
    rtpParameters: { encodings: [{ scalabilityMode: 'L2T3' }] },
    setPreferredLayers: async (l: { spatialLayer: number; temporalLayer: number }) => void set.push(l),
  };
  const peer = {
    recv: { getStats: async () => [{ rtpPacketLossSent: link.now() }] },
    consumers: new Map([['c1', consumer]]),
  } as unknown as SfuPeer;
  return { peer, link, set, consumer };
}

describe('DownlinkGuard (loss-based layers per receiver)', () => {
  it('steps a congested receiver down a spatial layer, then the frame rate, until the loss stops, and back up once the link is clear', async () => {
    const r = receiver();
    const guard = new DownlinkGuard(() => [r.peer], 1_000_000);
    r.link.congested = true; // the less we send, the less is lost
    await guard.poll();
    expect(r.set).toEqual([]); // one lossy read is a blip
    await guard.poll();
    expect(r.set.at(-1)).toEqual({ spatialLayer: 0, temporalLayer: 2 });
    await guard.poll();
    await guard.poll();
    expect(r.set.at(-1)).toEqual({ spatialLayer: 0, temporalLayer: 1 });
    await guard.poll();
    await guard.poll();
    expect(r.set.at(-1)).toEqual({ spatialLayer: 0, temporalLayer: 0 }); // this fits: no loss
    const steps = r.set.length;
    for (let i = 0; i < 4; i++) await guard.poll();
    expect(r.set).toHaveLength(steps);
    r.link.congested = false; // the bottleneck is gone
    r.link.loss = 0;
    for (let i = 0; i < 5; i++) await guard.poll();
    expect(r.set.at(-1)).toEqual({ spatialLayer: 0, temporalLayer: 1 });
    for (let i = 0; i < 10; i++) await guard.poll();
    expect(r.set.at(-1)).toEqual({ spatialLayer: 1, temporalLayer: 2 }); // back to what the receiver asked for
    guard.close();
  });

  it('never takes a full link (half the packets lost) for random loss', async () => {
    const r = receiver();
    const guard = new DownlinkGuard(() => [r.peer], 1_000_000);
    r.link.loss = 0.9;
    for (let i = 0; i < 8; i++) await guard.poll();
    expect(r.set.at(-1)).toEqual({ spatialLayer: 0, temporalLayer: 0 }); // all the way down, no undo
    guard.close();
  });

  it('holds while the loss is neither high nor clean', async () => {
    const r = receiver();
    const guard = new DownlinkGuard(() => [r.peer], 1_000_000);
    r.link.loss = 0.05;
    for (let i = 0; i < 10; i++) await guard.poll();
    expect(r.set).toEqual([]);
    guard.close();
  });

  it('never gives more than the receiver asked for', () => {
    const r = receiver();
    r.consumer.appData['wantSpatial'] = 0; // a thumbnail
    const guard = new DownlinkGuard(() => [r.peer], 1_000_000);
    expect(guard.layersFor(r.peer, r.consumer as never)).toEqual({ spatialLayer: 0, temporalLayer: 2 });
    guard.close();
  });
});

describe('DownlinkGuard backing off', () => {
  it('waits twice as long before the next step up when the last one brought the loss back', async () => {
    const r = receiver();
    const guard = new DownlinkGuard(() => [r.peer], 1_000_000);
    const lossy = async (n: number) => {
      r.link.loss = 0.3;
      r.link.congested = false;
      for (let i = 0; i < n; i++) await guard.poll();
    };
    const clean = async (n: number) => {
      r.link.loss = 0;
      for (let i = 0; i < n; i++) await guard.poll();
    };
    await lossy(2); // down to (0, 2)
    await clean(5); // up to (1, 2): a probe
    expect(r.set.at(-1)).toEqual({ spatialLayer: 1, temporalLayer: 2 });
    await lossy(2); // it did not fit: down again
    expect(r.set.at(-1)).toEqual({ spatialLayer: 0, temporalLayer: 2 });
    await clean(5);
    expect(r.set.at(-1)).toEqual({ spatialLayer: 0, temporalLayer: 2 }); // not yet: 10 clean reads now
    await clean(5);
    expect(r.set.at(-1)).toEqual({ spatialLayer: 1, temporalLayer: 2 });
    guard.close();
  });
});

describe('DownlinkGuard and random loss', () => {
  it('undoes a step down that did not lower the loss, and keeps the picture while the loss stays random', async () => {
    const r = receiver();
    const guard = new DownlinkGuard(() => [r.peer], 1_000_000);
    r.link.loss = 0.2; // 20 % lost whatever we send: a lossy path, not a full one
    await guard.poll();
    await guard.poll();
    expect(r.set.at(-1)).toEqual({ spatialLayer: 0, temporalLayer: 2 }); // first, try sending less
    await guard.poll();
    await guard.poll();
    expect(r.set.at(-1)).toEqual({ spatialLayer: 0, temporalLayer: 2 }); // reports lag: look twice
    await guard.poll();
    await guard.poll();
    expect(r.set.at(-1)).toEqual({ spatialLayer: 1, temporalLayer: 2 }); // it did not help: back up
    const steps = r.set.length;
    for (let i = 0; i < 10; i++) await guard.poll();
    expect(r.set).toHaveLength(steps); // and it stays
    r.link.loss = 0.35; // much worse now: congestion on top, stepping down may help again
    await guard.poll();
    await guard.poll();
    expect(r.set.at(-1)).toEqual({ spatialLayer: 0, temporalLayer: 2 });
    guard.close();
  });
});
