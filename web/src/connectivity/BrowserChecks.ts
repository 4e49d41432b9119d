/**
 * The page's checks (/connectivity), run in the person's own browser against this server:
 * browser support, microphone and camera, signaling, ICE (host, STUN, TURN over UDP/TCP/TLS
 * with a real data exchange each) and a media round trip through the SFU's echo room. Names,
 * verdicts and advice come from checks.ts, shared with the operators' CLI.
 */
import { Device } from 'mediasoup-client';
import type { IceServerInfo } from '@protocol';
import { ADVICE, iceUrlsOf, judgeMedia, stunUrlsOf, testGuest, turnServersFor, type Outcome, type RelayTransport } from './checks.ts';
import { CameraProbe, BLACK_LUMA } from './CameraProbe.ts';
import type { CheckContext, CheckDefinition } from './ConnectivityRunner.ts';
import { EchoProbe } from './EchoProbe.ts';
import { IceGatherProbe } from './IceGatherProbe.ts';
import { MicrophoneProbe, SILENCE_DB } from './MicrophoneProbe.ts';
import { SignalingClient, type SignalingTransport } from '../signaling/SignalingClient.ts';
import { measureRoundTrips } from './roundTrips.ts';
import type { SignalingError } from '@protocol';
import { RelayPairError, RelayPairProbe } from './RelayPairProbe.ts';
import { SyntheticMedia } from './SyntheticMedia.ts';
import { callE2ee } from '../e2ee/browserE2ee.ts';

export interface BrowserChecksOptions {
  /** The server's origin (the page's own). */
  origin: string;
  /** JWT for servers with AUTH_MODE=jwt (`?token=`). */
  token: string | null;
  /** Created in the click that started the test, so the browser lets it run. */
  audioContext: AudioContext;
  /** Seconds of media through the SFU. */
  mediaSeconds: number;
}

export class BrowserChecks {
  readonly #guest = testGuest();
  #signaling: SignalingClient | null = null;
  #iceServers: IceServerInfo[] = [];

  constructor(private readonly o: BrowserChecksOptions) {}

