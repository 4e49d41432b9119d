/**
 * Call-quality telemetry: the MOS estimate, the bounded history, and `quality.report` at the
 * protocol level — on one node, and on two Redis nodes where the report reaches the room's owner.
 */
import { describe, expect, it } from 'vitest';
import type { RequestOf } from '../protocol/index.ts';
import { bothDeployments, withDeployment } from '../testing/withDeployment.ts';
import type { Deployment } from '../testing/deployments.ts';
import { TEST_METRICS_TOKEN } from '../testing/health.ts';
import { estimateMos } from './emodel.ts';
import { ENTRIES_PER_ROOM, QualityHistory, ROOMS } from './QualityHistory.ts';

const VOICE = { audioMuted: false, videoEnabled: false };
const stream = (o: Partial<RequestOf<'quality.report'>['streams'][number]> = {}): RequestOf<'quality.report'>['streams'][number] => ({
  from: 'participant-1',
  kind: 'audio',
  lossPct: 0,
  jitterMs: 5,
  kbps: 32,
  concealedPct: 0,
  frozenPct: null,
  fps: null,
  ...o,
});

describe('MOS estimate (E-model)', () => {
  it('is excellent on a clean short link and falls with what the listener heard concealed and with delay', () => {
    const clean = estimateMos({ concealedPct: 0, rttMs: 20, jitterMs: 2 });
    expect(clean).toBeGreaterThanOrEqual(4.3);
    const lossy = estimateMos({ concealedPct: 3, rttMs: 20, jitterMs: 2 });
    const bad = estimateMos({ concealedPct: 10, rttMs: 20, jitterMs: 2 });
    expect(lossy).toBeLessThan(clean);
    expect(lossy).toBeGreaterThan(3.6); // 3 % concealed: still fair to good
    expect(bad).toBeLessThan(3.6);
    expect(estimateMos({ concealedPct: 0, rttMs: 600, jitterMs: 30 })).toBeLessThan(clean - 0.5);
    expect(estimateMos({ concealedPct: 100, rttMs: 5_000, jitterMs: 500 })).toBe(1);
  });
});

describe('QualityHistory', () => {
  it('keeps the last entries of a room and forgets the least recently reported rooms first', () => {
    const periods: number[] = [];
    const history = new QualityHistory({ period: (e) => periods.push(e.audioMos!), setup: () => {} });
    for (let i = 0; i < ENTRIES_PER_ROOM + 10; i++) {
      history.record('p', { roomId: 'busy-room', path: 'sfu', rttMs: 20, streams: [stream({ concealedPct: i % 2 ? 10 : 0 })] });
    }
    expect(history.summary('busy-room')!.entries).toBe(ENTRIES_PER_ROOM);
    expect(periods).toHaveLength(ENTRIES_PER_ROOM + 10);
    for (let i = 0; i < ROOMS; i++) history.record('p', { roomId: `room-${i}`, path: 'p2p', rttMs: 5, streams: [stream()] });
    expect(history.roomCount).toBe(ROOMS);
    expect(history.summary('busy-room')).toBeNull(); // the oldest went first
    expect(history.summary('room-0')).not.toBeNull();
  });

  it('summarises audio as MOS, video as frozen share, and keeps each set-up time once', () => {
    const history = new QualityHistory();
    history.record('a', {
      roomId: 'r1',
      path: 'p2p',
      rttMs: 40,
      setupMs: 420,
      streams: [stream(), stream({ kind: 'video', concealedPct: null, frozenPct: 12.5, fps: 18, jitterMs: null, kbps: 300, lossPct: 4 })],
    });
    const s = history.summary('r1')!;
    expect(s.audioMos!.median).toBeGreaterThan(4.2);
    expect(s.videoFrozenPct).toEqual({ mean: 12.5, worst: 12.5 });
    expect(s.setupMs).toEqual([420]);
    expect(s.last[0]).toMatchObject({ participantId: 'a', path: 'p2p', lossPct: 4, fps: 18 });
  });
});

describe.each(bothDeployments())('quality.report (%s)', (_name, deploy: () => Promise<Deployment>) => {
  const fixture = withDeployment(deploy);

  it('answers the MOS of the period, keeps it with the room on its owner node, and refuses strangers and nonsense', async () => {
    const ann = await fixture.guest('ann');
    const ben = await fixture.guest('ben');
    await ann.ok('room.join', { roomId: 'quality-room', media: VOICE });
    const b = await ben.ok('room.join', { roomId: 'quality-room', media: VOICE });
    const report = {
      roomId: 'quality-room',
      path: 'p2p' as const,
      rttMs: 30,
      setupMs: 350,
      streams: [stream({ from: b.participants[0]!.id, concealedPct: 2 })],
    };
    const answer = await ben.ok('quality.report', report);
    expect(answer.audioMos).toBeGreaterThan(3.8);
    expect(answer.videoFrozenPct).toBeNull();

    // The room's owner (the node ann joined first) keeps it; operators read it with the token.
    const owner = fixture.server.nodes[0]!;
    const res = await fetch(`${owner.url}/api/rooms/quality-room/quality`, { headers: { authorization: `Bearer ${TEST_METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    const summary = (await res.json()) as { entries: number; setupMs: number[]; last: { participantId: string }[] };
    expect(summary).toMatchObject({ entries: 1, setupMs: [350] });
    expect(summary.last[0]!.participantId).toBe(b.self.id);
    expect((await fetch(`${owner.url}/api/rooms/quality-room/quality`)).status).toBe(401);

    const carl = await fixture.guest('carl');
    expect(await carl.request('quality.report', report)).toMatchObject({ ok: false, error: { code: 'not-in-room' } });
    for (const bad of [
      { ...report, streams: [stream({ lossPct: 140 })] },
      { ...report, path: 'carrier-pigeon' },
      { ...report, rttMs: -1 },
    ]) {
      expect(await ben.request('quality.report', bad as never)).toMatchObject({ ok: false, error: { code: 'invalid-message' } });
    }
    const flood = { ...report, streams: Array.from({ length: 129 }, () => stream()) };
    expect(await ben.request('quality.report', flood)).toMatchObject({ ok: false, error: { code: 'payload-too-large' } });
  });
});
