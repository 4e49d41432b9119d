/**
 * Load test (issue 7): N headless participants (bench/bots) per room join a callwire server and
 * hold real calls — live-encoded Opus voice, optionally VP8 cameras — while the server's CPU and
 * memory are sampled. `--mode sfu` (default): group calls of 3+ on the SFU. `--mode p2p`: calls of
 * two, media directly between the two bots (the web app's PeerLink), signaling through the
 * server. Reports per participant: join time, time to first media, packets received / lost,
 * jitter; and the server processes' CPU and memory.
 *
 *   sh scripts/netns.sh npm run loadtest -- --bots 32 --duration 30
 *   sh scripts/netns.sh npm run loadtest -- --bots 6 --video 2 --duration 20 --json
 *   sh scripts/netns.sh npm run loadtest -- --mode p2p --rooms 16 --duration 30
 *
 * Without --url it starts its own server in this process on loopback (TURN off, one SFU port
 * from SFU_RTC_PORT or a random one; other SFU_* variables, e.g. SFU_TOP_K_THRESHOLD, are
 * passed through), and samples this process (the server's Node side) and its mediasoup workers.
 * The bots run in a child process so their CPU is not counted as the server's. Loopback only.
 */
import { randomBytes } from 'node:crypto';
import { CallwireServer } from '../server/src/CallwireServer.ts';
import { loadConfig, type Config } from '../server/src/config.ts';
import type { BotMode, BotStats } from './bots/Bot.ts';
import type { BotSpec, FleetStartResult } from './bots/BotFleet.ts';
import { BotProcesses } from './bots/BotProcesses.ts';
import { ProcSampler, type ProcSummary } from './bots/ProcSampler.ts';
import { CoturnProcess } from '../turn/test/CoturnProcess.ts';
import type { TurnServerStats } from '../turn/src/index.ts';
import type { RelayTransport } from '../web/src/rtc/iceServers.ts';

const LIMITS = { bots: 64, rooms: 32, durationS: 600, rampMs: 10_000 } as const;
const VIDEO = { width: 320, height: 240, fps: 15 };
/** Samples in the first second after the last join still see the join burst. */
const SETTLE_MS = 1_000;
/** libwebrtc encodes each bot's voice on the JS thread that feeds it: one process holds ~40 talking bots. */
const BOTS_PER_PROCESS = 16;

interface Options {
  mode: BotMode;
  /** P2P: relay-only through the server's TURN over this transport. */
  relay: RelayTransport | null;
  /** Which relay the in-process server hands out with --relay: its bundled one, or Debian's coturn. */
  turn: 'bundled' | 'coturn';
  bots: number;
  video: number;
  durationS: number;
  rampMs: number;
  rooms: number;
  url: string | null;
  /** Bots per room that decode; null: all. */
  decode: number | null;
  /** Bot processes; null: one per 16 bots (at most 4). */
  procs: number | null;
  json: boolean;
}

