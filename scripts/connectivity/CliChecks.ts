/**
 * The operator's checks, run headlessly from Node against a callwire deployment: the same check
 * names, verdicts and advice as the page (web/src/connectivity/checks.ts), with what only a
 * server-side tool can do: raw TURN allocations with a relayed exchange over UDP, TCP and TLS,
 * STUN binding requests to the SFU's announced candidates, and an Opus round trip through an
 * echo room with mediasoup-client on wrtc (the bots' WebRTC stack).
 */
import http from 'node:http';
import https from 'node:https';
import { Device } from 'mediasoup-client';
import { Chrome111 } from 'mediasoup-client/handlers/Chrome111';
import type { IceServerInfo } from '../../server/src/protocol/index.ts';
import { TurnClient } from '../../turn/src/client/index.ts';
import { installWrtcGlobals } from '../../bench/bots/wrtc.ts';
import {
  ADVICE,
  judgeMedia,
  parseStunUrl,
  iceUrlsOf,
  stunUrlsOf,
  testGuest,
  turnServersFor,
  type Outcome,
  type RelayTransport,
} from '../../web/src/connectivity/checks.ts';
import type { CheckContext, CheckDefinition } from '../../web/src/connectivity/ConnectivityRunner.ts';
import { EchoProbe } from '../../web/src/connectivity/EchoProbe.ts';
import { SignalingClient, type SignalingTransport } from '../../web/src/signaling/SignalingClient.ts';
import { measureRoundTrips } from '../../web/src/connectivity/roundTrips.ts';
import type { SignalingError } from '../../server/src/protocol/index.ts';
import type { CliOptions } from './CliOptions.ts';
import { IceAddressProbe, type CandidateProbeResult, type IceCandidateLike, type IceParametersLike } from './IceAddressProbe.ts';
import { ToneSource } from './ToneSource.ts';
import { TurnProbeError, TurnRelayProbe } from './TurnRelayProbe.ts';

interface HttpAnswer {
  status: number;
  body: string;
  ms: number;
}

export class CliChecks {
  readonly #guest = testGuest();
  readonly #signaling = new Map<SignalingTransport, SignalingClient>();
  #iceServers: IceServerInfo[] = [];

  constructor(private readonly o: CliOptions) {}

