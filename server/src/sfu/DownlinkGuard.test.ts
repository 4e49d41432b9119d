import { describe, expect, it } from 'vitest';
import { DownlinkGuard } from './DownlinkGuard.ts';
import type { SfuPeer } from './SfuPeer.ts';

/** A receiver with one two-layer, three-temporal-layer video consumer, and a link whose loss the test sets. */
function receiver() {
  const link = { loss: 0 };
  const set: { spatialLayer: number; temporalLayer: number }[] = [];
  const consumer = {
    id: 'c1',
    type: 'simulcast',
    closed: false,
    appData: { wantSpatial: 1 } as Record<string, unknown>,
    rtpParameters: { encodings: [{ scalabilityMode: 'L2T3' }] },
    setPreferredLayers: async (l: { spatialLayer: number; temporalLayer: number }) => void set.push(l),
  };
  const peer = {
    recv: { getStats: async () => [{ rtpPacketLossSent: link.loss }] },
    consumers: new Map([['c1', consumer]]),
  } as unknown as SfuPeer;
  return { peer, link, set, consumer };
}

describe('DownlinkGuard (loss-based layers per receiver)', () => {
  it('steps a lossy receiver down a spatial layer, then the frame rate, and back up once the link is clean', async () => {
    const r = receiver();
    const guard = new DownlinkGuard(() => [r.peer], 1_000_000);
    r.link.loss = 0.4;
    await guard.poll();
    expect(r.set).toEqual([]); // one lossy read is a blip
    await guard.poll();
    expect(r.set.at(-1)).toEqual({ spatialLayer: 0, temporalLayer: 2 });
    await guard.poll();
    await guard.poll();
    expect(r.set.at(-1)).toEqual({ spatialLayer: 0, temporalLayer: 1 });
    for (let i = 0; i < 6; i++) await guard.poll();
    expect(r.set.at(-1)).toEqual({ spatialLayer: 0, temporalLayer: 0 }); // the bottom rung: it stays there
    const steps = r.set.length;
    r.link.loss = 0.05; // neither lossy nor clean: hold
    for (let i = 0; i < 6; i++) await guard.poll();
    expect(r.set).toHaveLength(steps);
    r.link.loss = 0;
    for (let i = 0; i < 5; i++) await guard.poll();
    expect(r.set.at(-1)).toEqual({ spatialLayer: 0, temporalLayer: 1 });
    for (let i = 0; i < 10; i++) await guard.poll();
    expect(r.set.at(-1)).toEqual({ spatialLayer: 1, temporalLayer: 2 }); // back to what the receiver asked for
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
