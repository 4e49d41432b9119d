/**
 * Call quality on bad networks, in Debian Chromium (320x240 H.264 + Opus), in the loopback-only
 * namespace. For each case a fresh call settles, the impairment goes on, and after a further
 * settle the receivers' getStats() are read over a window (default 20 s):
 *   - audio concealed: concealedSamples / totalSamplesReceived,
 *   - video frozen: totalFreezesDuration / window (per received stream),
 *   - video fps received, and whether every link stayed connected.
 * Medians over all (receiver, sender) pairs; the worst pair in brackets.
 *
 * Impairments: `loss` drops that share of UDP datagrams on every hop (nftables); `rate` caps each
 * UDP flow (nftables meter); `delay`/`jitter` force every page through the bundled TURN relay
 * with its test-only impairment on (one hop each way: sender → relay → receiver).
 *
 *   sh scripts/netns.sh npx tsx bench/network-quality.ts [--cases p2p:loss=20,sfu:loss=20,...]
 *        [--window 20] [--settle 5]
 * Case syntax: `<p2p|sfu|voice>:<k>=<v>+<k>=<v>`, k ∈ loss (%), rate (kbit/s), delay (ms one
 * way per hop), jitter (ms), red (on|off). `voice` is a 1:1 call without cameras.
 */
import { chromium, type Browser, type Page } from '@playwright/test';
import { CallwireServer } from '../server/src/CallwireServer.ts';
import { loadConfig } from '../server/src/config.ts';
import { NetworkImpairment } from '../server/src/testing/NetworkImpairment.ts';
import { DelayHop } from '../server/src/testing/DelayHop.ts';
import { CHROMIUM_ARGS } from '../playwright.config.ts';
import type { LinkStats } from '../web/src/rtc/stats.ts';

const DEFAULT_CASES = [
  ...[0, 10, 20, 30, 40].flatMap((l) => [`p2p:loss=${l}`, `sfu:loss=${l}`]),
  'p2p:loss=20+red=off',
  'sfu:loss=20+red=off',
  'sfu:rate=300+res=640x480',
  'p2p:rate=300+res=640x480',
  'voice:rate=50',
  'p2p:delay=75+jitter=30',
  'sfu:delay=75+jitter=30',
];

const argOf = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const intArg = (name: string, def: number, max: number): number => {
  const v = Number(argOf(name) ?? def);
  if (!Number.isInteger(v) || v < 1 || v > max) throw new Error(`--${name} must be an integer 1..${max}`);
  return v;
};
const WINDOW_S = intArg('window', 20, 120);
const SETTLE_S = intArg('settle', 5, 60);

interface Case {
  label: string;
  kind: 'p2p' | 'sfu' | 'voice';
  loss: number;
  rate: number;
  delay: number;
  jitter: number;
  red: boolean;
  /** Loss on one leg of the SFU only (diagnosis): up = to the SFU, down = from it. */
  leg: 'both' | 'up' | 'down';
  /** Camera size (640x480 sends two simulcast layers to the SFU; 320x240 one). */
  res: string;
}

function parseCase(text: string): Case {
  const m = /^(p2p|sfu|voice):(.*)$/.exec(text);
  if (!m) throw new Error(`bad case "${text}": expected <p2p|sfu|voice>:k=v+k=v`);
  const c: Case = { label: text, kind: m[1] as Case['kind'], loss: 0, rate: 0, delay: 0, jitter: 0, red: true, leg: 'both', res: '320x240' };
  for (const kv of m[2]!.split('+').filter(Boolean)) {
    const [k, v] = kv.split('=');
    if (k === 'res') {
      if (!/^\d{3,4}x\d{3,4}$/.test(v ?? '')) throw new Error(`bad case "${text}": res=WxH`);
      c.res = v!;
      continue;
    }
    if (k === 'leg') {
      if (v !== 'up' && v !== 'down') throw new Error(`bad case "${text}": leg=up|down`);
      c.leg = v;
      continue;
    }
    if (k === 'red') {
      if (v !== 'on' && v !== 'off') throw new Error(`bad case "${text}": red=on|off`);
      c.red = v === 'on';
      continue;
    }
    const n = Number(v);
    const max = k === 'loss' ? 100 : 100_000;
    if (!['loss', 'rate', 'delay', 'jitter'].includes(k!) || !Number.isInteger(n) || n < 0 || n > max) throw new Error(`bad case "${text}": ${kv}`);
    (c as unknown as Record<string, number>)[k!] = n;
  }
  return c;
}

const SFU_PORT = 40870;
const TURN_PORT = 40872;
const HOP_PORT = 40873;
const CASES = (argOf('cases')?.split(',') ?? DEFAULT_CASES).map(parseCase);

const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]! : NaN);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(fn: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await sleep(250);
  }
  throw new Error(`timed out: ${what}`);
}

type Sample = Record<string, LinkStats>;
const sampleQuality = (p: Page) => p.evaluate(() => window.callwire!.sampleQuality()) as Promise<Sample>;

