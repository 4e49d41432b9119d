import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { startTestServer } from './testing/harness.ts';
import { healthDetails } from './testing/health.ts';

describe('CallwireServer', () => {
  it('serves HTTPS and secure WebSockets when given a certificate and key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    // The same command the README gives for a self-signed test pair.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', key, '-out', cert], {
      stdio: 'ignore',
    });
    const server = await startTestServer({ TLS_CERT: cert, TLS_KEY: key });
    try {
      expect(server.url).toMatch(/^https:/);
      const socket = io(server.url, {
        auth: { guest: { handle: 'tls-user', name: 'TLS', key: 'k'.repeat(20) } },
        transports: ['websocket'],
        rejectUnauthorized: false,
      });
      const session = await new Promise((resolve, reject) => {
        socket.once('session', resolve);
        socket.once('connect_error', reject);
      });
      expect(session).toMatchObject({ user: { handle: 'tls-user' } });
      socket.close();
    } finally {
      await server.close();
    }
  });

  it('serves the app for / and /call/:room, and a health check', async () => {
    const server = await startTestServer();
    try {
      // Liveness for everyone; the counts only for the operator's metrics token.
      const open = await fetch(`${server.url}/healthz`);
      expect(open.status).toBe(200);
      expect(await open.json()).toEqual({ ok: true });
      const wrong = await fetch(`${server.url}/healthz`, { headers: { authorization: 'Bearer not-the-metrics-token-at-all' } });
      expect(await wrong.json()).toEqual({ ok: true });
      expect((await healthDetails(server.url)).body).toMatchObject({ ok: true, online: 0, rooms: 0, calls: 0 });
      expect(await (await fetch(`${server.url}/api/config`)).json()).toEqual({ authMode: 'guest', groupCalls: false, e2ee: 'off' });
      for (const path of ['/', '/call/some-room']) {
        const res = await fetch(server.url + path);
        // 200 with the built app, or 503 telling the operator to build it: never a crash.
        expect([200, 503]).toContain(res.status);
        if (res.status === 200) expect(await res.text()).toContain('<div id="app">');
      }
      expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
