/**
 * The connectivity test's one vocabulary, shared by the page (/connectivity) and the operators'
 * CLI (`npm run connectivity`): check names and titles, verdicts, the report format
 * (docs/connectivity.md, docs/connectivity.schema.json), how a summary is derived from the
 * checks, media quality thresholds and the text report for support tickets. No DOM, no Node:
 * both sides import it.
 */

export type CheckStatus = 'pass' | 'warn' | 'fail';

/** Every check either side runs; a side runs the subset it can (`CHECK_SCOPE`). */
export const CHECK_TITLES = {
  'browser.webrtc': 'Browser support',
  'media.microphone': 'Microphone',
  'media.camera': 'Camera',
  'server.reachable': 'Server reachable',
  'signaling.websocket': 'Signaling over WebSocket',
  'signaling.polling': 'Signaling over long-polling (fallback)',
  'ice.servers': 'ICE server list',
  'ice.host': 'Local network addresses',
  'ice.stun': 'STUN (public address)',
  'turn.udp': 'TURN relay over UDP',
  'turn.tcp': 'TURN relay over TCP',
  'turn.tls': 'TURN relay over TLS',
  'sfu.addresses': 'Media server addresses',
  'sfu.media': 'Media through the media server',
} as const;

export type CheckName = keyof typeof CHECK_TITLES;
export const CHECK_NAMES = Object.keys(CHECK_TITLES) as CheckName[];

/** Which client runs which check: the browser cannot send raw STUN, Node has no camera. */
export const CHECK_SCOPE: Record<CheckName, readonly ('page' | 'cli')[]> = {
  'browser.webrtc': ['page'],
  'media.microphone': ['page'],
  'media.camera': ['page'],
  'server.reachable': ['page', 'cli'],
  'signaling.websocket': ['page', 'cli'],
  'signaling.polling': ['page', 'cli'],
  'ice.servers': ['page', 'cli'],
  'ice.host': ['page'],
  'ice.stun': ['page', 'cli'],
  'turn.udp': ['page', 'cli'],
  'turn.tcp': ['page', 'cli'],
  'turn.tls': ['page', 'cli'],
  'sfu.addresses': ['cli'],
  'sfu.media': ['page', 'cli'],
};

/** What one check found. `details` and `advice` are plain sentences for people. */
export interface CheckResult {
  name: CheckName;
  title: string;
  status: CheckStatus;
  details: string;
  /** What to do about it; empty when there is nothing to do. */
  advice: string;
  durationMs: number;
  /** Numbers behind the verdict (latency, loss…), for support and machines. */
  metrics?: Record<string, number | string | boolean | null>;
}

export type Verdict = 'works' | 'works-tcp-only' | 'works-limited' | 'fails';

export interface ConnectivityReport {
  tool: 'callwire-connectivity';
  /** Version of this report format. */
  version: 1;
  client: 'page' | 'cli';
  /** The callwire server tested (its origin). */
  server: string;
  userAgent: string;
  startedAt: string;
  durationMs: number;
  verdict: Verdict;
  summary: string;
  checks: CheckResult[];
}

/** What a check's implementation returns; the runner adds name, title and duration. */
export interface Outcome {
  status: CheckStatus;
  details: string;
  advice?: string;
  metrics?: CheckResult['metrics'];
}

// ---------------------------------------------------------------------------------------------
// Summary

/** Without these nobody can be in a call at all. */
const ESSENTIAL: readonly CheckName[] = ['browser.webrtc', 'server.reachable', 'ice.servers', 'sfu.media'];

/**
 * One sentence for people, derived from the checks:
 * - `fails` when something every call needs failed (or both signaling transports did);
 * - `works-tcp-only` when UDP does not get through (no TURN over UDP, or media went over TCP)
 *   but a TCP/TLS relay works: calls connect with more latency;
 * - `works-limited` when some other check failed (camera, every relay…);
 * - `works` otherwise (warnings are listed, they do not stop calls).
 */