interface Row {
  c: Case;
  concealed: number[];
  frozen: number[];
  fps: number[];
  videoKbps: number[];
  height: number[];
  connected: boolean;
  codecs: Set<string>;
}

/** NQ_DIAG=1: what the SFU saw (loss, NACKs, PLIs, retransmissions) per producer and consumer. */
async function diagnose(server: CallwireServer): Promise<void> {
  if (process.env['NQ_DIAG'] !== '1' || !server.sfu) return;
  for (const room of server.sfu.sfuRooms) {
    for (const [pid, peer] of room.peers) {
      for (const [source, producer] of peer.producers) {
        console.error(`producer ${pid.slice(0, 6)} ${source} codecs=${producer.rtpParameters.codecs.map((c) => `${c.mimeType}/${c.payloadType}`).join(',')}`);
        const st = (await producer.getStats()) as unknown as Record<string, unknown>[];
        for (const x of st)
          console.error(
            `producer ${pid.slice(0, 6)} ${source} rid=${x['rid'] ?? '-'} lost=${x['packetsLost']} frac=${x['fractionLost']} nack=${x['nackCount']} pli=${x['pliCount']} fir=${x['firCount']} rtx=${x['packetsRetransmitted']} repaired=${x['packetsRepaired']} bitrate=${x['bitrate']} jitter=${x['jitter']}`,
          );
      }
      if (peer.recv) {
        const ts = (await peer.recv.getStats())[0] as unknown as Record<string, unknown>;
        console.error(
          `recv transport →${pid.slice(0, 6)} availableOutgoingBitrate=${ts['availableOutgoingBitrate']} sendBitrate=${ts['sendBitrate']} probation=${ts['probationBytesSent']} rtpPacketLossSent=${ts['rtpPacketLossSent']}`,
        );
      }
      for (const consumer of peer.consumers.values()) {
        console.error(
          `consumer →${pid.slice(0, 6)} ${consumer.kind} type=${consumer.type} current=${JSON.stringify(consumer.currentLayers)} preferred=${JSON.stringify(consumer.preferredLayers)} priority=${consumer.priority}`,
        );
        const st = (await consumer.getStats()) as unknown as Record<string, unknown>[];
        const x = st.find((e) => e['type'] === 'outbound-rtp')!;
        console.error(
          `consumer →${pid.slice(0, 6)} ${consumer.kind} lost=${x['packetsLost']} frac=${x['fractionLost']} nack=${x['nackCount']} pli=${x['pliCount']} fir=${x['firCount']} rtx=${x['packetsRetransmitted']} sent=${x['packetCount']} score=${x['score']}`,
        );
      }
    }
  }
}

