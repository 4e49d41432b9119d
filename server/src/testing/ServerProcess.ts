/**
 * A callwire node as a real process (`node server/src/main.ts`, as `npm start` runs it), so tests
 * can kill it the way a crash or an operator would (SIGKILL) and start it again on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TEST_METRICS_TOKEN } from './health.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export class ServerProcess {
  #child: ChildProcess | null = null;
  #log = '';

  constructor(
    readonly port: number,
    readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get log(): string {
    return this.#log;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  static async start(port: number, env: Record<string, string>): Promise<ServerProcess> {
    const p = new ServerProcess(port, env);
    await p.restart();
    return p;
  }

  /** (Re)starts the process; resolves when /healthz answers 200 (bounded: 30 s). */
  async restart(): Promise<void> {
    if (this.#child) return;
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(this.port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', METRICS_TOKEN: TEST_METRICS_TOKEN, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (d: Buffer) => (this.#log = (this.#log + d.toString()).slice(-40_000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.#child = child;
    child.once('exit', () => {
      if (this.#child === child) this.#child = null;
    });
    const until = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`callwire exited with ${child.exitCode}:\n${this.#log}`);
      try {
        const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(1_000) });
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > until) {
        await this.kill();
        throw new Error(`callwire did not become healthy on port ${this.port} within 30 s:\n${this.#log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops the process: SIGKILL by default, as a crash would (nothing is flushed or handed over). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
    await exited;
    clearTimeout(timer);
    this.#child = null;
  }
}
