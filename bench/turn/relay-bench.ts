// Relay benchmark: the bundled TURN server vs coturn, side by side, same Node client.
// N UDP clients × M packets each through UDP relays to a loopback echo peer, per relay mode
// (ChannelData, Send/Data indications). Reports packets relayed per CPU-second of the server
// process (read from /proc/<pid>/stat; both servers run as child processes) and RTT.
//
// Run inside a private network namespace (loopback only):
//   unshare -n sh -c 'ip link set lo up && exec "$@"' _ npx tsx bench/turn/relay-bench.ts [--clients 50] [--packets 1000]
import fs from 'node:fs';
import path from 'node:path';
import dgram from 'node:dgram';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TurnClient } from '../../turn/src/client/index.ts';
import { createTurnCredentials } from '../../turn/src/credentials.ts';
import { CoturnProcess, freePort } from '../../turn/test/CoturnProcess.ts';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '50' },
    packets: { type: 'string', default: '1000' },
    size: { type: 'string', default: '160' },
    window: { type: 'string', default: '4' },
    'run-seconds': { type: 'string', default: '12' },
  },
});
const CLIENTS = Math.min(500, Number(args.clients));
const PACKETS = Math.min(100_000, Number(args.packets));
const SIZE = Math.max(16, Math.min(1400, Number(args.size)));
const WINDOW = Math.max(1, Math.min(64, Number(args.window)));
const RUN_MS = Math.min(30, Number(args['run-seconds'])) * 1000;
const SECRET = 'bench-secret-0123456789abcdef';
const REALM = 'bench.callwire';
const PEER_IP = '127.0.0.2';
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** utime + stime of a process (all its threads), in seconds. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

interface ServerUnderTest {
  name: string;
  pid: number;
  port: number;
  close(): Promise<void>;
}

