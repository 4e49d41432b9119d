import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENV_VARS } from '../../server/src/config.ts';
import { TURN_ENV } from '../../turn/src/index.ts';
import { HAPROXY_CONFIG } from '../../server/src/testing/HaproxyProcess.ts';

type Service = { environment?: Record<string, string>; volumes?: string[]; command?: string[] };

describe('docker-compose.yml', () => {
  const run = (...args: string[]) => spawnSync('docker-compose', ['-f', 'docker-compose.yml', ...args], { encoding: 'utf8' });
  const resolved = () => parse(run('config').stdout) as { services: Record<string, Service> };

  it('is valid for Debian docker-compose: Redis, two callwire nodes, HAProxy and the TURN relay', () => {
    const check = run('config', '-q');
    if (check.error) throw new Error('docker-compose is not installed: run `apt-get install docker-compose` (scripts/system-deps.sh does)');
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    expect(run('config', '--services').stdout.trim().split('\n').sort()).toEqual(['callwire-a', 'callwire-b', 'haproxy', 'redis', 'turn']);
  });

  it('only sets environment variables the server actually reads; the nodes share Redis and differ in id and media port', () => {
    const { services } = resolved();
    const envs = ['callwire-a', 'callwire-b'].map((s) => services[s]!.environment ?? {});
    for (const env of envs) {
      expect(Object.keys(env).length).toBeGreaterThan(0);
      for (const name of Object.keys(env)) expect(ENV_VARS, `${name} is not a server setting`).toContain(name);
      expect(env['REDIS_URL']).toBe('redis://redis:6379');
    }
    expect(envs[0]!['NODE_ID']).not.toBe(envs[1]!['NODE_ID']);
    expect(envs[0]!['SFU_RTC_PORT']).not.toBe(envs[1]!['SFU_RTC_PORT']);
    expect(services['redis']!.command).toContain('--appendonly');
    const turnEnv = Object.keys(services['turn']!.environment ?? {});
    expect(turnEnv).toContain('TURN_SECRET');
    for (const name of turnEnv) expect(Object.values(TURN_ENV), `${name} is not a TURN setting`).toContain(name);
  });

  it('HAProxy runs the same configuration the tests run, pointed at both nodes', () => {
    const { services } = resolved();
    const haproxy = services['haproxy']!;
    expect(haproxy.volumes?.join(' ')).toContain('scripts/haproxy/haproxy.cfg');
    const cfg = readFileSync(HAPROXY_CONFIG, 'utf8');
    for (const v of ['HAPROXY_BIND', 'CALLWIRE_NODE_A', 'CALLWIRE_NODE_B']) {
      expect(cfg).toContain(`\${${v}}`);
      expect(haproxy.environment?.[v]).toBeTruthy();
    }
    const check = spawnSync('haproxy', ['-c', '-f', HAPROXY_CONFIG], {
      env: { ...process.env, HAPROXY_BIND: '127.0.0.1:1', CALLWIRE_NODE_A: '127.0.0.1:2', CALLWIRE_NODE_B: '127.0.0.1:3' },
      encoding: 'utf8',
    });
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout + check.stderr).not.toMatch(/WARNING|ALERT/);
  });
});
