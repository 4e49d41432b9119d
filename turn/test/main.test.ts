// The standalone entry (turn/src/main.ts): env config, clear errors, clean SIGTERM shutdown.
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { createTurnCredentials } from '../src/credentials.ts';
import { TurnClient } from '../src/client/index.ts';
import { SECRET } from './helpers.ts';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '../src/main.ts');

function run(env: Record<string, string>) {
  // only the variables under test (plus PATH): no TURN_* leaking in from the outer environment
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const killTimer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  void exited.finally(() => clearTimeout(killTimer));
  return { child, exited, out: () => stdout, err: () => stderr };
}

it('exits non-zero with a clear message on bad configuration', async () => {
  const proc = run({ TURN_UDP_PORT: 'seventy', TURN_ALLOWED_PEERS: '10.0.0.0/99' });
  expect(await proc.exited).toBe(2);
  expect(proc.err()).toMatch(/Invalid TURN configuration/);
  expect(proc.err()).toMatch(/TURN_SECRET: /);
  expect(proc.err()).toMatch(/TURN_UDP_PORT: /);
  expect(proc.err()).toMatch(/TURN_ALLOWED_PEERS: .*prefix/);
}, 20_000);

it('serves TURN from env settings and shuts down cleanly on SIGTERM', async () => {
  const proc = run({ TURN_SECRET: SECRET, TURN_REALM: 'main.test', TURN_LISTEN_IP: '127.0.0.1', TURN_UDP_PORT: '0', TURN_TCP_PORT: '0' });
  const until = Date.now() + 10_000;
  let match: RegExpMatchArray | null = null;
  while (!(match = /listening udp 127\.0\.0\.1:(\d+)/.exec(proc.out())) && Date.now() < until && proc.child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(match, proc.err()).not.toBeNull();
  const creds = createTurnCredentials({ secret: SECRET, userId: 'main', ttlSeconds: 60 });
  const client = await TurnClient.connect({
    transport: 'udp',
    host: '127.0.0.1',
    port: Number(match![1]),
    username: creds.username,
    credential: creds.credential,
  });
  try {
    expect((await client.allocate()).relayed.address).toBe('127.0.0.1');
  } finally {
    client.close();
  }
  proc.child.kill('SIGTERM');
  expect(await proc.exited).toBe(0);
  expect(proc.out()).toMatch(/SIGTERM: shutting down/);
  expect(proc.out()).toMatch(/allocation .* closed/);
  expect(proc.out()).toMatch(/turn info: closed/);
}, 20_000);