const USAGE = `Usage: npm run loadtest -- [options]   (inside: sh scripts/netns.sh …)

  --mode M       sfu: group calls on the SFU (default); p2p: calls of two, media directly between
                 the bots (ICE, DTLS-SRTP, perfect negotiation as in the web app), only signaling
                 through the server
  --relay T      p2p only: relay-only ICE through the server's TURN over udp or tcp (as the web
                 app's relay=udp|tcp); the in-process server then runs its bundled relay
  --turn R       with --relay: bundled (default) or coturn — Debian's turnserver started on
                 loopback with the same TURN REST secret, its CPU sampled beside the server's
  --bots N       people per room: 3–${LIMITS.bots} with sfu (default 8), 2 with p2p (the default there);
                 rooms × bots ≤ ${LIMITS.bots}
  --video K      how many of each room's bots also send a camera (VP8 ${VIDEO.width}x${VIDEO.height}@${VIDEO.fps}), default 0
  --duration S   seconds of call after the last bot joined, 1–${LIMITS.durationS} (default 20)
  --ramp MS      delay between two joins, 0–${LIMITS.rampMs} (default 200)
  --rooms R      rooms, 1–${LIMITS.rooms} (default 1)
  --url URL      use a running server on loopback instead of starting one (no server CPU then)
  --decode D     sfu only: the first D bots of each room decode what they receive (default: all).
                 Decoding gives per-stream loss and jitter and the first decoded audio, but wrtc
                 decodes every received stream (~1000 in a 32-person call without top-K: more
                 than 2 cores); the others count packets at the transport, which loads the
                 server exactly the same (P2P bots always decode: one voice each)
  --procs P      bot processes, 1–4 (default: one per 16 bots); the bots' CPU is reported per process
  --json         print one JSON document instead of tables
`;

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    mode: 'sfu',
    relay: null,
    turn: 'bundled',
    bots: 8,
    video: 0,
    durationS: 20,
    rampMs: 200,
    rooms: 1,
    url: null,
    decode: null,
    procs: null,
    json: false,
  };
  const int = (name: string, v: string | undefined, min: number, max: number): number => {
    if (v === undefined || !/^\d+$/.test(v)) throw new UsageError(`${name} needs a whole number (got ${v ?? 'nothing'})`);
    const n = Number(v);
    if (n < min || n > max) throw new UsageError(`${name} must be ${min}–${max} (got ${n})`);
    return n;
  };
  const oneOf = <T extends string>(name: string, v: string | undefined, allowed: readonly T[]): T => {
    if (!allowed.includes(v as T)) throw new UsageError(`${name} must be ${allowed.join(' or ')} (got ${v ?? 'nothing'})`);
    return v as T;
  };
  let bots: number | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--mode':
        o.mode = oneOf('--mode', value(), ['sfu', 'p2p'] as const);
        break;
      case '--relay':
        o.relay = oneOf('--relay', value(), ['udp', 'tcp'] as const);
        break;
      case '--turn':
        o.turn = oneOf('--turn', value(), ['bundled', 'coturn'] as const);
        break;
      case '--bots':
        bots = int('--bots', value(), 2, LIMITS.bots);
        break;
      case '--video':
        o.video = int('--video', value(), 0, LIMITS.bots);
        break;
      case '--duration':
        o.durationS = int('--duration', value(), 1, LIMITS.durationS);
        break;
      case '--ramp':
        o.rampMs = int('--ramp', value(), 0, LIMITS.rampMs);
        break;
      case '--rooms':
        o.rooms = int('--rooms', value(), 1, LIMITS.rooms);
        break;
      case '--url':
        o.url = loopbackUrl(value());
        break;
      case '--decode':
        o.decode = int('--decode', value(), 0, LIMITS.bots);
        break;
      case '--procs':
        o.procs = int('--procs', value(), 1, 4);
        break;
      case '--json':
        o.json = true;
        break;
      case '-h':
      case '--help':
        console.log(USAGE);
        return process.exit(0);
      default:
        throw new UsageError(`unknown option ${a}`);
    }
  }
  if (o.turn === 'coturn' && (!o.relay || o.url)) throw new UsageError('--turn coturn goes with --relay, on the in-process server (not --url)');
  if (o.mode === 'p2p') {
    if (bots !== null && bots !== 2) throw new UsageError(`a P2P call has 2 people (got --bots ${bots}); a third moves the room to the SFU`);
    if (o.decode !== null) throw new UsageError('--decode is for SFU calls: P2P bots always decode (one voice each)');
    o.bots = 2;
  } else {
    if (o.relay) throw new UsageError('--relay is for P2P calls (--mode p2p): SFU bots reach the SFU directly');
    if (bots !== null && bots < 3) throw new UsageError(`SFU calls need --bots 3 or more (got ${bots}); two people talk peer to peer: use --mode p2p`);
    o.bots = bots ?? o.bots;
  }
  if (o.bots * o.rooms > LIMITS.bots) throw new UsageError(`--rooms × --bots is ${o.bots * o.rooms}; at most ${LIMITS.bots} bots in all`);
  if (o.video > o.bots) throw new UsageError(`--video ${o.video} is more than --bots ${o.bots}`);
  return o;
}

/** Bots never leave the machine: only loopback servers are accepted. */
function loopbackUrl(v: string | undefined): string {
  let u: URL;
  try {
    u = new URL(v ?? '');
  } catch {
    throw new UsageError(`--url needs a URL such as http://127.0.0.1:3000 (got ${v ?? 'nothing'})`);
  }
  if (!['http:', 'https:'].includes(u.protocol)) throw new UsageError('--url must be http:// or https://');
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname) && !/^127\.\d+\.\d+\.\d+$/.test(u.hostname)) {
    throw new UsageError(`--url must be a loopback address (127.0.0.1, localhost, [::1]); got ${u.hostname}`);
  }
  return u.origin;
}

