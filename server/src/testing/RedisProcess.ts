/**
 * Debian's `redis-server` on a free loopback port with its own data directory and AOF, for
 * tests and benchmarks. It can be stopped and started again on the same port and data (a Redis
 * outage, or a full restart that must keep what AOF holds). Fails loudly when Redis is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A TCP port nobody listens on at 127.0.0.1 right now. */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export function redisServerBinary(): string {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  if (!path) throw new Error('redis-server is not installed: run `sh scripts/system-deps.sh` (Debian package redis-server)');
  return path;
}

export class RedisProcess {
  #child: ChildProcess | null = null;
  #log = '';

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get log(): string {
    return this.#log;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== null;
  }

  static async start(): Promise<RedisProcess> {
    const r = new RedisProcess(await freeTcpPort(), mkdtempSync(join(tmpdir(), 'callwire-redis-')));
    await r.resume();
    return r;
  }

  /** Starts (again) on the same port and data directory; resolves once it answers PING. */
  async resume(): Promise<void> {
    if (this.#child) return;
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
      '--daemonize',
      'no',
      '--protected-mode',
      'yes',
    ];
    const child = spawn(redisServerBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => (this.#log = (this.#log + d.toString()).slice(-20_000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.#child = child;
    child.once('exit', () => {
      if (this.#child === child) this.#child = null;
    });
    const until = Date.now() + 10_000;
    while (!(await this.#pong())) {
      if (child.exitCode !== null || Date.now() > until) {
        await this.stop();
        throw new Error(`redis-server did not start on port ${this.port}:\n${this.#log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  #pong(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = net.connect(this.port, '127.0.0.1');
      const done = (ok: boolean) => {
        s.destroy();
        resolve(ok);
      };
      s.setTimeout(500, () => done(false));
      s.once('error', () => done(false));
      s.once('connect', () => s.write('PING\r\n'));
      s.once('data', (d) => done(d.toString().startsWith('+PONG')));
    });
  }

  /** Stops the server (SIGTERM: AOF is flushed; SIGKILL: as a crash would). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    this.#child = null;
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
