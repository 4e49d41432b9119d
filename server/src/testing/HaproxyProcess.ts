/**
 * Debian's HAProxy with the project's own config (scripts/haproxy/haproxy.cfg) in front of two
 * callwire nodes, on a free loopback port. Fails loudly when HAProxy is not installed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freeTcpPort } from './RedisProcess.ts';

export const HAPROXY_CONFIG = fileURLToPath(new URL('../../../scripts/haproxy/haproxy.cfg', import.meta.url));

export class HaproxyProcess {
  #log = '';

  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    const keep = (d: Buffer) => (this.#log = (this.#log + d.toString()).slice(-20_000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get log(): string {
    return this.#log;
  }

  /** Starts in front of `nodes` (host:port each); resolves once a node answers /healthz through it. */
  static async start(nodes: [string, string]): Promise<HaproxyProcess> {
    const bin = spawnSync('sh', ['-c', 'command -v haproxy'], { encoding: 'utf8' }).stdout.trim();
    if (!bin) throw new Error('haproxy is not installed: run `sh scripts/system-deps.sh` (Debian package haproxy)');
    const port = await freeTcpPort();
    const child = spawn(bin, ['-db', '-f', HAPROXY_CONFIG], {
      env: { ...process.env, HAPROXY_BIND: `127.0.0.1:${port}`, CALLWIRE_NODE_A: nodes[0], CALLWIRE_NODE_B: nodes[1] },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p = new HaproxyProcess(port, child);
    const until = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}:\n${p.log}`);
      try {
        if ((await fetch(`${p.url}/healthz`, { signal: AbortSignal.timeout(1_000) })).status === 200) return p;
      } catch {
        // not up yet
      }
      if (Date.now() > until) {
        await p.close();
        throw new Error(`haproxy did not serve /healthz within 15 s:\n${p.log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }
}