async function startBundled(): Promise<ServerUnderTest> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'turn/src/main.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      TURN_SECRET: SECRET,
      TURN_REALM: REALM,
      TURN_LISTEN_IP: '127.0.0.1',
      TURN_UDP_PORT: String(port),
      TURN_TCP_PORT: 'off',
      TURN_MIN_PORT: '51000',
      TURN_MAX_PORT: '51999',
      TURN_ALLOWED_PEERS: '127.0.0.0/8',
      TURN_USER_QUOTA: '0',
      TURN_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const until = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`bundled server exited:\n${log}`);
    try {
      const probe = await TurnClient.connect({ transport: 'udp', host: '127.0.0.1', port, requestTimeoutMs: 300 });
      try {
        await probe.binding();
        break;
      } finally {
        probe.close();
      }
    } catch {
      if (Date.now() > until) {
        child.kill('SIGKILL');
        throw new Error(`bundled server did not start:\n${log}`);
      }
    }
  }
  return {
    name: 'callwire (node-turn, patched)',
    pid: child.pid ?? -1,
    port,
    close: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

async function startCoturn(): Promise<ServerUnderTest> {
  const coturn = await CoturnProcess.start({
    secret: SECRET,
    realm: REALM,
    minPort: 52000,
    maxPort: 52999,
    extraArgs: ['--user-quota=0', '--total-quota=0', '--no-tcp'],
  });
  return { name: 'coturn 4.6 (Debian)', pid: coturn.pid, port: coturn.port, close: () => coturn.close() };
}

type Mode = 'channel' | 'indication';

interface RunResult {
  server: string;
  mode: Mode;
  sent: number;
  echoed: number;
  cpu: number;
  wall: number;
  rtts: number[];
}

async function run(server: ServerUnderTest, mode: Mode, peer: { address: string; port: number }, packets = PACKETS): Promise<RunResult> {
  const clients: TurnClient[] = [];
  try {
    for (let i = 0; i < CLIENTS; i++) {
      const creds = createTurnCredentials({ secret: SECRET, userId: `bench-${i}`, ttlSeconds: 3600 });
      const client = await TurnClient.connect({
        transport: 'udp',
        host: '127.0.0.1',
        port: server.port,
        username: creds.username,
        credential: creds.credential,
        requestTimeoutMs: 5000,
      });
      clients.push(client);
      await client.allocate();
      if (mode === 'channel') await client.channelBind(0x4000, peer);
      else await client.createPermission(peer.address);
    }
    const rtts: number[] = [];
    let sent = 0;
    let echoed = 0;
    const cpuBefore = cpuSeconds(server.pid);
    const started = performance.now();
    const deadline = started + RUN_MS;
    await Promise.all(
      clients.map(
        (client) =>
          new Promise<void>((resolve) => {
            let next = 0;
            let inFlight = 0;
            const sentAt = new Map<number, number>();
            const payload = Buffer.alloc(SIZE);
            const send = () => {
              while (inFlight < WINDOW && next < packets && performance.now() < deadline) {
                const seq = next++;
                payload.writeUInt32BE(seq, 0);
                sentAt.set(seq, performance.now());
                inFlight++;
                sent++;
                if (mode === 'channel') client.sendChannelData(0x4000, payload);
                else client.sendIndication(peer, payload);
                // a lost packet frees its window slot after 1 s
                setTimeout(() => {
                  if (sentAt.delete(seq)) {
                    inFlight--;
                    pump();
                  }
                }, 1000).unref();
              }
            };
            const pump = () => {
              send();
              if (inFlight === 0 && (next >= packets || performance.now() >= deadline)) resolve();
            };
            client.on('data', (_peer, data) => {
              const seq = data.readUInt32BE(0);
              const t0 = sentAt.get(seq);
              if (t0 === undefined) return;
              sentAt.delete(seq);
              rtts.push(performance.now() - t0);
              echoed++;
              inFlight--;
              pump();
            });
            pump();
          }),
      ),
    );
    const wall = (performance.now() - started) / 1000;
    const cpu = cpuSeconds(server.pid) - cpuBefore;
    return { server: server.name, mode, sent, echoed, cpu, wall, rtts };
  } finally {
    for (const client of clients) {
      await client.refresh(0).catch(() => undefined);
      client.close();
    }
  }
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const echo = dgram.createSocket('udp4');
  echo.on('message', (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address));
  await new Promise<void>((r) => echo.bind(0, PEER_IP, () => r()));
  const peer = { address: PEER_IP, port: echo.address().port };
  const results: RunResult[] = [];
  const servers: ServerUnderTest[] = [];
  try {
    servers.push(await startBundled(), await startCoturn());
    // warm-up (not reported): JIT of the Node server and of this client process
    for (const server of servers) await run(server, 'channel', peer, Math.min(200, PACKETS));
    for (const mode of ['channel', 'indication'] as const) {
      for (const server of servers) {
        process.stderr.write(`running ${server.name} / ${mode} ...\n`);
        results.push(await run(server, mode, peer));
      }
    }
  } finally {
    await Promise.all(servers.map((s) => s.close()));
    echo.close();
  }

  const lines = [
    `${CLIENTS} UDP clients × ${PACKETS} packets of ${SIZE} B, window ${WINDOW} per client, echo peer on ${PEER_IP}; ${RUN_MS / 1000} s cap per run. Node ${process.version}, ${(await import('node:os')).cpus().length} cores.`,
    '',
    '| server | relay mode | packets relayed | lost | server CPU (s) | relayed / CPU-s | wall (s) | RTT median (ms) | RTT p95 (ms) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of results) {
    const relayed = 2 * r.echoed; // client→peer and peer→client per echoed packet
    const sorted = [...r.rtts].sort((a, b) => a - b);
    const lost = r.sent ? (((r.sent - r.echoed) / r.sent) * 100).toFixed(2) + ' %' : '-';
    lines.push(
      `| ${r.server} | ${r.mode === 'channel' ? 'ChannelData' : 'Send/Data indication'} | ${relayed} | ${lost} | ${r.cpu.toFixed(2)} | ${r.cpu > 0 ? Math.round(relayed / r.cpu) : '-'} | ${r.wall.toFixed(2)} | ${percentile(sorted, 50).toFixed(2)} | ${percentile(sorted, 95).toFixed(2)} |`,
    );
  }
  console.log(lines.join('\n'));
}

await main();