async function runCase(browser: Browser, base: string, impair: NetworkImpairment, hop: DelayHop, c: Case, n: number, server: CallwireServer): Promise<Row> {
  // Delay and jitter: every page relay-only through the bundled TURN relay, behind the hop.
  // Each packet crosses the hop twice (sender → relay, relay → receiver), so each crossing
  // gets half the one-way delay asked for.
  hop.set(c.delay / 2, Math.min(c.jitter / 2, c.delay / 2));
  const people = c.kind === 'sfu' ? 3 : 2;
  const room = `nq-${n}-${Date.now()}`;
  const query = new URLSearchParams({ res: c.res });
  if (c.kind === 'voice') query.set('video', '0');
  if (!c.red) query.set('red', 'off');
  if (c.delay || c.jitter) query.set('relay', 'udp');
  const pages: Page[] = [];
  const names = Array.from({ length: people }, (_, i) => `N${i + 1}`);
  try {
    for (const name of names) {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await page.goto(`${base}/call/${room}?name=${name}&${query}`);
      pages.push(page);
    }
    // Settled: everyone receives everyone, and a group call is all on the SFU.
    await until(
      async () => {
        for (const p of pages) {
          const ok = await p.evaluate(
            ([want, sfu]) => {
              const cw = window.callwire;
              const room = cw?.room;
              if (!room || room.participants.size < want) return false;
              if (sfu && (cw.mode() !== 'sfu' || cw.p2pLinks() > 0)) return false;
              return [...room.participants.values()].every((r) => r.connection === 'connected');
            },
            [people - 1, c.kind === 'sfu'] as const,
          );
          if (!ok) return false;
        }
        return true;
      },
      60_000,
      'call settled',
    );
    await sleep(3_000);
    impair.apply({
      lossPercent: c.loss,
      rateKbps: c.rate,
      toPort: c.leg === 'up' ? SFU_PORT : undefined,
      fromPort: c.leg === 'down' ? SFU_PORT : undefined,
    });
    await sleep(SETTLE_S * 1_000);
    await Promise.all(pages.map(sampleQuality));
    const firstFrames = await Promise.all(
      pages.map(async (p) => Object.fromEntries(Object.entries(await sampleQuality(p)).map(([k, v]) => [k, v.video.framesDecoded]))),
    );
    const t0 = Date.now();
    await sleep(WINDOW_S * 1_000);
    const ends = await Promise.all(pages.map(sampleQuality));
    await diagnose(server);
    if (process.env['NQ_DIAG'] === '1') console.error((await import('node:child_process')).execFileSync('nft', ['list', 'ruleset']).toString());
    if (process.env['NQ_DIAG'] === '1') {
      for (const p of pages) {
        const d = await p.evaluate(`(async () => {
          const room = window.callwire.room; const out = [];
          for (const r of room.participants.values()) {
            const rep = await r.statsSource.getStats();
            rep.forEach((s) => { if ((s.type === 'inbound-rtp' || s.type === 'outbound-rtp') && s.kind === 'video') out.push([r.info.name, s.type, 'fps', s.framesPerSecond, 'enc', s.framesEncoded, 'sent', s.framesSent, 'dec', s.framesDecoded, 'recv', s.framesReceived, 'dropped', s.framesDropped, 'nack', s.nackCount, 'pli', s.pliCount, 'fir', s.firCount, 'rtxRecv', s.retransmittedPacketsReceived, 'lost', s.packetsLost, 'pk', s.packetsReceived ?? s.packetsSent, 'freezes', s.freezeCount, s.totalFreezesDuration, 'key', s.keyFramesDecoded ?? s.keyFramesEncoded, 'lim', s.qualityLimitationReason, 'jb', s.jitterBufferDelay / (s.jitterBufferEmittedCount || 1)].join(' ')); });
          }
          return out;
        })()`);
        console.error((d as string[]).join('\n'));
      }
    }
    const seconds = (Date.now() - t0) / 1000;
    const row: Row = { c, concealed: [], frozen: [], fps: [], videoKbps: [], height: [], connected: true, codecs: new Set() };
    ends.forEach((sample, i) => {
      const senders = Object.keys(sample);
      if (senders.length < people - 1) row.connected = false;
      for (const [who, s] of Object.entries(sample)) {
        if (s.audio.concealment !== null) row.concealed.push(s.audio.concealment);
        if (s.audio.in.codec) row.codecs.add(s.audio.in.codec);
        if (c.kind !== 'voice') {
          row.frozen.push(s.video.frozen ?? 1);
          row.fps.push((s.video.framesDecoded - (firstFrames[i]![who] ?? 0)) / seconds);
          row.videoKbps.push(s.video.in.kbps);
          row.height.push(s.video.height ?? 0);
          if (s.video.in.codec) row.codecs.add(s.video.in.codec);
        }
      }
    });
    const states = await Promise.all(
      pages.map((p) => p.evaluate(() => [...(window.callwire?.room?.participants.values() ?? [])].every((r) => r.connection === 'connected'))),
    );
    if (states.includes(false)) row.connected = false;
    return row;
  } finally {
    impair.clear();
    for (const p of pages)
      await p
        .context()
        .close()
        .catch(() => {});
  }
}

async function main(): Promise<void> {
  const impair = new NetworkImpairment();
  impair.clear();
  const hop = await DelayHop.start({ target: { host: '127.0.0.1', port: TURN_PORT }, delayMs: 0, port: HOP_PORT });
  const server = new CallwireServer(
    loadConfig({
      DATA_DIR: ':memory:',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      E2EE: argOf('e2ee') ?? 'required',
      SFU_RTC_PORT: String(SFU_PORT),
      // One worker: the SFU's one port is where a one-leg loss applies.
      SFU_WORKERS: '1',
      // The SFU on an address of its own, which the relay may reach: the relay refuses its own
      // addresses outside its relay ports (no relaying into local services).
      SFU_LISTEN_IP: '127.0.0.2',
      TURN_ALLOWED_PEERS: '127.0.0.2/32',
      TURN_UDP_PORT: String(TURN_PORT),
      TURN_TCP_PORT: '0',
      TURN_URLS: `turn:127.0.0.1:${HOP_PORT}?transport=udp`,
    }),
  );
  await server.start();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const out: string[] = [];
  try {
    for (const [i, c] of CASES.entries()) {
      const r = await runCase(browser, server.url, impair, hop, c, i, server);
      const worst = (xs: number[], hi: boolean) => (xs.length ? (hi ? Math.max(...xs) : Math.min(...xs)) : NaN);
      const line =
        `| ${c.label} | ${pct(median(r.concealed))} (${pct(worst(r.concealed, true))}) | ` +
        (c.kind === 'voice'
          ? '— | — | — |'
          : `${pct(median(r.frozen))} (${pct(worst(r.frozen, true))}) | ${median(r.fps).toFixed(1)} (${worst(r.fps, false).toFixed(1)}) | ${median(r.videoKbps).toFixed(0)} kbit/s, ${median(r.height)}p |`) +
        ` ${r.connected ? 'yes' : '**no**'} | ${[...r.codecs].map((x) => x.split('/')[1]).join(' ')} |`;
      console.error(line);
      out.push(line);
    }
  } finally {
    impair.clear();
    await browser.close();
    await server.close();
    await hop.close();
  }
  console.log(`| case | audio concealed (worst) | video frozen (worst) | fps received (worst) | video received | connected | codecs |`);
  console.log('|---|---:|---:|---:|---:|---|---|');
  for (const l of out) console.log(l);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
