/**
 * `callwire-connectivity` end to end: the real CLI (a child process, as operators run it)
 * against an in-process deployment on loopback. Every check passes on a healthy stack and the
 * JSON validates against docs/connectivity.schema.json; without UDP on the relay, with an
 * untrusted TLS certificate, and with the server down, it reports exactly that.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectivityReport } from '../../web/src/connectivity/checks.ts';
import { JsonSchemaValidator, type JsonSchema } from './JsonSchemaValidator.ts';
import { ConnectivityStack } from './testing/ConnectivityStack.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const schema = new JsonSchemaValidator(JSON.parse(readFileSync(`${ROOT}/docs/connectivity.schema.json`, 'utf8')) as JsonSchema);
const PORT_BASE = 41_540 + Math.floor(Math.random() * 100) * 4;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  report: ConnectivityReport | null;
}

function cli(args: string[], timeoutMs = 60_000): Promise<CliRun> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/connectivity.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI did not finish in ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      let report: ConnectivityReport | null = null;
      try {
        report = JSON.parse(stdout) as ConnectivityReport;
      } catch {
        /* text mode, or broken output: the test says which */
      }
      resolve({ code, stdout, stderr, ms: Date.now() - t0, report });
    });
  });
}

const statuses = (r: ConnectivityReport) => Object.fromEntries(r.checks.map((c) => [c.name, c.status]));
const check = (r: ConnectivityReport, name: string) => r.checks.find((c) => c.name === name)!;

describe('callwire-connectivity CLI', { timeout: 90_000 }, () => {
  let stack: ConnectivityStack;
  beforeAll(async () => {
    stack = await ConnectivityStack.start({ sfuRtcPort: PORT_BASE });
  });
  afterAll(async () => stack?.close());

  it('passes every check on a healthy deployment, and the JSON validates against the schema', async () => {
    const run = await cli(['--url', stack.url, '--json', '--ca', stack.caPath, '--media-seconds', '3']);
    expect(run.report, run.stderr).not.toBeNull();
    const report = run.report!;
    expect(schema.validate(report)).toEqual([]);
    expect(statuses(report)).toEqual({
      'server.reachable': 'pass',
      'signaling.websocket': 'pass',
      'signaling.polling': 'pass',
      'ice.servers': 'pass',
      'ice.stun': 'pass',
      'turn.udp': 'pass',
      'turn.tcp': 'pass',
      'turn.tls': 'pass',
      'sfu.addresses': 'pass',
      'sfu.media': 'pass',
    });
    expect(report).toMatchObject({ tool: 'callwire-connectivity', client: 'cli', server: stack.url, verdict: 'works', summary: 'Calls will work.' });
    const media = check(report, 'sfu.media').metrics!;
    expect(media['transport']).toBe('udp');
    expect(Number(media['audioPacketsReceived'])).toBeGreaterThan(100); // ~50 packets/s of Opus for 3 s
    expect(check(report, 'sfu.addresses').metrics).toEqual({ candidates: 2, reachable: 2 });
    expect(run.code).toBe(0);
    // The relays were cleaned up: no allocation of the test is left behind.
    expect(stack.server.turn!.stats().allocations).toBe(0);
    console.log(`CLI full run: ${run.ms} ms wall (report ${report.durationMs} ms, media ${check(report, 'sfu.media').durationMs} ms)`);
  });

  it('says the relay certificate is untrusted when it is (self-signed, no --ca), in text by default', async () => {
    const run = await cli(['--url', stack.url, '--media-seconds', '1']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/\[FAIL\] TURN relay over TLS \(turn\.tls/);
    expect(run.stdout).toMatch(/certificate is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
    expect(run.stdout).toMatch(/→ The relay's TLS certificate is not trusted\. Browsers refuse self-signed certificates/);
    expect(run.stdout).toMatch(/\[PASS\] TURN relay over UDP/);
    expect(run.stderr).toMatch(/^Testing http:\/\/127\.0\.0\.1:\d+/);
  });

  it('reports TURN over UDP missing, with the advice, and "only through a TCP relay" as the summary', async () => {
    const noUdp = await ConnectivityStack.start({ sfuRtcPort: PORT_BASE + 2, turnUdp: false });
    try {
      const run = await cli(['--url', noUdp.url, '--json', '--ca', noUdp.caPath, '--media-seconds', '1']);
      const report = run.report!;
      expect(schema.validate(report)).toEqual([]);
      expect(check(report, 'turn.udp')).toMatchObject({ status: 'fail', details: 'The server offers no TURN relay over UDP.' });
      expect(check(report, 'turn.udp').advice).toMatch(/Enable it \(TURN_UDP_PORT, UDP 3478 open in the firewall/);
      expect(check(report, 'turn.tcp').status).toBe('pass');
      expect(check(report, 'turn.tls').status).toBe('pass');
      expect(report.verdict).toBe('works-tcp-only');
      expect(report.summary).toBe('Calls will work only through a TCP relay — expect higher latency.');
      expect(run.code).toBe(1);
    } finally {
      await noUdp.close();
    }
  });

  it('fails fast with a clear message when the server is down', async () => {
    const gone = await ConnectivityStack.start({ sfuRtcPort: PORT_BASE + 4 });
    const url = gone.url;
    await gone.close();
    const run = await cli(['--url', url, '--json']);
    const report = run.report!;
    expect(schema.validate(report)).toEqual([]);
    expect(report.verdict).toBe('fails');
    expect(report.summary).toMatch(new RegExp(`^Calls will not work: the callwire server at ${url} is not reachable \\(ECONNREFUSED\\)\\.$`));
    expect(check(report, 'server.reachable').advice).toMatch(/callwire server is running/);
    expect(report.checks.filter((c) => c.name !== 'server.reachable').every((c) => c.status === 'fail' && c.details.startsWith('Not run:'))).toBe(true);
    expect(report.durationMs).toBeLessThan(1_000);
    expect(run.code).toBe(1);
  });

  it('refuses bad options with exit code 2 and names the problem', async () => {
    const run = await cli(['--url', 'ftp://example.com']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--url must be http:\/\/ or https:\/\/, got ftp:/);
    expect(run.stdout).toBe('');
  });
});