export function summarize(checks: readonly CheckResult[]): { verdict: Verdict; summary: string } {
  const by = new Map(checks.map((c) => [c.name, c]));
  const failed = (n: CheckName) => by.get(n)?.status === 'fail';
  const passed = (n: CheckName) => by.get(n)?.status === 'pass';

  const essential = ESSENTIAL.map((n) => by.get(n)).find((c) => c?.status === 'fail');
  if (essential) return { verdict: 'fails', summary: `Calls will not work: ${lowerFirst(essential.details)}` };
  const ws = by.get('signaling.websocket');
  if (ws?.status === 'fail' && failed('signaling.polling')) return { verdict: 'fails', summary: `Calls will not work: ${lowerFirst(ws.details)}` };

  const mediaOverTcp = by.get('sfu.media')?.metrics?.['transport'] === 'tcp';
  const tcpRelay = passed('turn.tcp') || passed('turn.tls');
  if ((failed('turn.udp') && tcpRelay) || mediaOverTcp) {
    return { verdict: 'works-tcp-only', summary: 'Calls will work only through a TCP relay — expect higher latency.' };
  }
  const other = checks.find((c) => c.status === 'fail');
  if (other) return { verdict: 'works-limited', summary: `Calls will work, with a problem: ${lowerFirst(other.details)}` };
  const warnings = checks.filter((c) => c.status === 'warn').length;
  return { verdict: 'works', summary: warnings ? `Calls will work (${warnings} warning${warnings > 1 ? 's' : ''} below).` : 'Calls will work.' };
}