/**
 * The in-process server: loopback, SFU on. For relayed P2P calls it runs its bundled TURN relay
 * (on free ports), or hands out an external relay's URLs (`turn`: coturn here) with its secret.
 * SFU_*, TURN_* and LOG_LEVEL are taken from the environment.
 */
function serverConfig(relay: 'bundled' | { urls: string[]; secret: string } | null): Config {
  const passed = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('SFU_') || k.startsWith('TURN_') || k === 'LOG_LEVEL'));
  const turn =
    relay === 'bundled'
      ? { TURN_ENABLED: 'true', TURN_UDP_PORT: '0', TURN_TCP_PORT: '0' }
      : relay
        ? { TURN_ENABLED: 'false', TURN_URLS: relay.urls.join(','), TURN_SECRET: relay.secret }
        : { TURN_ENABLED: 'false' };
  return loadConfig({
    LOG_LEVEL: 'warn',
    ...passed,
    ...turn,
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: ':memory:',
    // The bots (wrtc) have no encoded transforms, so they cannot encrypt frames (docs/e2ee.md).
    E2EE: 'off',
    SFU_ENABLED: 'true',
    SFU_RTC_PORT: process.env['SFU_RTC_PORT'] ?? String(41_000 + 2 * Math.floor(Math.random() * 3_000)),
  });
}

interface Report {
  options: Options;
  server: {
    url: string;
    inProcess: boolean;
    sfu: { workers: number; topK: number; topKThreshold: number; maxVideo: number } | null;
    /** The in-process TURN relay's counters at the end of the call (relayed P2P runs). */
    turn: TurnServerStats | null;
  };
  botProcesses: number;
  start: FleetStartResult;
  /** Seconds of call measured (last join + settle → stop). */
  measuredS: number;
  processes: ProcSummary[];
  bots: BotStats[];
  summary: {
    joinMs: Quantiles;
    firstRtpMs: Quantiles;
    firstAudioMs: Quantiles;
    packetsReceived: number;
    packetsLost: number;
    lossPct: number;
    jitterMs: Quantiles;
    botsWithErrors: number;
  };
}

interface Quantiles {
  n: number;
  median: number | null;
  p95: number | null;
  max: number | null;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const log = (m: string) => console.error(m);

  let server: CallwireServer | null = null;
  let coturn: CoturnProcess | null = null;
  let config: Config | null = null;
  if (!options.url) {
    let relay: Parameters<typeof serverConfig>[0] = null;
    if (options.relay && options.turn === 'coturn') {
      const secret = randomBytes(24).toString('hex');
      coturn = await CoturnProcess.start({ secret, realm: 'callwire', minPort: 53000, maxPort: 53999, extraArgs: ['--user-quota=0', '--total-quota=0'] });
      // Whatever ends this process (the watchdog, an error) must not leave coturn running.
      const child = coturn.child;
      process.once('exit', () => child.exitCode === null && child.kill('SIGKILL'));
      relay = { secret, urls: ['udp', 'tcp'].map((t) => `turn:127.0.0.1:${coturn!.port}?transport=${t}`) };
    } else if (options.relay) relay = 'bundled';
    config = serverConfig(relay);
    if (options.video > 0 && config.sfu && options.bots > config.sfu.maxVideo) {
      throw new UsageError(
        `cameras are allowed only in calls of ${config.sfu.maxVideo} people or fewer (SFU_MAX_VIDEO); use --bots ≤ ${config.sfu.maxVideo} with --video`,
      );
    }
    if (config.sfu && options.bots > config.sfu.maxVoice) throw new UsageError(`rooms hold at most ${config.sfu.maxVoice} people (SFU_MAX_VOICE)`);
    server = new CallwireServer(config);
    await server.start();
    if (!server.sfu) throw new Error('the SFU did not start (see the log above)');
  }
  const url = options.url ?? server!.url;
  const runId = randomBytes(3).toString('hex');
  const specs: BotSpec[] = [];
  for (let r = 0; r < options.rooms; r++) {
    const roomId = `load-${runId}-${String(r + 1).padStart(2, '0')}`;
    for (let i = 0; i < options.bots; i++) {
      specs.push({
        roomId,
        name: `Bot ${r + 1}-${i + 1}`,
        seed: specs.length + 1,
        mode: options.mode,
        relay: options.relay,
        video: i < options.video,
        decode: i < (options.decode ?? options.bots),
        startAtMs: specs.length * options.rampMs,
      });
    }
  }
  const procs = options.procs ?? Math.min(4, Math.ceil(specs.length / BOTS_PER_PROCESS));
  const startTimeoutMs = 30_000 + specs.length * options.rampMs;
  const verbose = process.env['LOADTEST_VERBOSE'] ? log : undefined;
  const runners = new BotProcesses(url, specs, procs, VIDEO, startTimeoutMs, verbose);

