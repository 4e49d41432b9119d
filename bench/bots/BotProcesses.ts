/**
 * The bots of a load test or benchmark (bench/loadtest.ts, bench/sfu-overhead.ts): a plan of
 * BotSpecs split round-robin over a few forked botRunner.ts processes (so the bots' CPU is never
 * counted as the server's), started together, stopped with their statistics. `close()` waits a
 * little for the runners to exit and kills what is left; `kill()` does it at once.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BotStats } from './Bot.ts';
import type { BotSpec, FleetConfig, FleetStartResult } from './BotFleet.ts';
import type { FromRunner, ToRunner } from './runnerProtocol.ts';
import type { VideoOptions } from './VideoGenerator.ts';

const RUNNER = fileURLToPath(new URL('./botRunner.ts', import.meta.url));
/** How long a stopping runner may take to hand over its statistics and exit. */
const STOP_TIMEOUT_MS = 15_000;

interface Runner {
  process: ChildProcess;
  config: FleetConfig;
  next(type: FromRunner['type']): Promise<FromRunner>;
}

export class BotProcesses {
  readonly #runners: Runner[];
  #closed = false;

  constructor(url: string, specs: BotSpec[], procs: number, video: VideoOptions, startTimeoutMs: number, onProgress: (message: string) => void = () => {}) {
    this.#runners = Array.from({ length: procs }, () => {
      const child = fork(RUNNER, [], { ...botExec(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      return { process: child, config: { url, bots: [], video, startTimeoutMs }, next: listen(child, onProgress) };
    });
    // Round-robin, so every process has bots of every room and joins stay in the planned order.
    specs.forEach((spec, i) => this.#runners[i % procs]!.config.bots.push(spec));
  }

  get pids(): number[] {
    return this.#runners.flatMap((r) => (r.process.pid ? [r.process.pid] : []));
  }

  async start(): Promise<FleetStartResult> {
    const started = this.#runners.map((r) => r.next('started'));
    for (const r of this.#runners) r.process.send({ type: 'start', config: r.config } satisfies ToRunner);
    const results = (await Promise.all(started)).map((m) => (m as Extract<FromRunner, { type: 'started' }>).result);
    return {
      started: results.reduce((a, x) => a + x.started, 0),
      failed: results.reduce((a, x) => a + x.failed, 0),
      ms: Math.max(...results.map((x) => x.ms)),
    };
  }

  /** Stops every bot; resolves with their statistics (the runners exit). */
  async stop(): Promise<BotStats[]> {
    const stats = this.#runners.map((r) => r.next('stats'));
    for (const r of this.#runners) if (r.process.connected) r.process.send({ type: 'stop' } satisfies ToRunner);
    return (await Promise.all(stats)).flatMap((m) => (m as Extract<FromRunner, { type: 'stats' }>).bots);
  }

  /** Kills every runner now (a watchdog's last resort). */
  kill(): void {
    for (const { process: p } of this.#runners) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }

  /** Waits a little for the runners to exit, then kills what is left. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(
      this.#runners.map(({ process: p }) =>
        p.exitCode !== null || p.signalCode !== null
          ? Promise.resolve()
          : new Promise<void>((done) => {
              const timer = setTimeout(() => {
                p.kill('SIGKILL');
                done();
              }, STOP_TIMEOUT_MS);
              p.once('exit', () => {
                clearTimeout(timer);
                done();
              });
              if (p.connected) p.disconnect();
            }),
      ),
    );
  }
}

/** Resolves with the runner's next message of a type; a fatal message or an exit rejects. */
function listen(runner: ChildProcess, onProgress: (message: string) => void): (type: FromRunner['type']) => Promise<FromRunner> {
  const waiting = new Map<string, { resolve: (m: FromRunner) => void; reject: (e: Error) => void }>();
  const failAll = (e: Error) => {
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  };
  runner.on('message', (m: FromRunner) => {
    if (m.type === 'progress') return onProgress(m.message);
    if (m.type === 'fatal') return failAll(new Error(`bot process: ${m.message}`));
    waiting.get(m.type)?.resolve(m);
    waiting.delete(m.type);
  });
  runner.on('exit', (code) => failAll(new Error(`bot process exited (${code})`)));
  return (type) => new Promise((resolve, reject) => waiting.set(type, { resolve, reject }));
}

/**
 * How to start a bot process. libwebrtc gives its audio and RTP threads real-time priority
 * (SCHED_FIFO), which root may do: on a 2-core machine 32 bots then starve the SFU they measure
 * (its UDP socket overflows and a third of the packets are dropped before mediasoup reads them).
 * Without CAP_SYS_NICE, as for any unprivileged client, those threads stay normal, and the bot
 * process also lowers its own priority (botRunner.ts), so the server gets the CPU it needs.
 */
function botExec(): { execPath?: string; execArgv: string[] } {
  const setpriv = '/usr/bin/setpriv';
  if (process.getuid?.() !== 0 || !existsSync(setpriv)) return { execArgv: ['--import', 'tsx'] };
  return { execPath: setpriv, execArgv: ['--bounding-set', '-sys_nice', '--inh-caps', '-sys_nice', '--', process.execPath, '--import', 'tsx'] };
}
