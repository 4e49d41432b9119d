import { describe, expect, it } from 'vitest';
import { NetworkQuality, healthOf, qualityScore, type QualitySample, type UplinkSample } from './NetworkQuality.ts';
import { FakeRoom } from './testing/FakeRoom.ts';

describe('NetworkQuality', () => {
  it.each([
    [0, 1, 5],
    [0, null, 5],
    [0.02, 20, 4],
    [0.05, 20, 3],
    [0.1, 20, 2],
    [0.2, 20, 1],
    [0, 200, 4],
    [0, 400, 3],
    [0, 700, 2],
    [0, 1500, 1],
    [0.05, 700, 2],
  ])('loss %d, rtt %s ms → %d', (loss, rtt, score) => {
    expect(qualityScore(loss, rtt)).toBe(score);
  });

  it('reports a participant when their score changes, 0 when the link drops, nothing after they left', async () => {
    const room = new FakeRoom();
    const samples = new Map<string, QualitySample>();
    const quality = new NetworkQuality(room, { intervalMs: 100_000, sample: async (p) => samples.get(p.id) ?? null });
    const seen: [string, number][] = [];
    quality.on('changed', (r) => seen.push([r.participant.id, r.score]));

    const a = room.add('a', 'connecting');
    samples.set('a', { loss: 0, rttMs: 5 });
    await quality.poll();
    expect(seen).toEqual([]); // not connected yet, no score yet: nothing to say
    (a as { connection: string }).connection = 'connected';
    await quality.poll();
    await quality.poll();
    expect(seen).toEqual([['a', 5]]);
    samples.set('a', { loss: 0.1, rttMs: 5 });
    await quality.poll();
    expect(seen).toEqual([
      ['a', 5],
      ['a', 2],
    ]);
    (a as { connection: string }).connection = 'disconnected';
    await quality.poll();
    expect(seen.at(-1)).toEqual(['a', 0]);
    room.remove('a');
    await quality.poll();
    expect(quality.scores.has('a')).toBe(false);
    expect(seen).toHaveLength(3);
    quality.close();
  });
});

describe('our own connection (health)', () => {
  const up = (o: Partial<UplinkSample> = {}): UplinkSample => ({ loss: 0, rttMs: 20, availableKbps: 1_000, ...o });

  it.each([
    ['clean', [{ loss: 0.01, rttMs: 20 }], up(), null],
    [
      'lossy from everyone',
      [
        { loss: 0.12, rttMs: 20 },
        { loss: 0.1, rttMs: 20 },
      ],
      up(),
      'loss',
    ],
    [
      'one lossy participant is their problem',
      [
        { loss: 0.3, rttMs: 20 },
        { loss: 0, rttMs: 20 },
        { loss: 0, rttMs: 20 },
      ],
      up(),
      null,
    ],
    ['what we send is lost', [{ loss: 0, rttMs: 20 }], up({ loss: 0.15 }), 'loss'],
    ['too little bandwidth to send', [{ loss: 0, rttMs: 20 }], up({ availableKbps: 90 }), 'bandwidth'],
    ['a long round trip', [{ loss: 0, rttMs: 700 }], up({ rttMs: 650 }), 'latency'],
    ['loss is named before a long round trip', [{ loss: 0.2, rttMs: 700 }], up({ rttMs: 700 }), 'loss'],
  ] as const)('%s → %s', (_name, down, uplink, cause) => {
    expect(healthOf([...down], uplink).cause).toBe(cause);
  });

  it('turns poor after two bad rounds, names the cause, and recovers after three good ones', async () => {
    const room = new FakeRoom();
    room.add('a');
    let sample: QualitySample = { loss: 0, rttMs: 10 };
    const quality = new NetworkQuality(room, { intervalMs: 100_000, sample: async () => sample, uplink: async () => up() });
    const seen: (string | null)[] = [];
    quality.on('health', (h) => seen.push(h.poor ? h.cause : null));
    await quality.poll();
    sample = { loss: 0.2, rttMs: 10 };
    await quality.poll();
    expect(seen).toEqual([]); // one bad round is a blip
    await quality.poll();
    expect(seen).toEqual(['loss']);
    expect(quality.health).toMatchObject({ poor: true, cause: 'loss', loss: 0.2 });
    sample = { loss: 0, rttMs: 10 };
    await quality.poll();
    await quality.poll();
    expect(seen).toEqual(['loss']); // still poor: it has to stay good for a while
    await quality.poll();
    expect(seen).toEqual(['loss', null]);
    quality.close();
  });
});