  const sampler = new ProcSampler(() => {
    const pids: Record<string, number | null> = {};
    if (server) pids['server (node)'] = process.pid;
    for (const slot of server?.sfu?.pool.slots ?? []) pids[`mediasoup worker ${slot.index}`] = slot.pid;
    if (coturn) pids['coturn'] = coturn.pid;
    runners.pids.forEach((pid, i) => (pids[`bots ${i + 1}/${procs}`] = pid));
    return pids;
  });
  // A hard stop for the whole run, whatever happens: joins + duration + generous slack.
  const deadlineMs = startTimeoutMs + specs.length * options.rampMs + options.durationS * 1000 + 30_000;
  const watchdog = setTimeout(() => {
    log(`load test exceeded ${Math.round(deadlineMs / 1000)} s; stopping`);
    runners.kill();
    process.exit(1);
  }, deadlineMs);

  try {
    sampler.start(1_000);
    log(`starting ${specs.length} bots (${options.mode}) in ${procs} process(es) on ${url} …`);
    const start = await runners.start();
    log(`${start.started} bots with media up, ${start.failed} failed, in ${(start.ms / 1000).toFixed(1)} s; measuring ${options.durationS} s …`);
    const from = sampler.now() + SETTLE_MS;
    await sleep(options.durationS * 1000);
    const to = sampler.now();
    sampler.sample();
    const turnStats = server?.turn?.stats() ?? null;
    const byName = new Map((await runners.stop()).map((b) => [b.name, b]));
    const bots = specs.map((s) => byName.get(s.name)).filter((b): b is BotStats => b !== undefined);
    const report: Report = {
      options,
      server: {
        url,
        inProcess: server !== null,
        sfu: config?.sfu
          ? { workers: config.sfu.workers, topK: config.sfu.topK, topKThreshold: config.sfu.topKThreshold, maxVideo: config.sfu.maxVideo }
          : null,
        turn: turnStats,
      },
      botProcesses: procs,
      start,
      measuredS: (to - from) / 1000,
      processes: sampler.summary(from, to + 1),
      bots,
      summary: summarize(bots),
    };
    console.log(options.json ? JSON.stringify(report, null, 2) : render(report));
  } finally {
    clearTimeout(watchdog);
    sampler.close();
    await runners.close();
    await server?.close();
    await coturn?.close();
  }
}

function quantiles(xs: (number | null)[]): Quantiles {
  const s = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]! : null);
  return { n: s.length, median: q(0.5), p95: q(0.95), max: s.length ? s.at(-1)! : null };
}

function summarize(bots: BotStats[]): Report['summary'] {
  // Loss is known only for bots that decode (per-stream statistics).
  const decoding = bots.filter((b) => b.decoding);
  const received = decoding.reduce((a, b) => a + b.packetsReceived, 0);
  const lost = decoding.reduce((a, b) => a + (b.packetsLost ?? 0), 0);
  return {
    joinMs: quantiles(bots.map((b) => b.joinMs)),
    firstRtpMs: quantiles(bots.map((b) => b.firstRtpMs)),
    firstAudioMs: quantiles(bots.map((b) => b.firstAudioMs)),
    packetsReceived: received,
    packetsLost: lost,
    lossPct: received + lost > 0 ? (100 * lost) / (received + lost) : 0,
    jitterMs: quantiles(decoding.filter((b) => (b.streamsWithMedia ?? 0) > 0).map((b) => b.jitterMs)),
    botsWithErrors: bots.filter((b) => b.errors.length > 0).length,
  };
}

