/**
 * `/metrics`: what an operator scrapes, checked the way Prometheus would take it — the exposition
 * text goes through Debian's `promtool check metrics` — on a server with the SFU and the bundled
 * TURN relay running, after a real 1:1 call and call-quality reports.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallwireServer } from '../CallwireServer.ts';
import { TestClient, startTestServer } from '../testing/harness.ts';
import { TEST_METRICS_TOKEN } from '../testing/health.ts';

const VOICE = { audioMuted: false, videoEnabled: false };
const auth = { authorization: `Bearer ${TEST_METRICS_TOKEN}` };

/** A sample's value from the exposition text (null when absent). */
function sample(text: string, name: string, labels = ''): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : null;
}

describe('/metrics', () => {
  let server: CallwireServer;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    server = await startTestServer({
      LOG_LEVEL: 'error',
      SFU_ENABLED: 'true',
      SFU_WORKERS: '1',
      SFU_RTC_PORT: '40980',
      TURN_ENABLED: 'true',
      TURN_UDP_PORT: '0',
      TURN_TCP_PORT: '0',
      METRICS_PORT: '0',
    });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.close();
  });

  it('needs the operator token on the main port, and is served without one on METRICS_PORT', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    const ok = await fetch(`${server.url}/metrics`, { headers: auth });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toContain('text/plain');
    expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const side = await fetch(`${server.metricsUrl}/metrics`);
    expect(side.status).toBe(200);
    expect(await side.text()).toContain('callwire_connections');
    expect((await fetch(`${server.metricsUrl}/healthz`)).status).toBe(404); // only metrics there
  });

  it('counts connections, calls and their end, ring time, rooms, SFU workers, TURN, quality — and promtool accepts it', async () => {
    const ann = await TestClient.guest(server.url, 'ann', 'Ann');
    const ben = await TestClient.guest(server.url, 'ben', 'Ben');
    clients.push(ann, ben);
    const { callId, roomId } = await ann.ok('call.invite', { to: 'ben', video: false });
    await ben.next('call.incoming');
    await ben.ok('call.accept', { callId });
    await ann.ok('room.join', { roomId, media: VOICE });
    const b = await ben.ok('room.join', { roomId, media: VOICE });
    await ben.ok('quality.report', {
      roomId,
      path: 'p2p',
      rttMs: 24,
      setupMs: 640,
      streams: [
        { from: b.participants[0]!.id, kind: 'audio', lossPct: 1, jitterMs: 4, kbps: 30, concealedPct: 0.5, frozenPct: null, fps: null },
        { from: b.participants[0]!.id, kind: 'video', lossPct: 1, jitterMs: null, kbps: 250, concealedPct: null, frozenPct: 3, fps: 19 },
      ],
    });
    // One request refused on the way (counted by code).
    expect(await ann.request('room.join', { roomId: '!', media: VOICE } as never)).toMatchObject({ ok: false });

    let text = await (await fetch(`${server.url}/metrics`, { headers: auth })).text();
    expect(sample(text, 'callwire_connections')).toBe(2);
    expect(sample(text, 'callwire_users_online')).toBe(2);
    expect(sample(text, 'callwire_calls', '{state="accepted"}')).toBe(1);
    expect(sample(text, 'callwire_rooms', '{mode="p2p"}')).toBe(1);
    expect(sample(text, 'callwire_call_answer_seconds_count')).toBe(1);
    expect(sample(text, 'callwire_call_setup_seconds_count', '{path="p2p"}')).toBe(1);
    expect(sample(text, 'callwire_call_audio_mos_count', '{path="p2p"}')).toBe(1);
    expect(sample(text, 'callwire_call_audio_mos_bucket', '{le="4.4",path="p2p"}')).toBe(1);
    expect(sample(text, 'callwire_call_video_frozen_ratio_bucket', '{le="0.05",path="p2p"}')).toBe(1);
    expect(sample(text, 'callwire_signaling_errors_total', '{code="invalid-message"}')).toBe(1);
    expect(sample(text, 'callwire_sfu_worker_cpu_seconds_total', '{worker="0"}')).toBeGreaterThan(0);
    expect(sample(text, 'callwire_sfu_consumers', '{worker="0"}')).toBe(0);
    expect(sample(text, 'callwire_turn_allocations')).toBe(0);
    expect(sample(text, 'callwire_turn_relayed_bytes_total')).toBe(0);
    expect(sample(text, 'callwire_store_up')).toBe(1);
    expect(sample(text, 'callwire_store_errors_total')).toBeNull(); // no store error yet: no series

    // Ann hangs up: the call ends as an answered hang-up.
    await ann.ok('room.leave', { roomId });
    await ben.next('call.ended');
    text = await (await fetch(`${server.url}/metrics`, { headers: auth })).text();
    expect(sample(text, 'callwire_calls_ended_total', '{reason="hangup",answered="true"}')).toBe(1);
    expect(sample(text, 'callwire_calls', '{state="accepted"}')).toBe(0);

    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
    expect(lint.error).toBeUndefined();
    expect({ status: lint.status, problems: `${lint.stdout}${lint.stderr}`.trim() }).toEqual({ status: 0, problems: '' });
  });

  it('every query of the Grafana dashboard in docs/ is valid PromQL over these metrics (promtool check rules)', () => {
    const dashboard = JSON.parse(readFileSync(new URL('../../../docs/grafana-dashboard.json', import.meta.url), 'utf8')) as {
      panels: { targets: { expr: string }[] }[];
    };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    for (const e of exprs) expect(e).toMatch(/callwire_/);
    // Each expression as a recording rule: promtool parses every one.
    const rules = [
      'groups:',
      '  - name: dashboard',
      '    rules:',
      ...exprs.flatMap((e, i) => [`      - record: dashboard:q${i}`, `        expr: ${JSON.stringify(e)}`]),
    ];
    const dir = mkdtempSync(join(tmpdir(), 'callwire-rules-'));
    try {
      writeFileSync(join(dir, 'rules.yml'), rules.join('\n') + '\n');
      const check = spawnSync('promtool', ['check', 'rules', join(dir, 'rules.yml')], { encoding: 'utf8', timeout: 30_000 });
      expect({ status: check.status, out: check.status === 0 ? '' : `${check.stdout}${check.stderr}` }).toEqual({ status: 0, out: '' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
