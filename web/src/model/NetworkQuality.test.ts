import { describe, expect, it } from 'vitest';
import { NetworkQuality, qualityScore, type QualitySample } from './NetworkQuality.ts';
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
