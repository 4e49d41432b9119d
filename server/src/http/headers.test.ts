/**
 * Security headers of what callwire serves: a strict Content-Security-Policy on every page, no
 * inline script in the built app, HSTS when callwire serves TLS, and no public source maps.
 */
import { execFileSync } from 'node:child_process';
import https from 'node:https';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../testing/harness.ts';

const BUILT_INDEX = fileURLToPath(new URL('../../../web/dist/index.html', import.meta.url));

/** A stand-in build: the real one when `npm run build:web` ran, else a minimal one like it. */
function webDist(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cw-dist-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>app</title><div id="app"></div><script type="module" src="/assets/app.js"></script>');
  writeFileSync(join(dir, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(dir, 'assets', 'app.js.map'), '{"version":3,"sources":["secret.ts"]}');
  return dir;
}

const directives = (csp: string | null) =>
  new Map(
    (csp ?? '')
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .map(([k, ...v]) => [k!, v.join(' ')]),
  );

describe('security headers', () => {
  it('every app page carries a strict CSP: scripts, styles and connections from this origin only, never framed', async () => {
    const server = await startTestServer({ WEB_DIST: webDist() });
    try {
      for (const path of ['/', '/call/some-room', '/connectivity']) {
        const res = await fetch(server.url + path);
        expect(res.status).toBe(200);
        const csp = directives(res.headers.get('content-security-policy'));
        expect(csp.get('default-src')).toBe("'self'");
        expect(csp.get('script-src')).toBe("'self'");
        expect(csp.get('style-src')).toBe("'self'");
        expect(csp.get('connect-src')).toBe("'self'");
        expect(csp.get('object-src')).toBe("'none'");
        expect(csp.get('base-uri')).toBe("'none'");
        expect(csp.get('frame-ancestors')).toBe("'none'");
        expect(res.headers.get('content-security-policy')).not.toContain('unsafe');
        expect(res.headers.get('strict-transport-security')).toBeNull();
      }
    } finally {
      await server.close();
    }
  });

  it('source maps are never served, even when the build has them', async () => {
    const server = await startTestServer({ WEB_DIST: webDist() });
    try {
      expect((await fetch(`${server.url}/assets/app.js`)).status).toBe(200);
      const map = await fetch(`${server.url}/assets/app.js.map`);
      expect(map.status).toBe(404);
      expect(await map.text()).not.toContain('secret.ts');
    } finally {
      await server.close();
    }
  });

  it('the built app has no inline script and points at no source map', () => {
    if (!existsSync(BUILT_INDEX)) execFileSync('npm', ['run', 'build:web', '--silent'], { stdio: 'ignore' });
    const html = readFileSync(BUILT_INDEX, 'utf8');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc=/);
      expect(body!.trim()).toBe('');
    }
    expect(html).not.toMatch(/\son[a-z]+=/i);
    const entry = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    expect(readFileSync(join(BUILT_INDEX, '..', entry), 'utf8')).not.toContain('sourceMappingURL');
  }, 120_000);

  it('HSTS when callwire itself serves HTTPS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', key, '-out', cert], {
      stdio: 'ignore',
    });
    const server = await startTestServer({ TLS_CERT: cert, TLS_KEY: key, WEB_DIST: webDist() });
    try {
      const hsts = await new Promise<string | undefined>((resolve, reject) => {
        https
          .get(`${server.url}/`, { rejectUnauthorized: false }, (res) => {
            res.resume();
            resolve(res.headers['strict-transport-security']);
          })
          .on('error', reject);
      });
      expect(hsts).toBe('max-age=31536000');
    } finally {
      await server.close();
    }
  });
});