  definitions(): CheckDefinition[] {
    const server: CheckDefinition['needs'] = ['server.reachable'];
    return [
      { name: 'server.reachable', timeoutMs: 6_000, run: (ctx) => this.#reachable(ctx) },
      { name: 'signaling.websocket', needs: server, timeoutMs: 10_000, run: (ctx) => this.#signalingCheck('websocket', ctx) },
      { name: 'signaling.polling', needs: server, timeoutMs: 10_000, run: (ctx) => this.#signalingCheck('polling', ctx) },
      { name: 'ice.servers', needs: server, timeoutMs: 6_000, run: (ctx) => this.#iceServersCheck(ctx) },
      { name: 'ice.stun', needs: ['ice.servers'], timeoutMs: 8_000, run: (ctx) => this.#stun(ctx) },
      ...(['udp', 'tcp', 'tls'] as const).map((t) => ({
        name: `turn.${t}` as const,
        needs: ['ice.servers' as const],
        timeoutMs: 15_000,
        run: (ctx: CheckContext) => this.#turn(t, ctx),
      })),
      { name: 'sfu.addresses', needs: server, timeoutMs: 12_000, run: (ctx) => this.#addresses(ctx) },
      { name: 'sfu.media', needs: server, timeoutMs: 20_000 + this.o.mediaSeconds * 1_000, run: (ctx) => this.#media(ctx) },
    ];
  }

  close(): void {
    for (const s of this.#signaling.values()) s.close();
    this.#signaling.clear();
  }

  // ---- HTTP ------------------------------------------------------------------------------

  #get(path: string, signal: AbortSignal, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    const url = new URL(path, this.o.url);
    const lib = url.protocol === 'https:' ? https : http;
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const req = lib.get(url, { headers, signal, timeout: 5_000, ...(this.o.ca ? { ca: this.o.ca } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
      req.on('error', reject);
    });
  }

  async #reachable(ctx: CheckContext): Promise<Outcome> {
    ctx.progress(`GET ${new URL('/healthz', this.o.url).href}`);
    let res: HttpAnswer;
    try {
      res = await this.#get('/healthz', ctx.signal);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return { status: 'fail', details: `The callwire server at ${this.o.url.origin} is not reachable (${e.code ?? e.message}).`, advice: ADVICE.serverDown };
    }
    const health = parseJson<{ ok?: boolean }>(res.body);
    if (res.status !== 200 || health.ok !== true) {
      return { status: 'fail', details: `${this.o.url.origin}/healthz answered ${res.status}, not a healthy callwire server.`, advice: ADVICE.serverDown };
    }
    // Whether group calls run is public configuration (/healthz tells outsiders only liveness).
    const config = await this.#get('/api/config', ctx.signal).then(
      (r) => parseJson<{ groupCalls?: boolean }>(r.body),
      () => ({}) as { groupCalls?: boolean },
    );
    const sfu = config.groupCalls === true;
    return {
      status: sfu ? 'pass' : 'warn',
      details: `The server answered in ${res.ms.toFixed(0)} ms; ${sfu ? 'group calls (SFU) available' : 'no media server (SFU)'}.`,
      advice: sfu ? '' : ADVICE.sfuDown,
      metrics: { httpMs: round(res.ms), groupCalls: sfu ? 1 : 0 },
    };
  }

  // ---- signaling -------------------------------------------------------------------------

  async #signalingCheck(transport: SignalingTransport, ctx: CheckContext): Promise<Outcome> {
    ctx.progress(`connecting over ${transport}`);
    const auth = this.o.token ? { token: this.o.token } : { guest: this.#guest };
    let conn: SignalingClient;
    try {
      conn = await SignalingClient.connect(auth, { url: this.o.url.origin, transports: [transport], reconnect: false, timeoutMs: 8_000, signal: ctx.signal });
    } catch (err) {
      const e = err as SignalingError;
      const refused = e.code === 'unauthorized';
      return {
        status: 'fail',
        details: `Signaling over ${transport === 'websocket' ? 'WebSocket' : 'long-polling'} did not connect: ${e.message}.`,
        advice: refused
          ? 'The server refused the credentials: pass a valid --token (AUTH_MODE=jwt).'
          : transport === 'websocket'
            ? ADVICE.websocket
            : ADVICE.signalingDown,
      };
    }
    this.#signaling.set(transport, conn);
    ctx.progress('measuring round trips (ping)');
    const rt = await measureRoundTrips(conn, transport === 'websocket' ? 5 : 3, ctx.signal);
    if (transport === 'polling') {
      // The fallback only needs to work; the websocket connection carries the rest of the test.
      conn.close();
      this.#signaling.delete('polling');
    }
    const slow = rt.medianMs > 500;
    return {
      status: slow ? 'warn' : 'pass',
      details: `Connected in ${(conn.connectMs ?? 0).toFixed(0)} ms; round trip ${rt.medianMs.toFixed(0)} ms (median of ${rt.samples}, ${rt.minMs.toFixed(0)}–${rt.maxMs.toFixed(0)}).`,
      advice: slow ? 'Signaling is slow: call set-up will take longer. Check the network path to the server (VPN, proxy).' : '',
      metrics: { connectMs: round(conn.connectMs ?? 0), rttMs: round(rt.medianMs), rttMinMs: round(rt.minMs), rttMaxMs: round(rt.maxMs) },
    };
  }

  /** The connection the SFU checks use: WebSocket if it worked, else a fresh long-polling one. */
  async #connection(ctx: CheckContext): Promise<SignalingClient> {
    const ws = this.#signaling.get('websocket');
    if (ws) return ws;
    const auth = this.o.token ? { token: this.o.token } : { guest: this.#guest };
    const conn = await SignalingClient.connect(auth, {
      url: this.o.url.origin,
      transports: ['polling'],
      reconnect: false,
      timeoutMs: 8_000,
      signal: ctx.signal,
    });
    this.#signaling.set('polling', conn);
    return conn;
  }

  // ---- ICE servers, STUN, TURN -------------------------------------------------------------

  /** The list comes only with a signaling session's bearer token: TURN credentials are never anonymous. */
  async #fetchIceServers(ctx: CheckContext): Promise<IceServerInfo[]> {
    const conn = await this.#connection(ctx);
    const res = await this.#get('/api/ice-servers', ctx.signal, { Authorization: `Bearer ${conn.session!.token}` });
    if (res.status === 401) throw new Error('the server refused the session token');
    if (res.status !== 200) throw new Error(`GET /api/ice-servers answered ${res.status}`);
    const body = JSON.parse(res.body) as { iceServers?: IceServerInfo[] };
    if (!Array.isArray(body.iceServers)) throw new Error('GET /api/ice-servers answered without iceServers');
    return body.iceServers;
  }

  async #iceServersCheck(ctx: CheckContext): Promise<Outcome> {
    ctx.progress('GET /api/ice-servers');
    try {
      this.#iceServers = await this.#fetchIceServers(ctx);
    } catch (err) {
      return {
        status: 'fail',
        details: `Could not get the ICE server list: ${(err as Error).message}.`,
        advice: this.o.token ? ADVICE.serverDown : 'Pass --token if the server uses AUTH_MODE=jwt.',
      };
    }
    const urls = iceUrlsOf(this.#iceServers);
    if (urls.length === 0) return { status: 'fail', details: 'The server hands out no STUN or TURN servers.', advice: ADVICE.noIceServers };
    const turns = urls.filter((u) => /^turns?:/.test(u)).length;
    return {
      status: turns ? 'pass' : 'warn',
      details: `${urls.length} ICE server URL${urls.length > 1 ? 's' : ''}: ${urls.join(', ')}.`,
      advice: turns ? '' : ADVICE.noIceServers,
      metrics: { urls: urls.length, turnUrls: turns },
    };
  }

  async #stun(ctx: CheckContext): Promise<Outcome> {
    const urls = stunUrlsOf(this.#iceServers);
    if (urls.length === 0)
      return {
        status: 'warn',
        details: 'The server hands out no STUN server.',
        advice: 'Set STUN_URLS (or keep the bundled relay, which answers STUN) so clients learn their public address.',
      };
    const found: string[] = [];
    for (const url of urls) {
      const target = parseStunUrl(url);
      if (!target) return { status: 'fail', details: `${url} is not a valid STUN URL.`, advice: 'Fix STUN_URLS.' };
      ctx.progress(`binding request to ${url}`);
      const client = await TurnClient.connect({ transport: 'udp', host: target.host, port: target.port, requestTimeoutMs: 3_000 }).catch((err: Error) => err);
      if (client instanceof Error)
        return { status: 'fail', details: `Cannot reach ${url}: ${client.message}.`, advice: ADVICE.turnFailed('udp', `${target.host}:${target.port}`) };
      client.on('error', () => {});
      try {
        const t0 = performance.now();
        const mapped = await client.binding();
        found.push(`${url} → ${mapped.address}:${mapped.port} in ${(performance.now() - t0).toFixed(0)} ms`);
      } catch (err) {
        return {
          status: 'fail',
          details: `${url} did not answer: ${(err as Error).message}.`,
          advice: ADVICE.turnFailed('udp', `${target.host}:${target.port}`),
        };
      } finally {
        client.close();
      }
    }
    return { status: 'pass', details: `STUN answers with this machine's public address: ${found.join('; ')}.` };
  }

  async #turn(transport: RelayTransport, ctx: CheckContext): Promise<Outcome> {
    ctx.progress('fresh credentials from /api/ice-servers');
    let servers: IceServerInfo[];
    try {
      servers = await this.#fetchIceServers(ctx);
    } catch (err) {
      return { status: 'fail', details: `Could not get TURN credentials: ${(err as Error).message}.`, advice: ADVICE.serverDown };
    }
    const target = turnServersFor(servers, transport)[0];
    const label = transport === 'tls' ? 'TLS' : transport.toUpperCase();
    if (!target) return { status: 'fail', details: `The server offers no TURN relay over ${label}.`, advice: ADVICE.noTurn(transport) };
    const where = `${target.host}:${target.port}`;
    ctx.progress(`two allocations on ${target.url}, relaying between them`);
    const probe = new TurnRelayProbe({ server: target, ca: this.o.ca, pings: 5, signal: ctx.signal });
    try {
      const r = await probe.run();
      return {
        status: 'pass',
        details: `Relayed data through ${target.url}: allocated in ${r.allocateMs.toFixed(0)} ms, relay round trip ${r.rttMs.median.toFixed(1)} ms (relay address ${r.relayed}).`,
        metrics: { connectMs: round(r.connectMs), allocateMs: round(r.allocateMs), rttMs: round(r.rttMs.median), relayed: r.relayed, mapped: r.mapped },
      };
    } catch (err) {
      const e = err instanceof TurnProbeError ? err : new TurnProbeError((err as Error).message, 'unreachable');
      const advice =
        e.kind === 'auth'
          ? ADVICE.turnAuth
          : e.kind === 'certificate'
            ? `${ADVICE.turnCertificate} (To trust a private CA for this test, pass --ca <file>.)`
            : e.kind === 'refused'
              ? 'The relay refused to relay between two of its own allocations: check TURN_ALLOWED_PEERS and the quotas (TURN_USER_QUOTA, TURN_TOTAL_QUOTA).'
              : ADVICE.turnFailed(transport, where);
      return { status: 'fail', details: `TURN over ${label} (${target.url}) failed: ${e.message}.`, advice };
    } finally {
      await probe.close();
    }
  }

  // ---- SFU -----------------------------------------------------------------------------------

  async #addresses(ctx: CheckContext): Promise<Outcome> {
    let conn: SignalingClient;
    try {
      conn = await this.#connection(ctx);
    } catch (err) {
      return { status: 'fail', details: `No signaling connection: ${(err as Error).message}.`, advice: ADVICE.signalingDown };
    }
    const roomId = `echo-addr${testGuest().key.slice(0, 12)}`;
    let probe: IceAddressProbe | null = null;
    try {
      ctx.progress('creating a media server transport in an echo room');
      await conn.request('room.join', { roomId, media: { audioMuted: true, videoEnabled: false } });
      const t = await conn.request('sfu.createTransport', { roomId, direction: 'send' });
      const ice = t.iceParameters as IceParametersLike;
      const candidates = t.iceCandidates as IceCandidateLike[];
      probe = new IceAddressProbe(ice, 3_000);
      const results: CandidateProbeResult[] = [];
      for (const c of candidates) {
        ctx.progress(`STUN binding to ${c.protocol}/${c.address ?? c.ip}:${c.port}`);
        results.push(await probe.probe(c));
      }
      const ok = results.filter((r) => r.ok);
      const bad = results.filter((r) => !r.ok);
      const list = (rs: typeof results) => rs.map((r) => (r.ok ? `${r.candidate} (${r.rttMs!.toFixed(1)} ms)` : `${r.candidate}: ${r.error}`)).join('; ');
      const metrics = { candidates: results.length, reachable: ok.length };
      if (results.length === 0) return { status: 'fail', details: 'The media server announced no ICE candidates.', advice: ADVICE.sfuUnreachable, metrics };
      if (ok.length === 0)
        return { status: 'fail', details: `None of the media server's announced addresses answered: ${list(bad)}.`, advice: ADVICE.sfuUnreachable, metrics };
      if (bad.length) return { status: 'warn', details: `Reachable: ${list(ok)}. Not reachable: ${list(bad)}.`, advice: ADVICE.sfuUnreachable, metrics };
      return { status: 'pass', details: `Every announced address answered with this transport's ICE credentials: ${list(ok)}.`, metrics };
    } catch (err) {
      const e = err as SignalingError;
      return {
        status: 'fail',
        details: `Could not create a media server transport: ${e.message}.`,
        advice: e.code === 'sfu-unavailable' ? ADVICE.sfuDown : ADVICE.sfuUnreachable,
      };
    } finally {
      probe?.close();
      await conn.request('room.leave', { roomId }, 3_000).catch(() => {});
    }
  }

  async #media(ctx: CheckContext): Promise<Outcome> {
    let conn: SignalingClient;
    try {
      conn = await this.#connection(ctx);
    } catch (err) {
      return { status: 'fail', details: `No signaling connection: ${(err as Error).message}.`, advice: ADVICE.signalingDown };
    }
    installWrtcGlobals();
    const tone = new ToneSource();
    const probe = new EchoProbe({
      signaling: conn,
      device: new Device({ handlerFactory: Chrome111.createFactory() }),
      audio: tone.track,
      video: null,
      measureMs: this.o.mediaSeconds * 1_000,
      firstMediaTimeoutMs: 10_000,
      signal: ctx.signal,
      progress: ctx.progress,
    });
    try {
      return judgeMedia(await probe.run(), false);
    } catch (err) {
      const e = err as SignalingError;
      return {
        status: 'fail',
        details: `The media test could not run: ${e.message}.`,
        advice: e.code === 'sfu-unavailable' ? ADVICE.sfuDown : ADVICE.sfuUnreachable,
      };
    } finally {
      await probe.close();
      tone.close();
    }
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function parseJson<T extends object>(body: string): Partial<T> {
  try {
    const v: unknown = JSON.parse(body);
    return v && typeof v === 'object' ? (v as Partial<T>) : {};
  } catch {
    return {};
  }
}
