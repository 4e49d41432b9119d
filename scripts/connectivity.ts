#!/usr/bin/env -S node --import tsx
/**
 * callwire-connectivity: checks a callwire deployment from a terminal (docs/connectivity.md).
 *
 *   npm run connectivity -- --url https://call.example.com [--json] [--token <jwt>] [--ca <pem>]
 *
 * Human-readable with live progress on stderr by default; `--json` prints one report
 * (docs/connectivity.schema.json) on stdout. Exit 0 when no check failed, 1 when one did,
 * 2 for bad options.
 */
import { hostname } from 'node:os';
import { formatText, type CheckResult } from '../web/src/connectivity/checks.ts';
import { ConnectivityRunner } from '../web/src/connectivity/ConnectivityRunner.ts';
import { CliChecks } from './connectivity/CliChecks.ts';
import { CliUsageError, USAGE, parseCliOptions, type CliOptions } from './connectivity/CliOptions.ts';

async function main(argv: string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseCliOptions(argv);
  } catch (err) {
    if (!(err instanceof CliUsageError)) throw err;
    process.stderr.write(`callwire-connectivity: ${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  const checks = new CliChecks(options);
  const runner = new ConnectivityRunner(checks.definitions(), {
    client: 'cli',
    server: options.url.origin,
    userAgent: `callwire-connectivity (Node ${process.version}, ${process.platform}, ${hostname()})`,
  });
  // Progress goes to stderr in both modes, so `--json > report.json` still shows it live.
  const tty = process.stderr.isTTY;
  const mark: Record<CheckResult['status'], string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' };
  if (!options.json) process.stderr.write(`Testing ${options.url.origin}\n`);
  runner.on('progress', (name, text) => {
    if (tty) process.stderr.write(`\r\x1b[2K  … ${name}: ${text}`);
  });
  runner.on('result', (r) => {
    if (tty) process.stderr.write('\r\x1b[2K');
    if (!options.json) process.stderr.write(`[${mark[r.status]}] ${r.title} (${r.durationMs} ms)\n`);
  });
  const stop = () => runner.close();
  process.once('SIGINT', stop);
  try {
    const report = await runner.run();
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `\n${formatText(report)}\n`);
    return report.checks.some((c) => c.status === 'fail') ? 1 : 0;
  } finally {
    process.off('SIGINT', stop);
    checks.close();
    runner.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // wrtc keeps native threads alive after its peer connections close: exit explicitly.
    process.exitCode = code;
    setTimeout(() => process.exit(code), 200).unref();
    process.stdout.write('', () => process.exit(code));
  },
  (err: unknown) => {
    process.stderr.write(`callwire-connectivity: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