function render(r: Report): string {
  const f = (x: number | null, d = 0) => (x === null ? '–' : x.toFixed(d));
  const lines: string[] = [];
  const sfu = r.server.sfu;
  lines.push(
    `callwire load test (${r.options.mode === 'p2p' ? (r.options.relay ? `P2P relayed through ${r.options.turn === 'coturn' ? 'coturn' : "the server's bundled TURN"} over ${r.options.relay}` : 'P2P: media between the bots, signaling through the server') : 'SFU'}): ` +
      `${r.options.rooms} room(s) × ${r.options.bots} bots (${r.options.video} with camera) in ${r.botProcesses} process(es), ramp ${r.options.rampMs} ms, ` +
      `${r.options.durationS} s of call; server ${r.server.url}${r.server.inProcess ? ' (in-process)' : ''}` +
      (sfu ? `; SFU workers ${sfu.workers}, top-K ${sfu.topK} above ${sfu.topKThreshold} people` : ''),
    '',
  );
  const head = [
    'bot',
    'join ms',
    '1st RTP ms',
    '1st audio ms',
    'streams (live)',
    'pkts recv',
    'lost',
    'loss %',
    'jitter ms',
    'max jit ms',
    'kB recv',
    'pkts sent',
    'ICE restarts',
    'path',
    'errors',
  ];
  const rows = r.bots.map((b) => [
    b.name,
    f(b.joinMs),
    f(b.firstRtpMs),
    f(b.firstAudioMs),
    `${b.streams} (${b.streamsWithMedia ?? '?'})`,
    b.decoding ? String(b.packetsReceived) : `${b.packetsReceived}*`,
    f(b.packetsLost),
    b.packetsLost !== null && b.packetsReceived + b.packetsLost > 0 ? ((100 * b.packetsLost) / (b.packetsReceived + b.packetsLost)).toFixed(2) : '–',
    f(b.jitterMs, 1),
    f(b.maxJitterMs, 1),
    (b.bytesReceived / 1024).toFixed(0),
    String(b.packetsSent),
    String(b.iceRestarts),
    b.path ?? '–',
    b.errors.length ? b.errors.join('; ').slice(0, 80) : '',
  ]);
  lines.push(...table(head, rows));
  if (r.bots.some((b) => !b.decoding)) lines.push('* not decoding: packets counted by the recv transport (all streams, RTP+RTCP); loss and jitter unknown');
  lines.push('');
  const s = r.summary;
  const q = (x: Quantiles, d = 0) => `median ${f(x.median, d)}, p95 ${f(x.p95, d)}, max ${f(x.max, d)} (n=${x.n})`;
  lines.push(
    `join ms:             ${q(s.joinMs)}`,
    `first RTP ms:        ${q(s.firstRtpMs)}`,
    `first audio ms:      ${q(s.firstAudioMs)}`,
    `jitter ms (per bot): ${q(s.jitterMs, 1)}`,
    `packets (decoding bots): ${s.packetsReceived} received, ${s.packetsLost} lost (${s.lossPct.toFixed(3)} %); bots with errors: ${s.botsWithErrors}; ` +
      `${r.start.started} published, ${r.start.failed} failed; all joined in ${(r.start.ms / 1000).toFixed(1)} s`,
    '',
    `processes over ${r.measuredS.toFixed(1)} s of call (after the last join; CPU in % of one core):`,
  );
  lines.push(
    ...table(
      ['process', 'pid', 'CPU avg %', 'CPU max %', 'CPU s', 'RSS avg MB', 'RSS max MB'],
      r.processes.map((p) => [
        p.label,
        String(p.pid ?? '–'),
        p.cpuAvgPct.toFixed(1),
        p.cpuMaxPct.toFixed(1),
        p.cpuSeconds.toFixed(1),
        p.rssAvgMB.toFixed(0),
        p.rssMaxMB.toFixed(0),
      ]),
    ),
  );
  const t = r.server.turn;
  if (t) {
    lines.push(
      '',
      `TURN relay (in the server's Node process): ${t.allocations} allocations, ${t.packetsRelayed} packets relayed ` +
        `(${t.packetsToPeers} to peers, ${t.packetsFromPeers} from peers), ${(t.bytesRelayed / 1e6).toFixed(1)} MB, ${t.packetsDropped} dropped`,
    );
  }
  if (!r.server.inProcess) lines.push('(server CPU not measured: --url points at a server this process did not start)');
  return lines.join('\n');
}

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const left = (i: number) => i === 0 || head[i] === 'errors' || head[i] === 'path';
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (left(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

main().then(
  () => process.exit(0),
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`loadtest: ${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    console.error(err);
    process.exit(1);
  },
);