function lowerFirst(s: string): string {
  // Keep acronyms and names ("TURN", "WebRTC") as they are.
  return /^[A-Z][a-z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s;
}

/** The copy-able report for support tickets: one block per check, advice included. */
export function formatText(report: ConnectivityReport): string {
  const mark: Record<CheckStatus, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' };
  const lines = [
    `callwire connectivity report (${report.client})`,
    `Server:   ${report.server}`,
    `Client:   ${report.userAgent}`,
    `When:     ${report.startedAt} (${(report.durationMs / 1000).toFixed(1)} s)`,
    `Verdict:  ${report.summary}`,
    '',
  ];
  for (const c of report.checks) {
    lines.push(`[${mark[c.status]}] ${c.title} (${c.name}, ${c.durationMs} ms)`);
    lines.push(`       ${c.details}`);
    if (c.advice) lines.push(`       → ${c.advice}`);
    const m = Object.entries(c.metrics ?? {}).filter(([, v]) => v !== null);
    if (m.length) lines.push(`       ${m.map(([k, v]) => `${k}=${String(v)}`).join(' ')}`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// ICE server URLs

export type RelayTransport = 'udp' | 'tcp' | 'tls';

export interface TurnUrl {
  transport: RelayTransport;
  host: string;
  port: number;
  url: string;
}

/**
 * `turn:host:port?transport=tcp`, `turns:host:port?transport=tcp`, `turn:[::1]:3478` →
 * transport, host and port (RFC 7065 defaults: UDP, 3478, 5349 for turns). Null if not TURN.
 */
export function parseTurnUrl(url: string): TurnUrl | null {
  const m = /^(turns?):(\[[0-9a-fA-F:.]+\]|[^\s:?[\]]+)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/i.exec(url.trim());
  if (!m) return null;
  const secure = m[1]!.toLowerCase() === 'turns';
  const param = (m[4] ?? (secure ? 'tcp' : 'udp')).toLowerCase();
  if (secure && param === 'udp') return null; // DTLS relays: nobody supports them
  const port = m[3] ? Number(m[3]) : secure ? 5349 : 3478;
  if (port < 1 || port > 65535) return null;
  return { transport: secure ? 'tls' : (param as 'udp' | 'tcp'), host: m[2]!.replace(/^\[|\]$/g, ''), port, url };
}

/** `stun:host:port` → host and port (default 3478); null if not STUN. */
export function parseStunUrl(url: string): { host: string; port: number } | null {
  const m = /^stun:(\[[0-9a-fA-F:.]+\]|[^\s:?[\]]+)(?::(\d{1,5}))?$/i.exec(url.trim());
  if (!m) return null;
  const port = m[2] ? Number(m[2]) : 3478;
  return port >= 1 && port <= 65535 ? { host: m[1]!.replace(/^\[|\]$/g, ''), port } : null;
}

export interface IceServerLike {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** The TURN entries of an iceServers list for one transport, each with its credentials. */
export function turnServersFor(servers: readonly IceServerLike[], transport: RelayTransport): (TurnUrl & { username?: string; credential?: string })[] {
  return servers.flatMap((s) =>
    (Array.isArray(s.urls) ? s.urls : [s.urls])
      .map(parseTurnUrl)
      .filter((u): u is TurnUrl => u !== null && u.transport === transport)
      .map((u) => ({ ...u, username: s.username, credential: s.credential })),
  );
}

/** Every URL of an iceServers list, flattened. */
export function iceUrlsOf(servers: readonly IceServerLike[]): string[] {
  return servers.flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]));
}

export function stunUrlsOf(servers: readonly IceServerLike[]): string[] {
  return iceUrlsOf(servers).filter((u) => /^stun:/i.test(u));
}

// ---------------------------------------------------------------------------------------------
// Advice shared by both clients (so the page and the CLI say the same thing)

export const ADVICE = {
  serverDown: 'Check the address, that the callwire server is running, and that nothing between you (proxy, firewall, VPN) blocks it.',
  websocket:
    'A proxy or firewall blocks WebSockets. Calls still connect over long-polling, a little slower; ask the network admin to allow WebSocket upgrades to this server.',
  signalingDown: 'Neither WebSocket nor long-polling reached the signaling server: check proxies in front of it (they must forward /socket.io/).',
  noIceServers: 'The server hands out no STUN/TURN servers: set STUN_URLS and keep TURN_ENABLED=true (or TURN_URLS) so people behind NATs can connect.',
  noTurn: (t: RelayTransport) =>
    t === 'udp'
      ? 'The server offers no TURN over UDP. Enable it (TURN_UDP_PORT, UDP 3478 open in the firewall, or add a turn:…?transport=udp URL to TURN_URLS): relaying over UDP has the lowest latency.'
      : t === 'tcp'
        ? 'The server offers no TURN over TCP. Enable it (TURN_TCP_PORT, TCP 3478 open) so people on networks that block UDP can still call.'
        : 'The server offers no TURN over TLS. Give the relay a certificate (TURN_TLS_CERT/TURN_TLS_KEY, port 5349 or 443) so people behind strict firewalls that only allow HTTPS can still call.',
  turnFailed: (t: RelayTransport, where: string) =>
    t === 'udp'
      ? `UDP to the relay (${where}) does not get through: open UDP ${where.split(':').pop()} and the relay port range (TURN_MIN_PORT–TURN_MAX_PORT) on the server's firewall; on your side, your network may block UDP (calls then use TCP, with more latency).`
      : t === 'tcp'
        ? `TCP to the relay (${where}) does not get through: open that TCP port on the server's firewall, or your network blocks it.`
        : `TLS to the relay (${where}) does not work: browsers only accept a certificate from a public CA that matches the host name (not a self-signed one) — set TURN_TLS_CERT/TURN_TLS_KEY to such a certificate; otherwise the port is blocked by a firewall.`,
  turnCertificate:
    "The relay's TLS certificate is not trusted. Browsers refuse self-signed certificates and certificates for another host name on turns: — set TURN_TLS_CERT/TURN_TLS_KEY to a certificate from a public CA (e.g. Let's Encrypt) for the relay's host name.",
  turnAuth:
    'The relay refused the credentials the server issued: TURN_SECRET must be the same on the signaling server and the relay (coturn: static-auth-secret), and the clocks must agree.',
  sfuDown: 'Group calls and this media test need the media server (SFU): check SFU_ENABLED and the server log for mediasoup worker errors.',
  sfuUnreachable:
    "The media server's address is not reachable: set SFU_ANNOUNCED_ADDRESS to the address clients reach it at (the public IP behind NAT) and open SFU_RTC_PORT (UDP and TCP) in the firewall.",
  mediaTcp:
    'Media went over TCP because UDP to the media server is blocked: open UDP SFU_RTC_PORT on the server, or allow outgoing UDP on your network, for lower latency.',
  mediaQuality: 'Your network is slow or lossy right now: move closer to the Wi-Fi access point, use a cable, or close other downloads and video streams.',
  permission: (what: 'camera' | 'microphone') =>
    `Allow the ${what} for this site (the camera icon in the address bar), and close other apps that might be using it.`,
  noDevice: (what: 'camera' | 'microphone') => `No ${what} was found: plug one in or check it is enabled in your system settings.`,
} as const;

// ---------------------------------------------------------------------------------------------
// Media round trip through the SFU

export interface MediaMetrics {
  /** Transport the media used to reach the SFU: 'udp' | 'tcp'; relay means through TURN. */
  transport: 'udp' | 'tcp' | null;
  candidateType: string | null;
  rttMs: number | null;
  jitterMs: number | null;
  /** Lost / expected over the received streams, 0–1. */
  lossRatio: number | null;
  audioPacketsReceived: number;
  videoFramesDecoded: number | null;
  /** Received bitrate (all streams) over the measurement, kbit/s. */
  bitrateKbps: number | null;
  seconds: number;
  /** End-to-end encryption: frames of ours that came back and were decrypted (null: the probe did not encrypt). */
  framesDecrypted?: number | null;
}

/** Thresholds where a call gets noticeably worse (ITU-T G.114 for delay; Opus copes with ~5 % loss). */
export const MEDIA_LIMITS = { rttWarnMs: 300, jitterWarnMs: 30, lossWarn: 0.03, lossFail: 0.2 } as const;

export function judgeMedia(m: MediaMetrics, video: boolean): Outcome {
  const metrics: Record<string, number | string | boolean | null> = Object.fromEntries(
    Object.entries(m).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v * (k === 'lossRatio' ? 10_000 : 10)) / (k === 'lossRatio' ? 10_000 : 10) : v]),
  );
  const fmt = (v: number | null, unit: string, digits = 0) => (v === null ? 'n/a' : `${v.toFixed(digits)} ${unit}`);
  const line =
    `Sent ${video ? 'audio and video' : 'audio'} to the media server and got it back for ${m.seconds.toFixed(0)} s over ${m.transport?.toUpperCase() ?? '?'}` +
    `${m.candidateType === 'relay' ? ' (through the TURN relay)' : ''}: round trip ${fmt(m.rttMs, 'ms')}, jitter ${fmt(m.jitterMs, 'ms', 1)}, ` +
    `loss ${m.lossRatio === null ? 'n/a' : `${(m.lossRatio * 100).toFixed(1)} %`}, ${fmt(m.bitrateKbps, 'kbit/s')}` +
    `${m.framesDecrypted ? `, end-to-end encrypted (${m.framesDecrypted} frames decrypted)` : ''}.`;
  if (m.audioPacketsReceived === 0) {
    return { status: 'fail', details: 'No media came back from the media server.', advice: ADVICE.sfuUnreachable, metrics };
  }
  if (m.framesDecrypted === 0) {
    return {
      status: 'fail',
      details: `Media came back but none of it could be decrypted: end-to-end encrypted calls will be silent. ${line}`,
      advice: ADVICE.mediaQuality,
      metrics,
    };
  }
  if (video && (m.videoFramesDecoded ?? 0) === 0) {
    return { status: 'fail', details: `Audio came back but no video frame did. ${line}`, advice: ADVICE.mediaQuality, metrics };
  }
  if ((m.lossRatio ?? 0) >= MEDIA_LIMITS.lossFail) {
    return { status: 'fail', details: `Too much media was lost. ${line}`, advice: ADVICE.mediaQuality, metrics };
  }
  if (m.transport === 'tcp') return { status: 'warn', details: line, advice: ADVICE.mediaTcp, metrics };
  const slow = (m.rttMs ?? 0) > MEDIA_LIMITS.rttWarnMs || (m.jitterMs ?? 0) > MEDIA_LIMITS.jitterWarnMs || (m.lossRatio ?? 0) > MEDIA_LIMITS.lossWarn;
  if (slow) return { status: 'warn', details: `Calls will have noticeable delay or glitches. ${line}`, advice: ADVICE.mediaQuality, metrics };
  return { status: 'pass', details: line, metrics };
}

/** A random room id in the echo namespace (docs/protocol.md, Echo rooms). */
export function echoRoomId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return `echo-${Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('')}`;
}

/** A guest identity for one test run, so the test never takes over a person's own handle. */
export function testGuest(): { handle: string; name: string; key: string } {
  const bytes = new Uint8Array(24);
  globalThis.crypto.getRandomValues(bytes);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return { handle: `conntest-${hex.slice(0, 8)}`, name: 'Connectivity test', key: hex };
}
