import { describe, expect, it } from 'vitest';
import { ConnectivityRunner, type CheckDefinition } from './ConnectivityRunner.ts';

const opts = { client: 'cli' as const, server: 'http://x', userAgent: 'test' };

describe('ConnectivityRunner', () => {
  it('runs checks in order with progress, and a dependent of a failure fails at once naming the root cause', async () => {
    const ran: string[] = [];
    const defs: CheckDefinition[] = [
      {
        name: 'server.reachable',
        timeoutMs: 1_000,
        run: async (ctx) => (ran.push('a'), ctx.progress('knocking'), { status: 'fail', details: 'Down.', advice: 'Start it.' }),
      },
      { name: 'ice.servers', needs: ['server.reachable'], timeoutMs: 1_000, run: async () => (ran.push('b'), { status: 'pass', details: 'x' }) },
      { name: 'turn.udp', needs: ['ice.servers'], timeoutMs: 1_000, run: async () => (ran.push('c'), { status: 'pass', details: 'x' }) },
      {
        name: 'browser.webrtc',
        timeoutMs: 1_000,
        run: async (ctx) => (ran.push('d'), { status: ctx.earlier.get('turn.udp')?.status === 'fail' ? 'warn' : 'pass', details: 'Fine.' }),
      },
    ];
    const runner = new ConnectivityRunner(defs, opts);
    const progress: string[] = [];
    runner.on('progress', (name, text) => progress.push(`${name}: ${text}`));
    const report = await runner.run();
    expect(ran).toEqual(['a', 'd']);
    expect(progress).toEqual(['server.reachable: knocking']);
    expect(report.checks.map((c) => [c.name, c.status, c.details])).toEqual([
      ['server.reachable', 'fail', 'Down.'],
      ['ice.servers', 'fail', 'Not run: Server reachable failed.'],
      ['turn.udp', 'fail', 'Not run: Server reachable failed.'],
      ['browser.webrtc', 'warn', 'Fine.'],
    ]);
    expect(report).toMatchObject({ verdict: 'fails', summary: 'Calls will not work: down.', client: 'cli', version: 1 });
  });

  it('fails a check at its deadline and aborts its signal; a throwing check fails with its message', async () => {
    let aborted = false;
    const defs: CheckDefinition[] = [
      {
        name: 'sfu.media',
        timeoutMs: 50,
        run: (ctx) =>
          new Promise(() => {
            ctx.signal.addEventListener('abort', () => (aborted = true));
          }),
      },
      { name: 'ice.host', timeoutMs: 1_000, run: async () => Promise.reject(new Error('boom')) },
    ];
    const t0 = Date.now();
    const report = await new ConnectivityRunner(defs, opts).run();
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(aborted).toBe(true);
    expect(report.checks.map((c) => c.details)).toEqual(['The check did not finish: no answer within 0 s.', 'The check did not finish: boom.']);
  });
});