  definitions(): CheckDefinition[] {
    const server: CheckDefinition['needs'] = ['server.reachable'];
    return [
      { name: 'browser.webrtc', timeoutMs: 3_000, run: () => this.#webrtc() },
      { name: 'media.microphone', timeoutMs: 30_000, run: (ctx) => this.#microphone(ctx) },
      { name: 'media.camera', timeoutMs: 30_000, run: (ctx) => this.#camera(ctx) },
      { name: 'server.reachable', timeoutMs: 6_000, run: (ctx) => this.#reachable(ctx) },
      { name: 'signaling.websocket', needs: server, timeoutMs: 10_000, run: (ctx) => this.#signalingCheck('websocket', ctx) },
      { name: 'signaling.polling', needs: server, timeoutMs: 10_000, run: (ctx) => this.#signalingCheck('polling', ctx) },
      { name: 'ice.servers', needs: server, timeoutMs: 6_000, run: (ctx) => this.#iceServersCheck(ctx) },
      { name: 'ice.host', needs: ['browser.webrtc'], timeoutMs: 8_000, run: (ctx) => this.#host(ctx) },
      { name: 'ice.stun', needs: ['browser.webrtc', 'ice.servers'], timeoutMs: 12_000, run: (ctx) => this.#stun(ctx) },
      ...(['udp', 'tcp', 'tls'] as const).map((t) => ({
        name: `turn.${t}` as const,
        needs: ['browser.webrtc' as const, 'ice.servers' as const],
        timeoutMs: 15_000,
        run: (ctx: CheckContext) => this.#turn(t, ctx),
      })),
      { name: 'sfu.media', needs: ['browser.webrtc', ...server], timeoutMs: 25_000 + this.o.mediaSeconds * 1_000, run: (ctx) => this.#media(ctx) },
    ];
  }

  close(): void {
    this.#signaling?.close();
    this.#signaling = null;
  }

  // ---- this browser ----------------------------------------------------------------------

  async #webrtc(): Promise<Outcome> {
    if (typeof RTCPeerConnection !== 'function') {
      return { status: 'fail', details: 'This browser has no WebRTC.', advice: 'Use a current Chrome, Edge, Firefox or Safari.' };
    }
    if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
      return {
        status: 'fail',
        details: 'The camera and microphone are not available on this page (it is not served over HTTPS).',
        advice: 'Open the server over https:// (or http://localhost).',
      };
    }
    const has = (side: typeof RTCRtpSender | typeof RTCRtpReceiver, kind: 'audio' | 'video', mime: string, fmtp?: RegExp) =>
      (side.getCapabilities?.(kind)?.codecs ?? []).some((c) => c.mimeType.toLowerCase() === mime && (!fmtp || fmtp.test(c.sdpFmtpLine ?? '')));
    const opus = has(RTCRtpSender, 'audio', 'audio/opus') && has(RTCRtpReceiver, 'audio', 'audio/opus');
    const baseline = /profile-level-id=42e01f/i;
    const h264 = has(RTCRtpSender, 'video', 'video/h264', baseline) && has(RTCRtpReceiver, 'video', 'video/h264', baseline);
    const h264any = has(RTCRtpSender, 'video', 'video/h264') && has(RTCRtpReceiver, 'video', 'video/h264');
    const vp8 = has(RTCRtpSender, 'video', 'video/vp8') && has(RTCRtpReceiver, 'video', 'video/vp8');
    const metrics = { opus, h264: h264 || h264any, vp8 };
    if (!opus)
      return { status: 'fail', details: 'This browser cannot send and receive Opus audio.', advice: 'Use a current Chrome, Edge, Firefox or Safari.', metrics };
    if (!h264 && !h264any) {
      return vp8
        ? {
            status: 'warn',
            details: 'WebRTC works, Opus audio yes, but no H.264 video: video will use VP8 (more battery on phones).',
            advice: 'Update the browser, or enable its H.264 support (Firefox: the OpenH264 plugin).',
            metrics,
          }
        : {
            status: 'fail',
            details: 'This browser can send no video codec callwire uses (H.264 or VP8).',
            advice: 'Use a current Chrome, Edge, Firefox or Safari.',
            metrics,
          };
    }
    return { status: 'pass', details: `WebRTC works; Opus audio and H.264${h264 ? ' Constrained Baseline' : ''} video can be sent and received.`, metrics };
  }

  async #microphone(ctx: CheckContext): Promise<Outcome> {
    ctx.progress('asking for the microphone');
    const probe = new MicrophoneProbe(this.o.audioContext);
    try {
      const r = await probe.run(2_000, ctx.signal);
      const metrics = { devices: r.devices, peakDb: r.peakDb !== null && Number.isFinite(r.peakDb) ? Math.round(r.peakDb) : null, sampleRate: r.sampleRate };
      if (r.peakDb === null) {
        return {
          status: 'warn',
          details: `"${r.label}" opened, but the browser's audio did not start, so it could not be listened to.`,
          advice: 'Check that a speaker or headset is connected and enabled: without one you will not hear the call either.',
          metrics,
        };
      }
      if (r.peakDb < SILENCE_DB) {
        return {
          status: 'warn',
          details: `"${r.label}" works but was silent for 2 s.`,
          advice: 'Check the microphone is not muted (a switch on the headset, or in the system settings) and say something during the test.',
          metrics,
        };
      }
      return {
        status: 'pass',
        details: `"${r.label}" works and hears sound (peak ${r.peakDb.toFixed(0)} dBFS); ${r.devices} microphone${r.devices === 1 ? '' : 's'} found.`,
        metrics,
      };
    } catch (err) {
      return deviceError(err, 'microphone');
    } finally {
      probe.close();
    }
  }

  async #camera(ctx: CheckContext): Promise<Outcome> {
    ctx.progress('asking for the camera');
    const probe = new CameraProbe();
    try {
      const r = await probe.run(1_500, ctx.signal);
      const metrics = {
        devices: r.devices,
        width: r.width,
        height: r.height,
        frameRate: r.frameRate,
        brightness: Math.round(r.brightness),
        changing: Math.round(r.changing * 100) / 100,
        sizes: r.sizes.join(' '),
      };
      const what = `"${r.label}" delivers ${r.width}x${r.height}${r.frameRate ? ` at ${Math.round(r.frameRate)} fps` : ''}; sizes: ${r.sizes.join(', ') || 'none of 320x240, 640x480, 1280x720'}`;
      if (r.brightness < BLACK_LUMA)
        return {
          status: 'warn',
          details: `${what}, but the picture is black.`,
          advice: 'Uncover the lens (some laptops have a privacy shutter or a camera key) or pick another camera.',
          metrics,
        };
      if (r.changing === 0)
        return {
          status: 'warn',
          details: `${what}, but the picture is frozen.`,
          advice: 'Close other apps that use the camera, or unplug and replug it.',
          metrics,
        };
      if (!r.sizes.includes('640x480') && !r.sizes.includes('1280x720')) {
        return { status: 'warn', details: `${what}: others will see you in low resolution.`, advice: 'Use a better camera if you can.', metrics };
      }
      return { status: 'pass', details: `${what}; the picture is live.`, metrics };
    } catch (err) {
      return deviceError(err, 'camera');
    } finally {
      probe.close();
    }
  }

  // ---- the server ----------------------------------------------------------------------------

  async #reachable(ctx: CheckContext): Promise<Outcome> {
    ctx.progress('GET /healthz');
    const t0 = performance.now();
    let res: Response;
    try {
      res = await fetch(`${this.o.origin}/healthz`, { cache: 'no-store', signal: ctx.signal });
    } catch {
      return { status: 'fail', details: `The callwire server at ${this.o.origin} is not reachable.`, advice: ADVICE.serverDown };
    }
    const ms = performance.now() - t0;
    const health = (await res.json().catch(() => ({}))) as { ok?: boolean };
    if (!res.ok || health.ok !== true)
      return { status: 'fail', details: `The server answered ${res.status}, not a healthy callwire server.`, advice: ADVICE.serverDown };
    // /healthz tells outsiders only that the server lives; whether it runs group calls is public
    // configuration.
    const config = (await fetch(`${this.o.origin}/api/config`, { cache: 'no-store', signal: ctx.signal })
      .then((r) => r.json())
      .catch(() => ({}))) as { groupCalls?: boolean };
    const sfu = config.groupCalls === true;
    return {
      status: sfu ? 'pass' : 'warn',
      details: `The server answered in ${ms.toFixed(0)} ms${sfu ? '' : '; it has no media server (SFU)'}.`,
      advice: sfu ? '' : ADVICE.sfuDown,
      metrics: { httpMs: Math.round(ms) },
    };
  }

  async #signalingCheck(transport: SignalingTransport, ctx: CheckContext): Promise<Outcome> {
    ctx.progress(`connecting over ${transport === 'websocket' ? 'WebSocket' : 'long-polling'}`);
    const auth = this.o.token ? { token: this.o.token } : { guest: this.#guest };
    let conn: SignalingClient;
    try {
      conn = await SignalingClient.connect(auth, { url: this.o.origin, transports: [transport], reconnect: false, timeoutMs: 8_000, signal: ctx.signal });
    } catch (err) {
      const e = err as SignalingError;
      return {
        status: 'fail',
        details: `Signaling over ${transport === 'websocket' ? 'WebSocket' : 'long-polling'} did not connect: ${e.message}.`,
        advice:
          e.code === 'unauthorized'
            ? 'Open this page with the ?token= your site gives you.'
            : transport === 'websocket'
              ? ADVICE.websocket
              : ADVICE.signalingDown,
      };
    }
    ctx.progress('measuring round trips (ping)');
    try {
      const rt = await measureRoundTrips(conn, transport === 'websocket' ? 5 : 3, ctx.signal);
      const slow = rt.medianMs > 500;
      return {
        status: slow ? 'warn' : 'pass',
        details: `Connected in ${(conn.connectMs ?? 0).toFixed(0)} ms; round trip ${rt.medianMs.toFixed(0)} ms (median of ${rt.samples}).`,
        advice: slow ? 'Signaling is slow: calls will take longer to start. A VPN or proxy may be in the way.' : '',
        metrics: { connectMs: Math.round(conn.connectMs ?? 0), rttMs: Math.round(rt.medianMs * 10) / 10 },
      };
    } finally {
      // The WebSocket connection carries the media test; the fallback only had to work.
      if (transport === 'websocket') this.#signaling = conn;
      else conn.close();
    }
  }

  /** The list comes only with a signaling session's bearer token: TURN credentials are never anonymous. */
  async #fetchIceServers(signal: AbortSignal): Promise<IceServerInfo[]> {
    const conn = await this.#connection(signal);
    const res = await fetch(`${this.o.origin}/api/ice-servers`, { cache: 'no-store', signal, headers: { Authorization: `Bearer ${conn.session!.token}` } });
    if (!res.ok) throw new Error(`GET /api/ice-servers answered ${res.status}`);
    const body = (await res.json()) as { iceServers?: IceServerInfo[] };
    if (!Array.isArray(body.iceServers)) throw new Error('the answer has no iceServers');
    return body.iceServers;
  }

  async #iceServersCheck(ctx: CheckContext): Promise<Outcome> {
    ctx.progress('GET /api/ice-servers');
    try {
      this.#iceServers = await this.#fetchIceServers(ctx.signal);
    } catch (err) {
      return { status: 'fail', details: `Could not get the ICE server list: ${(err as Error).message}.`, advice: ADVICE.serverDown };
    }
    const urls = iceUrlsOf(this.#iceServers);
    if (urls.length === 0) return { status: 'fail', details: 'The server hands out no STUN or TURN servers.', advice: ADVICE.noIceServers };
    return { status: 'pass', details: `${urls.length} ICE server URL${urls.length > 1 ? 's' : ''}: ${urls.join(', ')}.`, metrics: { urls: urls.length } };
  }

  // ---- ICE -----------------------------------------------------------------------------------

  async #host(ctx: CheckContext): Promise<Outcome> {
    ctx.progress('gathering local candidates');
    // While a capture runs, Chromium offers every interface (as in a call); without one, only the
    // default route's, behind mDNS names. Permission was asked by the microphone check already.
    const capture = await navigator.mediaDevices.getUserMedia({ audio: true }).catch(() => null);
    const probe = new IceGatherProbe({ iceServers: [] });
    try {
      const r = await probe.gather(5_000, ctx.signal);
      const host = r.candidates.filter((c) => c.type === 'host');
      const addresses = [...new Set(host.map((c) => `${c.address} (${c.protocol})`))];
      const hidden = host.some((c) => c.address.endsWith('.local'));
      if (host.length === 0) {
        return {
          status: 'fail',
          details: 'WebRTC found no network address on this device.',
          advice: 'A privacy extension, a VPN or browser policy blocks WebRTC: allow it for this site.',
        };
      }
      return {
        status: 'pass',
        details: `WebRTC can use ${addresses.length} local address${addresses.length > 1 ? 'es' : ''}: ${addresses.join(', ')}${hidden ? ' (hidden behind mDNS names, as browsers do)' : ''}.`,
        metrics: { candidates: host.length },
      };
    } finally {
      probe.close();
      for (const t of capture?.getTracks() ?? []) t.stop();
    }
  }

  async #stun(ctx: CheckContext): Promise<Outcome> {
    const urls = stunUrlsOf(this.#iceServers);
    if (urls.length === 0)
      return {
        status: 'warn',
        details: 'The server hands out no STUN server.',
        advice: 'Ask the operator to set STUN_URLS (or keep the bundled relay, which answers STUN).',
      };
    ctx.progress(`asking ${urls.join(', ')} for our public address`);
    const probe = new IceGatherProbe({ iceServers: [{ urls }] });
    try {
      const r = await probe.gather(8_000, ctx.signal);
      const srflx = r.candidates.filter((c) => c.type === 'srflx');
      const errors = r.errors.filter((e) => /^stun:/i.test(e.url));
      if (srflx.length > 0) {
        const publicAddresses = [...new Set(srflx.map((c) => c.address))];
        return {
          status: 'pass',
          details: `The STUN server sees you at ${publicAddresses.join(', ')} (behind a NAT: calls set up through it).`,
          metrics: { srflx: srflx.length },
        };
      }
      if (errors.length > 0 || !r.complete) {
        const why = errors.map((e) => `${e.url}: ${e.errorCode} ${e.errorText}`).join('; ') || 'no answer';
        return { status: 'fail', details: `The STUN server did not answer (${why}).`, advice: ADVICE.turnFailed('udp', urls[0]!.replace(/^stun:/i, '')) };
      }
      // Answered, but the address it saw is this device's own: libwebrtc then drops the duplicate.
      return { status: 'pass', details: 'The STUN server answered: it sees the same address as your own (no NAT in between).', metrics: { srflx: 0 } };
    } finally {
      probe.close();
    }
  }

  async #turn(transport: RelayTransport, ctx: CheckContext): Promise<Outcome> {
    const label = transport === 'tls' ? 'TLS' : transport.toUpperCase();
    ctx.progress('fresh credentials from /api/ice-servers');
    let servers: IceServerInfo[];
    try {
      servers = await this.#fetchIceServers(ctx.signal);
    } catch (err) {
      return { status: 'fail', details: `Could not get TURN credentials: ${(err as Error).message}.`, advice: ADVICE.serverDown };
    }
    const target = turnServersFor(servers, transport)[0];
    if (!target) return { status: 'fail', details: `The server offers no TURN relay over ${label}.`, advice: ADVICE.noTurn(transport) };
    const probe = new RelayPairProbe({ urls: target.url, username: target.username, credential: target.credential });
    try {
      const r = await probe.run(5, 10_000, ctx.signal, ctx.progress);
      const expected = transport === 'tls' ? 'tls' : transport;
      if (r.candidateType !== 'relay' || (r.relayProtocol && r.relayProtocol !== expected)) {
        return {
          status: 'fail',
          details: `Data flowed, but not through the relay over ${label} (path: ${r.candidateType ?? '?'} / ${r.relayProtocol ?? '?'}).`,
          advice: ADVICE.turnFailed(transport, `${target.host}:${target.port}`),
        };
      }
      return {
        status: 'pass',
        details: `Data went through the relay over ${label} (${target.url}): connected in ${r.connectMs.toFixed(0)} ms, round trip ${r.rttMs.toFixed(1)} ms.`,
        metrics: { connectMs: Math.round(r.connectMs), rttMs: Math.round(r.rttMs * 10) / 10, relayProtocol: r.relayProtocol },
      };
    } catch (err) {
      const e = err instanceof RelayPairError ? err : new RelayPairError(String(err), [], false);
      const why = e.iceErrors.length ? ` (browser: ${e.iceErrors.join(', ')})` : '';
      const details = `TURN over ${label} (${target.url}) failed: ${e.message}${why}.`;
      const auth = e.iceErrors.some((x) => x.startsWith('401'));
      const advice = auth ? ADVICE.turnAuth : ADVICE.turnFailed(transport, `${target.host}:${target.port}`);
      // TLS is the last resort for networks that only let HTTPS out; with another relay working,
      // its failure does not stop calls here (and browsers reject certificates they do not trust).
      const fallbackWorks = ['turn.udp', 'turn.tcp'].some((n) => ctx.earlier.get(n as 'turn.udp')?.status === 'pass');
      return { status: transport === 'tls' && fallbackWorks ? 'warn' : 'fail', details, advice };
    } finally {
      probe.close();
    }
  }

  // ---- media through the SFU -----------------------------------------------------------------

  /** The connection the later checks use: WebSocket if it worked, else a fresh long-polling one. */
  async #connection(signal: AbortSignal): Promise<SignalingClient> {
    if (this.#signaling) return this.#signaling;
    const auth = this.o.token ? { token: this.o.token } : { guest: this.#guest };
    return (this.#signaling = await SignalingClient.connect(auth, {
      url: this.o.origin,
      transports: ['polling'],
      reconnect: false,
      timeoutMs: 8_000,
      signal: signal,
    }));
  }

  async #media(ctx: CheckContext): Promise<Outcome> {
    let conn: SignalingClient;
    try {
      conn = await this.#connection(ctx.signal);
    } catch (err) {
      return { status: 'fail', details: `No signaling connection: ${(err as Error).message}.`, advice: ADVICE.signalingDown };
    }
    const media = new SyntheticMedia(this.o.audioContext);
    const probe = new EchoProbe({
      signaling: conn,
      device: new Device(),
      audio: media.audio,
      video: media.video,
      videoCodec: 'video/h264',
      measureMs: this.o.mediaSeconds * 1_000,
      firstMediaTimeoutMs: 10_000,
      signal: ctx.signal,
      progress: ctx.progress,
      // Encrypted as a call would be: the echo room sends our frames back, and we decrypt them.
      e2ee: await callE2ee(),
    });
    try {
      return judgeMedia(await probe.run(), true);
    } catch (err) {
      const e = err as SignalingError;
      return {
        status: 'fail',
        details: `The media test could not run: ${e.message}.`,
        advice: e.code === 'sfu-unavailable' ? ADVICE.sfuDown : ADVICE.sfuUnreachable,
      };
    } finally {
      await probe.close();
      media.close();
    }
  }
}

function deviceError(err: unknown, what: 'camera' | 'microphone'): Outcome {
  const name = (err as DOMException)?.name ?? '';
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return { status: 'fail', details: `You (or the browser) did not allow the ${what}.`, advice: ADVICE.permission(what) };
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return { status: 'fail', details: `No ${what} was found.`, advice: ADVICE.noDevice(what) };
  if (name === 'NotReadableError' || name === 'AbortError') {
    return { status: 'fail', details: `The ${what} is there but could not be started (another app may be using it).`, advice: ADVICE.permission(what) };
  }
  return { status: 'fail', details: `The ${what} could not be opened: ${(err as Error)?.message ?? String(err)}.`, advice: ADVICE.permission(what) };
}
