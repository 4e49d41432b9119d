import { describe, expect, it } from 'vitest';
import {
  formatText,
  judgeMedia,
  parseStunUrl,
  parseTurnUrl,
  summarize,
  turnServersFor,
  type CheckName,
  type CheckResult,
  type CheckStatus,
  type MediaMetrics,
} from './checks.ts';

const result = (name: CheckName, status: CheckStatus, details = `${name} ${status}.`, metrics?: CheckResult['metrics']): CheckResult => ({
  name,
  title: name,
  status,
  details,
  advice: status === 'pass' ? '' : 'do something',
  durationMs: 1,
  ...(metrics ? { metrics } : {}),
});
const healthy = (): CheckResult[] =>
  (['server.reachable', 'signaling.websocket', 'signaling.polling', 'ice.servers', 'turn.udp', 'turn.tcp', 'turn.tls', 'sfu.media'] as const).map((n) =>
    result(n, 'pass', `${n} ok.`, n === 'sfu.media' ? { transport: 'udp' } : undefined),
  );
const replace = (checks: CheckResult[], r: CheckResult) => checks.map((c) => (c.name === r.name ? r : c));

describe('summarize', () => {
  it('says calls work, counting warnings', () => {
    expect(summarize(healthy())).toEqual({ verdict: 'works', summary: 'Calls will work.' });
    expect(summarize(replace(healthy(), result('turn.tls', 'warn')))).toEqual({ verdict: 'works', summary: 'Calls will work (1 warning below).' });
  });

  it('fails on an essential check with its reason, acronyms kept', () => {
    const s = summarize(replace(healthy(), result('server.reachable', 'fail', 'The callwire server at http://x is not reachable.')));
    expect(s).toEqual({ verdict: 'fails', summary: 'Calls will not work: the callwire server at http://x is not reachable.' });
    expect(summarize(replace(healthy(), result('sfu.media', 'fail', 'TURN is down.'))).summary).toBe('Calls will not work: TURN is down.');
  });

  it('fails only when both signaling transports fail', () => {
    const ws = replace(healthy(), result('signaling.websocket', 'fail', 'Signaling over WebSocket did not connect: x.'));
    expect(summarize(ws).verdict).toBe('works-limited');
    expect(summarize(replace(ws, result('signaling.polling', 'fail'))).summary).toBe('Calls will not work: signaling over WebSocket did not connect: x.');
  });

  it('says "only through a TCP relay" without TURN over UDP (TCP relay working) or when media went over TCP', () => {
    const tcpOnly = { verdict: 'works-tcp-only', summary: 'Calls will work only through a TCP relay — expect higher latency.' };
    expect(summarize(replace(healthy(), result('turn.udp', 'fail')))).toEqual(tcpOnly);
    expect(summarize(replace(healthy(), result('sfu.media', 'warn', 'x', { transport: 'tcp' })))).toEqual(tcpOnly);
    // No relay at all is a different problem.
    const none = replace(replace(replace(healthy(), result('turn.udp', 'fail', 'No UDP relay.')), result('turn.tcp', 'fail')), result('turn.tls', 'fail'));
    expect(summarize(none)).toEqual({ verdict: 'works-limited', summary: 'Calls will work, with a problem: no UDP relay.' });
  });
});

describe('ICE URLs', () => {
  it('parses TURN URLs with RFC 7065 defaults', () => {
    expect(parseTurnUrl('turn:example.com')).toMatchObject({ transport: 'udp', host: 'example.com', port: 3478 });
    expect(parseTurnUrl('turn:1.2.3.4:3479?transport=tcp')).toMatchObject({ transport: 'tcp', host: '1.2.3.4', port: 3479 });
    expect(parseTurnUrl('turns:t.example.com?transport=tcp')).toMatchObject({ transport: 'tls', port: 5349 });
    expect(parseTurnUrl('turn:[::1]:3478?transport=udp')).toMatchObject({ host: '::1', port: 3478 });
    for (const bad of ['stun:x', 'turns:x?transport=udp', 'turn:x:99999', 'turn:', 'http://x']) expect(parseTurnUrl(bad), bad).toBeNull();
    expect(parseStunUrl('stun:127.0.0.1:1234')).toEqual({ host: '127.0.0.1', port: 1234 });
    expect(parseStunUrl('turn:x')).toBeNull();
  });

  it('picks the TURN URLs of one transport with their credentials', () => {
    const servers = [
      { urls: ['stun:h:1'] },
      { urls: ['turn:h:1?transport=udp', 'turn:h:1?transport=tcp', 'turns:h:2?transport=tcp'], username: 'u', credential: 'c' },
    ];
    expect(turnServersFor(servers, 'tcp')).toEqual([{ transport: 'tcp', host: 'h', port: 1, url: 'turn:h:1?transport=tcp', username: 'u', credential: 'c' }]);
    expect(turnServersFor(servers, 'tls').map((s) => s.url)).toEqual(['turns:h:2?transport=tcp']);
    expect(turnServersFor([{ urls: 'stun:h' }], 'udp')).toEqual([]);
  });
});

describe('judgeMedia', () => {
  const good: MediaMetrics = {
    transport: 'udp',
    candidateType: 'host',
    rttMs: 20,
    jitterMs: 3,
    lossRatio: 0,
    audioPacketsReceived: 250,
    videoFramesDecoded: 70,
    bitrateKbps: 600,
    seconds: 5,
  };
  it('passes a clean round trip and describes it', () => {
    const o = judgeMedia(good, true);
    expect(o.status).toBe('pass');
    expect(o.details).toBe(
      'Sent audio and video to the media server and got it back for 5 s over UDP: round trip 20 ms, jitter 3.0 ms, loss 0.0 %, 600 kbit/s.',
    );
  });
  it('fails with nothing back, no video, or heavy loss; warns on TCP and on a slow path', () => {
    expect(judgeMedia({ ...good, audioPacketsReceived: 0 }, true)).toMatchObject({ status: 'fail', details: 'No media came back from the media server.' });
    expect(judgeMedia({ ...good, videoFramesDecoded: 0 }, true).status).toBe('fail');
    expect(judgeMedia({ ...good, videoFramesDecoded: null }, false).status).toBe('pass');
    expect(judgeMedia({ ...good, lossRatio: 0.25 }, true).status).toBe('fail');
    expect(judgeMedia({ ...good, transport: 'tcp' }, true)).toMatchObject({ status: 'warn', advice: expect.stringMatching(/open UDP SFU_RTC_PORT/) });
    expect(judgeMedia({ ...good, rttMs: 400 }, true).status).toBe('warn');
    expect(judgeMedia({ ...good, lossRatio: 0.05 }, true).status).toBe('warn');
  });
});

it('formatText lists every check with status, details, advice and metrics', () => {
  const text = formatText({
    tool: 'callwire-connectivity',
    version: 1,
    client: 'cli',
    server: 'http://x',
    userAgent: 'ua',
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1234,
    verdict: 'works-limited',
    summary: 'Calls will work, with a problem: y.',
    checks: [result('turn.tls', 'fail', 'TLS broke.', { rttMs: 3 })],
  });
  expect(text.split('\n')).toEqual([
    'callwire connectivity report (cli)',
    'Server:   http://x',
    'Client:   ua',
    'When:     2026-01-01T00:00:00.000Z (1.2 s)',
    'Verdict:  Calls will work, with a problem: y.',
    '',
    '[FAIL] turn.tls (turn.tls, 1 ms)',
    '       TLS broke.',
    '       → do something',
    '       rttMs=3',
  ]);
});
