/**
 * The load-test command as a person runs it: `npm run loadtest -- …` in both modes, with its own
 * in-process server and forked bot processes, read back from its `--json` report; and its typed
 * refusals of options that do not make a call.
 */
import { networkInterfaces } from 'node:os';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function loadtest(args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/loadtest.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface ReportBot {
  name: string;
  roomId: string;
  mode: string;
  links: number;
  path: string | null;
  streams: number;
  packetsReceived: number;
  firstAudioMs: number | null;
  errors: string[];
  inbound: { participantId: string; kind: string; codec: string; packetsReceived: number }[];
}

interface Report {
  server: { turn: { allocations: number; packetsRelayed: number; packetsDropped: number } | null };
  start: { started: number; failed: number };
  bots: ReportBot[];
  processes: { label: string; cpuSeconds: number }[];
  summary: { lossPct: number; joinMs: { n: number }; firstAudioMs: { n: number } };
}

describe('npm run loadtest', () => {
  it('--mode p2p: two calls of two, every bot hears its partner directly', async () => {
    const run = await loadtest(['--mode', 'p2p', '--rooms', '2', '--duration', '3', '--ramp', '100', '--json'], 60_000);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.start).toMatchObject({ started: 4, failed: 0 });
    expect(report.bots).toHaveLength(4);
    for (const bot of report.bots) {
      const partner = report.bots.find((b) => b.roomId === bot.roomId && b !== bot)!;
      expect(bot.mode).toBe('p2p');
      expect(bot.errors, bot.name).toEqual([]);
      expect(bot.links, `${bot.name}: one link, to its partner`).toBe(1);
      expect(bot.path, `${bot.name}: host to host`).toMatch(/^host udp /);
      expect(new Set(bot.inbound.map((i) => i.participantId)).size).toBe(1);
      const voice = bot.inbound.find((i) => i.kind === 'audio')!;
      expect(voice.codec.toLowerCase()).toBe('audio/opus');
      // ≥ 3 s of voice at 50 packets/s, minus DTX pauses.
      expect(voice.packetsReceived, `${bot.name} ← ${partner.name}`).toBeGreaterThan(50);
      expect(bot.firstAudioMs, `${bot.name} decoded its partner's voice`).not.toBeNull();
    }
    expect(report.summary.joinMs.n).toBe(4);
    expect(report.summary.lossPct).toBeLessThan(5);
    // The server's own process is sampled (only signaling passes through it in P2P).
    expect(report.processes.map((p) => p.label)).toContain('server (node)');
  }, 70_000);

  /** A relayed call of two: both bots heard each other, relay to relay over `transport`. */
  async function relayedCall(transport: 'udp' | 'tcp', extra: string[]): Promise<Report> {
    const run = await loadtest(['--mode', 'p2p', '--relay', transport, ...extra, '--duration', '3', '--ramp', '100', '--json'], 60_000);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.start).toMatchObject({ started: 2, failed: 0 });
    for (const bot of report.bots) {
      expect(bot.errors, bot.name).toEqual([]);
      // Relay-only: our relayed address to the other bot's relayed address, `transport` to the relay.
      expect(bot.path, `${bot.name}: through the relay`).toMatch(new RegExp(`^relay ${transport} \\S+ → relay `));
      expect(bot.inbound.find((i) => i.kind === 'audio')!.packetsReceived, bot.name).toBeGreaterThan(50);
      expect(bot.firstAudioMs).not.toBeNull();
    }
    return report;
  }

  it('--mode p2p --relay tcp: a call relayed through the bundled TURN server over TCP', async () => {
    const report = await relayedCall('tcp', []);
    const turn = report.server.turn!;
    // libwebrtc allocates once per local network interface: one each at least, and never more
    // than one per interface (the test namespace has loopback and a veth pair: 3 interfaces).
    const interfaces = Object.values(networkInterfaces()).filter((list) => list?.some((a) => a.family === 'IPv4')).length;
    expect(turn.allocations, 'allocations').toBeGreaterThanOrEqual(2);
    expect(turn.allocations, `at most one per bot and interface (${interfaces} interfaces)`).toBeLessThanOrEqual(2 * interfaces);
    // Every packet the bots received went through the relay (twice: out of one allocation, into the other).
    const received = report.bots.reduce((n, b) => n + b.packetsReceived, 0);
    expect(turn.packetsRelayed).toBeGreaterThanOrEqual(received);
    expect(turn.packetsDropped).toBe(0);
  }, 70_000);

  it("--mode p2p --relay udp --turn coturn: the same call relayed by Debian's coturn, sampled beside the server", async () => {
    const report = await relayedCall('udp', ['--turn', 'coturn']);
    // The bundled relay did not run; coturn's process was measured instead.
    expect(report.server.turn).toBeNull();
    expect(report.processes.find((p) => p.label === 'coturn')?.cpuSeconds).toBeGreaterThan(0);
  }, 70_000);

  it('--mode sfu (the default): a group call of three on the SFU', async () => {
    const run = await loadtest(['--bots', '3', '--duration', '2', '--ramp', '100', '--json'], 60_000);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.start).toMatchObject({ started: 3, failed: 0 });
    for (const bot of report.bots) {
      expect(bot.mode).toBe('sfu');
      expect(bot.errors, bot.name).toEqual([]);
      expect(bot.links).toBe(0);
      expect(bot.streams, `${bot.name} receives the two others`).toBe(2);
      expect(bot.packetsReceived).toBeGreaterThan(0);
    }
    expect(report.processes.some((p) => p.label.startsWith('mediasoup worker'))).toBe(true);
  }, 70_000);

  it.each([
    [['--mode', 'p2p', '--bots', '3'], /a P2P call has 2 people/],
    [['--bots', '2'], /SFU calls need --bots 3 or more .* --mode p2p/],
    [['--mode', 'mesh'], /--mode must be sfu or p2p/],
    [['--relay', 'udp'], /--relay is for P2P calls/],
    [['--mode', 'p2p', '--relay', 'tls'], /--relay must be udp or tcp/],
    [['--mode', 'p2p', '--turn', 'coturn'], /--turn coturn goes with --relay/],
    [['--mode', 'p2p', '--decode', '1'], /--decode is for SFU calls/],
    [['--mode', 'p2p', '--rooms', '33'], /--rooms must be 1–32/],
  ])('refuses %j with a usage error', async (args, message) => {
    const run = await loadtest(args, 20_000);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
  });
});
