/**
 * Runs a list of connectivity checks one after the other (they share the network and the
 * server; running them in parallel would distort latency and loss), with a deadline each,
 * live progress, and dependencies: when a check that others need failed, those others fail at
 * once with "not run" instead of each waiting for its own timeout (a server that is down fails
 * the whole run in well under a second). Used by the page and by the CLI.
 */
import { Emitter } from '../lib/Emitter.ts';
import { CHECK_TITLES, summarize, type CheckName, type CheckResult, type ConnectivityReport, type Outcome } from './checks.ts';

export interface CheckContext {
  /** Reports what the check is doing now (shown live). */
  progress(text: string): void;
  /** Aborted at the deadline or when the run is cancelled; checks release what they hold. */
  signal: AbortSignal;
  /** Results of the checks that ran before this one. */
  earlier: ReadonlyMap<CheckName, CheckResult>;
}

export interface CheckDefinition {
  name: CheckName;
  /** Checks that must not have failed for this one to be worth running. */
  needs?: CheckName[];
  timeoutMs: number;
  run(ctx: CheckContext): Promise<Outcome>;
}

export type RunnerEvents = {
  start: [name: CheckName];
  progress: [name: CheckName, text: string];
  result: [result: CheckResult];
  done: [report: ConnectivityReport];
};

export interface RunnerOptions {
  client: ConnectivityReport['client'];
  server: string;
  userAgent: string;
}

export class CheckTimeoutError extends Error {
  override readonly name = 'CheckTimeoutError';
}

export class ConnectivityRunner extends Emitter<RunnerEvents> {
  readonly #abort = new AbortController();
  #running = false;

  constructor(
    private readonly checks: readonly CheckDefinition[],
    private readonly options: RunnerOptions,
  ) {
    super();
  }

  async run(): Promise<ConnectivityReport> {
    if (this.#running) throw new Error('this run already started');
    this.#running = true;
    const started = Date.now();
    const results = new Map<CheckName, CheckResult>();
    /** For a check that was not run: the title of the failure that stopped it (the root cause). */
    const rootCause = new Map<CheckName, string>();
    for (const def of this.checks) {
      if (this.#abort.signal.aborted) break;
      this.emit('start', def.name);
      const t0 = Date.now();
      const blocker = def.needs?.map((n) => results.get(n)).find((r) => r?.status === 'fail');
      let outcome: Outcome;
      if (blocker) {
        const root = rootCause.get(blocker.name) ?? blocker.title;
        rootCause.set(def.name, root);
        outcome = { status: 'fail', details: `Not run: ${root} failed.`, advice: '' };
      } else {
        outcome = await this.#runOne(def, results);
      }
      const result: CheckResult = {
        name: def.name,
        title: CHECK_TITLES[def.name],
        status: outcome.status,
        details: outcome.details,
        advice: outcome.advice ?? '',
        durationMs: Date.now() - t0,
        ...(outcome.metrics ? { metrics: outcome.metrics } : {}),
      };
      results.set(def.name, result);
      this.emit('result', result);
    }
    const checks = [...results.values()];
    const report: ConnectivityReport = {
      tool: 'callwire-connectivity',
      version: 1,
      client: this.options.client,
      server: this.options.server,
      userAgent: this.options.userAgent,
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      ...summarize(checks),
      checks,
    };
    this.emit('done', report);
    return report;
  }

  /** Stops the run after the current check (which is aborted). */
  close(): void {
    this.#abort.abort();
    this.removeAllListeners();
  }

  async #runOne(def: CheckDefinition, earlier: ReadonlyMap<CheckName, CheckResult>): Promise<Outcome> {
    const local = new AbortController();
    const onAbort = () => local.abort(new Error('cancelled'));
    this.#abort.signal.addEventListener('abort', onAbort);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new CheckTimeoutError(`no answer within ${(def.timeoutMs / 1000).toFixed(0)} s`);
        local.abort(err);
        reject(err);
      }, def.timeoutMs);
    });
    try {
      const ctx: CheckContext = { progress: (text) => this.emit('progress', def.name, text), signal: local.signal, earlier };
      return await Promise.race([def.run(ctx), deadline]);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { status: 'fail', details: `The check did not finish: ${message}.` };
    } finally {
      clearTimeout(timer);
      this.#abort.signal.removeEventListener('abort', onAbort);
      if (!local.signal.aborted) local.abort(new Error('check finished'));
    }
  }
}
