// Runs Debian's coturn `turnserver` on loopback with TURN REST auth, for the compatibility
// test and the benchmark. Fails loudly when coturn is not installed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import dgram from 'node:dgram';
import { spawn, type ChildProcess } from 'node:child_process';
import { TurnClient } from '../src/client/index.ts';

export function findTurnserver(): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/sbin'])) {
    const candidate = path.join(dir, 'turnserver');
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  throw new Error('coturn is not installed (no `turnserver` on PATH): run `apt-get install coturn`');
}

/** A port free for both UDP and TCP on 127.0.0.1. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const udp = dgram.createSocket('udp4');
    const port = await new Promise<number>((resolve) => udp.bind(0, '127.0.0.1', () => resolve(udp.address().port)));
    const tcpFree = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    udp.close();
    if (tcpFree) return port;
  }
  throw new Error('no free port');
}

export interface CoturnOptions {
  secret: string;
  realm: string;
  minPort?: number;
  maxPort?: number;
  extraArgs?: string[];
}

export class CoturnProcess {
  readonly port: number;
  readonly child: ChildProcess;
  private readonly dir: string;
  private output = '';

  private constructor(port: number, child: ChildProcess, dir: string) {
    this.port = port;
    this.child = child;
    this.dir = dir;
    child.stdout?.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-20_000)));
    child.stderr?.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-20_000)));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get log(): string {
    return this.output;
  }

  static async start(options: CoturnOptions): Promise<CoturnProcess> {
    const binary = findTurnserver();
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coturn-'));
    const args = [
      '-n', // no config file
      `--listening-port=${port}`,
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--min-port=${options.minPort ?? 50000}`,
      `--max-port=${options.maxPort ?? 50999}`,
      '--use-auth-secret',
      `--static-auth-secret=${options.secret}`,
      `--realm=${options.realm}`,
      '--allow-loopback-peers',
      '--no-cli',
      '--no-tls',
      '--no-dtls',
      '--no-multicast-peers',
      `--pidfile=${path.join(dir, 'turnserver.pid')}`,
      `--log-file=${path.join(dir, 'turnserver.log')}`,
      '--simple-log',
      ...(options.extraArgs ?? []),
    ];
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const coturn = new CoturnProcess(port, child, dir);
    // ready when it answers a STUN Binding (bounded: 10 s)
    const until = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`turnserver exited with ${child.exitCode}:\n${coturn.log}`);
      try {
        const probe = await TurnClient.connect({ transport: 'udp', host: '127.0.0.1', port, requestTimeoutMs: 300 });
        try {
          await probe.binding();
          return coturn;
        } finally {
          probe.close();
        }
      } catch {
        if (Date.now() > until) {
          await coturn.close();
          throw new Error(`turnserver did not answer STUN within 10 s:\n${coturn.log}`);
        }
      }
    }
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
