import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('configuration', () => {
  it('has embedded defaults: guest mode, port 3000, no ICE servers (never a public STUN)', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 3000, host: '0.0.0.0', tls: null, auth: { mode: 'guest' }, ringTimeoutMs: 30_000, iceServers: [] });
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ RING_TIMEOUT_MS: '5' }, 'RING_TIMEOUT_MS'],
    [{ AUTH_MODE: 'magic' }, 'AUTH_MODE'],
    [{ AUTH_MODE: 'jwt' }, 'JWT_SECRET is required'],
    [{ AUTH_MODE: 'jwt', JWT_SECRET: 'short' }, 'JWT_SECRET'],
    [{ AUTH_MODE: 'jwt', JWT_SECRET: 'x'.repeat(32) }, 'JWT_ISSUER and JWT_AUDIENCE are required'],
    [{ AUTH_MODE: 'jwt', JWT_SECRET: 'x'.repeat(32), JWT_ISSUER: 'https://app.example' }, 'JWT_ISSUER and JWT_AUDIENCE are required'],
    [{ JWT_MAX_LIFETIME: '10' }, 'JWT_MAX_LIFETIME'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
    [{ NODE_ID: 'Node A' }, 'NODE_ID'],
    [{ TLS_CERT: '/x.pem' }, 'TLS_CERT and TLS_KEY'],
    [{ TLS_CERT: '/nonexistent.pem', TLS_KEY: '/nonexistent.key' }, 'TLS_CERT/TLS_KEY'],
    [{ STUN_URLS: 'http://example' }, 'must start with stun:'],
    [{ ICE_SERVERS_JSON: '{not json' }, 'not valid JSON'],
    [{ ICE_SERVERS_JSON: '[{"url":"stun:x"}]' }, 'ICE_SERVERS_JSON'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  ])('rejects %j with a message naming the problem', (env, needle) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(needle);
  });

  it('reads TLS files, JWT settings and ICE servers', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-'));
    writeFileSync(join(dir, 'c.pem'), 'CERT');
    writeFileSync(join(dir, 'k.pem'), 'KEY');
    const c = loadConfig({
      TLS_CERT: join(dir, 'c.pem'),
      TLS_KEY: join(dir, 'k.pem'),
      AUTH_MODE: 'jwt',
      JWT_SECRET: 'x'.repeat(32),
      JWT_ISSUER: 'https://app.example',
      JWT_AUDIENCE: 'callwire',
      STUN_URLS: 'stun:127.0.0.1:3478, stun:[::1]:3478',
      ICE_SERVERS_JSON: '[{"urls":"turn:127.0.0.1:3478","username":"u","credential":"p"}]',
    });
    expect(c.tls?.cert.toString()).toBe('CERT');
    expect(c.auth).toMatchObject({ mode: 'jwt', issuer: 'https://app.example', audience: 'callwire', maxLifetimeSeconds: 86_400, clockToleranceSeconds: 30 });
    expect(c.iceServers).toEqual([{ urls: ['stun:127.0.0.1:3478', 'stun:[::1]:3478'] }, { urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }]);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', TLS_CERT: '', TLS_KEY: '' }).port).toBe(3000);
  });
});
