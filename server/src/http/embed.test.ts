import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.ts';
import { createHttpApp } from './createHttpApp.ts';
import { EmbedPolicy, parseEmbedOrigins, type EmbedOrigins } from './EmbedPolicy.ts';

describe('EMBED_ALLOWED_ORIGINS', () => {
  it('defaults to none (embedding refused)', () => {
    expect(loadConfig({}).embedAllowedOrigins).toEqual([]);
    expect(new EmbedPolicy().enabled).toBe(false);
    expect(new EmbedPolicy().frameAncestors).toBe("'none'");
  });

  it('takes a comma-separated list of origins, canonicalized, or an explicit *', () => {
    expect(loadConfig({ EMBED_ALLOWED_ORIGINS: ' https://a.example , http://localhost:8080/,HTTPS://B.example:443 ' }).embedAllowedOrigins).toEqual([
      'https://a.example',
      'http://localhost:8080',
      'https://b.example',
    ]);
    expect(parseEmbedOrigins('*')).toBe('*');
  });

  it.each(['https://a.example/path', 'a.example', 'ftp://a.example', '*,https://a.example', 'https://a.example?x=1', 'https://user@a.example'])(
    'refuses %j naming the variable',
    (value) => {
      expect(() => loadConfig({ EMBED_ALLOWED_ORIGINS: value })).toThrow(ConfigError);
      expect(() => loadConfig({ EMBED_ALLOWED_ORIGINS: value })).toThrow('EMBED_ALLOWED_ORIGINS');
    },
  );

  it('matches exact origins only', () => {
    const p = new EmbedPolicy(['https://a.example']);
    expect(p.allows('https://a.example')).toBe(true);
    expect(p.allows('https://a.example/')).toBe(true);
    expect(p.allows('http://a.example')).toBe(false);
    expect(p.allows('https://a.example:8443')).toBe(false);
    expect(p.allows('https://evil-a.example')).toBe(false);
    expect(p.allows('null')).toBe(false);
    expect(p.allows(undefined)).toBe(false);
    expect(new EmbedPolicy('*').allows('https://anything.example')).toBe(true);
    expect(new EmbedPolicy('*').allows('null')).toBe(false);
  });
});

describe('embed routes', () => {
  const dist = mkdtempSync(join(tmpdir(), 'cw-embed-'));
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(dist, 'embed.js'), 'window.Callwire={}');
  const servers: { close(): void }[] = [];

  async function serve(origins: EmbedOrigins | undefined): Promise<string> {
    const app = createHttpApp({
      webDist: dist,
      auth: { mode: 'guest', verifyBearer: () => Promise.reject(new Error('no tokens')) },
      iceServersFor: () => [],
      health: () => Promise.resolve({ ok: true }),
      metricsToken: null,
      groupCalls: () => false,
      trustProxy: false,
      ...(origins === undefined ? {} : { embedAllowedOrigins: origins }),
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  let listed = '';
  let none = '';
  let any = '';
  beforeAll(async () => {
    listed = await serve(['https://a.example', 'https://b.example']);
    none = await serve(undefined);
    any = await serve('*');
  });
  afterAll(() => servers.forEach((s) => s.close()));
  const frameAncestors = (res: Response) => /(?:^|; )frame-ancestors ([^;]+)/.exec(res.headers.get('content-security-policy') ?? '')?.[1];
  const frame = (base: string, parent: string | null, room = 'some-room') =>
    fetch(`${base}/embed/call/${room}${parent === null ? '' : `?parent=${encodeURIComponent(parent)}`}`);

  it('serves the frame page to an allowed parent, framable only by the allowed origins', async () => {
    const res = await frame(listed, 'https://a.example');
    expect(res.status).toBe(200);
    expect(frameAncestors(res)).toBe('https://a.example https://b.example');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await res.text()).toContain('<title>app</title>');
    const star = await frame(any, 'https://whoever.example');
    expect(star.status).toBe(200);
    expect(frameAncestors(star)).toBe('*');
  });

  it('refuses other parents, a missing parent, a disabled server and bad rooms, never framable', async () => {
    for (const res of [
      await frame(listed, 'https://c.example'),
      await frame(listed, null),
      await frame(none, 'https://a.example'),
      await frame(listed, 'https://a.example', 'bad room'),
    ]) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.headers.get('content-security-policy')).toBe("frame-ancestors 'none'");
    }
    expect(await (await frame(none, 'https://a.example')).text()).toContain('EMBED_ALLOWED_ORIGINS is not set');
    expect(await (await frame(listed, 'https://c.example')).text()).toContain('https://c.example is not allowed');
  });

  it('answers /api/embed/check to anyone (CORS), by ?origin= or the Origin header', async () => {
    const q = await fetch(`${listed}/api/embed/check?origin=${encodeURIComponent('https://b.example')}`);
    expect(q.headers.get('access-control-allow-origin')).toBe('*');
    expect(await q.json()).toEqual({ allowed: true, enabled: true });
    expect(await (await fetch(`${listed}/api/embed/check`, { headers: { origin: 'https://c.example' } })).json()).toEqual({ allowed: false, enabled: true });
    expect(await (await fetch(`${none}/api/embed/check?origin=https://a.example`)).json()).toEqual({ allowed: false, enabled: false });
  });

  it('serves embed.js loadable cross-origin, and keeps the app pages unframable', async () => {
    const js = await fetch(`${listed}/embed.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('javascript');
    expect(js.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(js.headers.get('cache-control')).toBe('no-cache');
    for (const path of ['/', '/call/some-room']) expect(frameAncestors(await fetch(`${listed}${path}`))).toBe("'none'");
  });
});
