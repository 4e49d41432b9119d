import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENV_VARS } from '../../server/src/config.ts';
import { TURN_ENV } from '../../turn/src/index.ts';

describe('docker-compose.yml', () => {
  const run = (...args: string[]) => spawnSync('docker-compose', ['-f', 'docker-compose.yml', ...args], { encoding: 'utf8' });

  it('is valid for Debian docker-compose and defines the server and TURN services', () => {
    const check = run('config', '-q');
    if (check.error) throw new Error('docker-compose is not installed: run `apt-get install docker-compose` (scripts/system-deps.sh does)');
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    expect(run('config', '--services').stdout.trim().split('\n').sort()).toEqual(['callwire', 'turn']);
  });

  it('only sets environment variables the server actually reads', () => {
    const resolved = parse(run('config').stdout) as { services: Record<string, { environment?: Record<string, string> }> };
    const env = Object.keys(resolved.services['callwire']!.environment ?? {});
    expect(env.length).toBeGreaterThan(0);
    for (const name of env) expect(ENV_VARS, `${name} is not a server setting`).toContain(name);
    const turnEnv = Object.keys(resolved.services['turn']!.environment ?? {});
    expect(turnEnv).toContain('TURN_SECRET');
    for (const name of turnEnv) expect(Object.values(TURN_ENV), `${name} is not a TURN setting`).toContain(name);
  });
});
