/**
 * The embedding contract, shared by embed.js (on the host page) and the call app inside the
 * iframe: options, commands, events, error codes and the postMessage envelope. It has no imports
 * on purpose — embed.js must stay tiny — so validation is hand-written. The room and name rules
 * mirror the signaling contract (server/src/protocol); contract.test.ts keeps them in step.
 */

// ---- options ---------------------------------------------------------------------------------

/** Built-in call controls the host page can show or hide. */
export const CONTROLS = ['microphone', 'camera', 'devices', 'stats', 'hangup'] as const;
export type ControlName = (typeof CONTROLS)[number];

export const THEMES = ['dark', 'light'] as const;
export type Theme = (typeof THEMES)[number];

/** What a host page passes to `Callwire.mount(element, options)`. */
export interface EmbedOptions {
  /** A room name (3–64 of A-Z a-z 0-9 _ -) or a call link `https://<callwire-host>/call/<room>`. */
  room: string;
  /** Display name in the call (1–64 characters). Default: the token's name, else "Guest". */
  name?: string;
  /** A JWT for servers with AUTH_MODE=jwt. Sent to the frame by postMessage, never in a URL. */
  token?: string;
  /** Join with the microphone muted. */
  audioMuted?: boolean;
  /** Join with the camera off. */
  videoMuted?: boolean;
  /** Never open the camera (switchToVideo() still can). */
  voiceOnly?: boolean;
  theme?: Theme;
  /** Iframe size: a number of pixels or a CSS length ("100%", "30rem"). Defaults 100% × 480px. */
  width?: number | string;
  height?: number | string;
  /** Which built-in controls to show; [] hides the control bar. Default: all. */
  controls?: ControlName[];
  /** Join as soon as the frame is ready (default true); false waits for handle.join(). */
  autoJoin?: boolean;
  /** The callwire origin. Default: the origin embed.js was loaded from. */
  server?: string;
  /** How long to wait for the call frame to answer before an `error` (frame-timeout). Default 20000. */
  loadTimeoutMs?: number;
}

/** The part of the options the frame needs; embed.js sends it in the `init` message. */
export interface FrameOptions {
  name?: string;
  token?: string;
  audioMuted: boolean;
  videoMuted: boolean;
  voiceOnly: boolean;
  theme: Theme;
  controls: ControlName[];
  autoJoin: boolean;
}

/** Options after validation, as embed.js uses them. */
export interface ResolvedOptions {
  room: string;
  server: string;
  width: string;
  height: string;
  loadTimeoutMs: number;
  frame: FrameOptions;
}

// ---- commands and events -----------------------------------------------------------------------

/** Commands the host sends to the frame: name → arguments. (`destroy` is handled by embed.js.) */
export interface CommandMap {
  join: [];
  leave: [];
  setAudioMuted: [muted: boolean];
  setVideoMuted: [muted: boolean];
  setDisplayName: [name: string];
  switchToVideo: [];
  /** Host only: lock the call (newcomers wait in the lobby: see the `lobby` event) or unlock it. */
  setLocked: [locked: boolean];
  /** Host only: let someone from the lobby in (`true`) or turn them away. */
  admit: [lobbyId: string, admit: boolean];
  /** Host only: remove a participant (they cannot come back without a host letting them in). */
  removeParticipant: [participantId: string];
  /** Host only: ask a participant to mute (they get a `mute-requested` event and decide). */
  requestMute: [participantId: string];
}
export type CommandName = keyof CommandMap;
export const COMMANDS: readonly CommandName[] = [
  'join',
  'leave',
  'setAudioMuted',
  'setVideoMuted',
  'setDisplayName',
  'switchToVideo',
  'setLocked',
  'admit',
  'removeParticipant',
  'requestMute',
];

export interface ParticipantSummary {
  id: string;
  name: string;
  audioMuted: boolean;
  videoMuted: boolean;
  /** A host of the call (may lock it, admit, remove, ask to mute). */
  host: boolean;
}

/** `removed`: a host removed this participant. */
export type LeaveReason = 'hangup' | 'command' | 'disconnected' | 'removed';
export type QualityLevel = 'good' | 'fair' | 'poor';

/** Events the host receives: name → payload (`handle.on(name, cb)`, or `callwire-<name>` DOM events). */
export interface EventMap {
  /** The frame is loaded and has the options; commands now go straight through. */
  ready: { room: string };
  /** `encrypted`: the call's media is end-to-end encrypted (docs/e2ee.md). */
  joined: { room: string; self: ParticipantSummary; participants: ParticipantSummary[]; encrypted: boolean };
  left: { reason: LeaveReason };
  'participant-joined': ParticipantSummary;
  'participant-left': { id: string; name: string };
  /** Who is speaking among the remote participants; null once the speaker left. */
  'active-speaker': { id: string | null; name: string | null };
  /** Someone's microphone or camera changed; `local` is this embedded participant. */
  'mute-changed': { id: string; local: boolean; audioMuted: boolean; videoMuted: boolean };
  /** Link quality to one remote participant: score 0 (none) … 5 (excellent). */
  'network-quality': { id: string; score: number; level: QualityLevel; rttMs: number | null; loss: number };
  /** The call is locked: this participant knocked and waits for a host to let them in. */
  waiting: { room: string };
  /** A host locked or unlocked the call. */
  locked: { locked: boolean };
  /** Hosts only: who waits to be let in (the whole list, whenever it changes). */
  lobby: { waiting: { id: string; name: string; handle: string }[] };
  /** A host asks this participant to mute; muting stays their choice (`setAudioMuted(true)`). */
  'mute-requested': { from: { id: string; name: string } | null };
  error: EmbedErrorBody;
}
export type EventName = keyof EventMap;
export const EVENTS: readonly EventName[] = [
  'ready',
  'joined',
  'left',
  'participant-joined',
  'participant-left',
  'active-speaker',
  'mute-changed',
  'network-quality',
  'waiting',
  'locked',
  'lobby',
  'mute-requested',
  'error',
];

// ---- errors ------------------------------------------------------------------------------------

export const EMBED_ERROR_CODES = [
  /** mount() options are wrong (type, range, unknown key, bad room). Fatal. */
  'invalid-options',
  /** A command got a bad argument (e.g. setAudioMuted('yes')). */
  'invalid-argument',
  /** The host page's origin is not in the server's EMBED_ALLOWED_ORIGINS. Fatal. */
  'origin-not-allowed',
  /** The call frame did not load or answer in time (blocked, offline, wrong server). Fatal. */
  'frame-timeout',
  /** The frame could not reach the callwire server. Fatal. */
  'connection-failed',
  /** The server refused the token (AUTH_MODE=jwt). Fatal. */
  'unauthorized',
  /** The room has no free seat. */
  'room-full',
  /** Joining failed for another reason (the message says why). */
  'join-failed',
  /** Microphone or camera could not be opened; the call goes on without it. */
  'media-unavailable',
  /**
   * This browser cannot encrypt calls end to end (no encoded transforms). Not fatal by itself;
   * a server with E2EE=required then refuses the join (`join-failed`, saying so).
   */
  'e2ee-unsupported',
  /** The command needs a joined call. */
  'not-joined',
  /** Video is not allowed yet in this voice call: use switchToVideo(). */
  'video-not-allowed',
  /** A host command (setLocked, admit, removeParticipant, requestMute) from someone who is not a host. */
  'not-host',
  /** The call is locked and a host turned this participant away (or removed them while it is locked). */
  'not-admitted',
  /** The handle was destroyed (or failed) and takes no more commands. */
  'destroyed',
  /** A command failed for another reason, or got no answer in time. */
  'command-failed',
] as const;
export type EmbedErrorCode = (typeof EMBED_ERROR_CODES)[number];

export interface EmbedErrorBody {
  code: EmbedErrorCode;
  message: string;
  /** True when the handle is unusable afterwards. */
  fatal: boolean;
}

/** What command promises reject with; `code` is one of EMBED_ERROR_CODES. */
export class EmbedError extends Error {
  override readonly name = 'EmbedError';
  constructor(
    readonly code: EmbedErrorCode,
    message: string,
    readonly fatal = false,
  ) {
    super(message);
  }

  toJSON(): EmbedErrorBody {
    return { code: this.code, message: this.message, fatal: this.fatal };
  }
}

// ---- postMessage envelope ----------------------------------------------------------------------

/** Every message carries this tag, so unrelated postMessage traffic on either page is ignored. */
export const TAG = 'callwire-embed/1';

/** Frame → host. */
export type FrameMessage =
  | { tag: typeof TAG; kind: 'hello' }
  | { tag: typeof TAG; kind: 'event'; event: EventName; data: unknown }
  | { tag: typeof TAG; kind: 'result'; id: number; error: EmbedErrorBody | null };

/** Host → frame. */
export type HostMessage =
  { tag: typeof TAG; kind: 'init'; options: FrameOptions } | { tag: typeof TAG; kind: 'command'; id: number; command: CommandName; args: unknown[] };

// ---- validation --------------------------------------------------------------------------------

export type Result<T> = { ok: true; value: T } | { ok: false; error: EmbedError };

/** Same rule as the protocol's RoomId. */
export const ROOM_PATTERN = /^[A-Za-z0-9_-]{3,64}$/;
const NAME_MAX = 64;
const TOKEN_MAX = 8_192;
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const CSS_LENGTH = /^\d{1,5}(\.\d{1,3})?(px|%|em|rem|vh|vw|vmin|vmax)$/;

const OPTION_KEYS = new Set([
  'room',
  'name',
  'token',
  'audioMuted',
  'videoMuted',
  'voiceOnly',
  'theme',
  'width',
  'height',
  'controls',
  'autoJoin',
  'server',
  'loadTimeoutMs',
]);
const FRAME_KEYS = new Set(['name', 'token', 'audioMuted', 'videoMuted', 'voiceOnly', 'theme', 'controls', 'autoJoin']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const fail = <T>(code: EmbedErrorCode, message: string, fatal = code === 'invalid-options'): Result<T> => ({
  ok: false,
  error: new EmbedError(code, message, fatal),
});

/** A display name as the server accepts it (trimmed, 1–64, no control characters); null if not. */
export function checkName(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const name = v.trim();
  return name.length >= 1 && name.length <= NAME_MAX && !CONTROL_CHARS.test(name) ? name : null;
}

/** An http(s) origin like "https://call.example.com" (no path); null if not. */
export function checkOrigin(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  try {
    const u = new URL(v);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === v.replace(/\/$/, '') ? u.origin : null;
  } catch {
    return null;
  }
}

/**
 * A room name, or the room of a call link on `server` (`…/call/<room>`). A call link of another
 * server is refused: the frame has to come from the server that hosts the room.
 */
export function resolveRoom(v: unknown, server: string): Result<string> {
  if (typeof v !== 'string') return fail('invalid-options', `room must be a string, got ${typeName(v)}`);
  if (ROOM_PATTERN.test(v)) return { ok: true, value: v };
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return fail('invalid-options', `room "${clip(v)}" is not a room name (3–64 of A-Z a-z 0-9 _ -) or a call link`);
  }
  const m = /^\/call\/([^/]+)\/?$/.exec(url.pathname);
  if (!m || !ROOM_PATTERN.test(m[1]!)) return fail('invalid-options', `"${clip(v)}" is not a call link (…/call/<room>)`);
  if (url.origin !== server) return fail('invalid-options', `call link is for ${url.origin}, but this embed talks to ${server}`);
  return { ok: true, value: m[1]! };
}

/** Validates what a host page passed to mount(). `defaultServer` is where embed.js came from. */
export function parseOptions(input: unknown, defaultServer: string | null): Result<ResolvedOptions> {
  if (!isObject(input)) return fail('invalid-options', `options must be an object, got ${typeName(input)}`);
  for (const key of Object.keys(input)) if (!OPTION_KEYS.has(key)) return fail('invalid-options', `unknown option "${clip(key)}"`);

  const server = input['server'] === undefined ? defaultServer : checkOrigin(input['server']);
  if (!server) {
    return fail(
      'invalid-options',
      input['server'] === undefined
        ? 'cannot tell the callwire server: pass options.server'
        : 'server must be an http(s) origin like "https://call.example.com"',
    );
  }
  const room = resolveRoom(input['room'], server);
  if (!room.ok) return room;

  const width = cssLength(input['width'], '100%', 'width');
  if (!width.ok) return width;
  const height = cssLength(input['height'], '480px', 'height');
  if (!height.ok) return height;
  const timeout = input['loadTimeoutMs'] ?? 20_000;
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1_000 || timeout > 120_000) {
    return fail('invalid-options', 'loadTimeoutMs must be an integer from 1000 to 120000');
  }
  const frameInput: Record<string, unknown> = {};
  for (const key of FRAME_KEYS) if (input[key] !== undefined) frameInput[key] = input[key];
  const frame = parseFrameOptions(frameInput);
  if (!frame.ok) return frame;
  return { ok: true, value: { room: room.value, server, width: width.value, height: height.value, loadTimeoutMs: timeout, frame: frame.value } };
}

/** Validates (and fills defaults of) the options the frame gets; the frame runs this again. */
export function parseFrameOptions(input: unknown): Result<FrameOptions> {
  if (!isObject(input)) return fail('invalid-options', `options must be an object, got ${typeName(input)}`);
  for (const key of Object.keys(input)) if (!FRAME_KEYS.has(key)) return fail('invalid-options', `unknown option "${clip(key)}"`);
  const out: FrameOptions = { audioMuted: false, videoMuted: false, voiceOnly: false, theme: 'dark', controls: [...CONTROLS], autoJoin: true };

  if (input['name'] !== undefined) {
    const name = checkName(input['name']);
    if (name === null) return fail('invalid-options', 'name must be 1–64 characters without control characters');
    out.name = name;
  }
  if (input['token'] !== undefined) {
    const t = input['token'];
    if (typeof t !== 'string' || t.length === 0 || t.length > TOKEN_MAX)
      return fail('invalid-options', `token must be a non-empty string of at most ${TOKEN_MAX} characters`);
    out.token = t;
  }
  for (const key of ['audioMuted', 'videoMuted', 'voiceOnly', 'autoJoin'] as const) {
    const v = input[key];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') return fail('invalid-options', `${key} must be true or false, got ${typeName(v)}`);
    out[key] = v;
  }
  if (input['theme'] !== undefined) {
    if (!(THEMES as readonly unknown[]).includes(input['theme'])) return fail('invalid-options', `theme must be one of ${THEMES.join(', ')}`);
    out.theme = input['theme'] as Theme;
  }
  if (input['controls'] !== undefined) {
    const c = input['controls'];
    if (!Array.isArray(c) || c.length > CONTROLS.length || c.some((x) => !(CONTROLS as readonly unknown[]).includes(x)) || new Set(c).size !== c.length) {
      return fail('invalid-options', `controls must be a list of distinct names from ${CONTROLS.join(', ')}`);
    }
    out.controls = c as ControlName[];
  }
  return { ok: true, value: out };
}

/** Checks a command's arguments (the frame does, before acting on them). */
export function checkCommand(command: unknown, args: unknown): Result<{ command: CommandName; args: unknown[] }> {
  if (typeof command !== 'string' || !(COMMANDS as readonly string[]).includes(command))
    return fail('invalid-argument', `unknown command "${clip(String(command))}"`);
  const name = command as CommandName;
  if (!Array.isArray(args)) return fail('invalid-argument', `${name}: arguments must be a list`);
  const expect = (n: number) => args.length === n;
  switch (name) {
    case 'join':
    case 'leave':
    case 'switchToVideo':
      if (!expect(0)) return fail('invalid-argument', `${name}() takes no arguments`);
      break;
    case 'setAudioMuted':
    case 'setVideoMuted':
      if (!expect(1) || typeof args[0] !== 'boolean') return fail('invalid-argument', `${name}(muted) needs true or false, got ${typeName(args[0])}`);
      break;
    case 'setDisplayName':
      if (!expect(1) || checkName(args[0]) === null) return fail('invalid-argument', 'setDisplayName(name) needs 1–64 characters without control characters');
      break;
    case 'setLocked':
      if (!expect(1) || typeof args[0] !== 'boolean') return fail('invalid-argument', `setLocked(locked) needs true or false, got ${typeName(args[0])}`);
      break;
    case 'admit':
      if (!expect(2) || !isId(args[0]) || typeof args[1] !== 'boolean')
        return fail('invalid-argument', 'admit(lobbyId, admit) needs an id from the lobby event and true or false');
      break;
    case 'removeParticipant':
    case 'requestMute':
      if (!expect(1) || !isId(args[0])) return fail('invalid-argument', `${name}(participantId) needs a participant id, got ${typeName(args[0])}`);
      break;
  }
  return { ok: true, value: { command: name, args } };
}

/** Frame → host messages; null for anything else (other scripts' postMessage traffic, junk). */
export function parseFrameMessage(data: unknown): FrameMessage | null {
  if (!isObject(data) || data['tag'] !== TAG) return null;
  switch (data['kind']) {
    case 'hello':
      return { tag: TAG, kind: 'hello' };
    case 'event':
      if (!(EVENTS as readonly unknown[]).includes(data['event']) || !isObject(data['data'])) return null;
      return { tag: TAG, kind: 'event', event: data['event'] as EventName, data: data['data'] };
    case 'result': {
      const id = data['id'];
      const err = data['error'];
      if (typeof id !== 'number' || !Number.isInteger(id)) return null;
      if (err === null) return { tag: TAG, kind: 'result', id, error: null };
      if (!isObject(err) || !(EMBED_ERROR_CODES as readonly unknown[]).includes(err['code']) || typeof err['message'] !== 'string') return null;
      return { tag: TAG, kind: 'result', id, error: { code: err['code'] as EmbedErrorCode, message: err['message'], fatal: err['fatal'] === true } };
    }
    default:
      return null;
  }
}

/** Host → frame messages; null for anything else. Options and arguments are checked separately. */
export function parseHostMessage(data: unknown): HostMessage | null {
  if (!isObject(data) || data['tag'] !== TAG) return null;
  if (data['kind'] === 'init') {
    const options = parseFrameOptions(data['options']);
    return options.ok ? { tag: TAG, kind: 'init', options: options.value } : null;
  }
  if (data['kind'] === 'command') {
    const id = data['id'];
    if (typeof id !== 'number' || !Number.isInteger(id) || typeof data['command'] !== 'string' || !Array.isArray(data['args'])) return null;
    return { tag: TAG, kind: 'command', id, command: data['command'] as CommandName, args: data['args'] };
  }
  return null;
}

/** Same rule as the protocol's Id. */
function isId(v: unknown): v is string {
  return typeof v === 'string' && /^[A-Za-z0-9_-]{6,64}$/.test(v);
}

function cssLength(v: unknown, fallback: string, key: string): Result<string> {
  if (v === undefined) return { ok: true, value: fallback };
  if (typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= 100_000) return { ok: true, value: `${v}px` };
  if (typeof v === 'string' && CSS_LENGTH.test(v)) return { ok: true, value: v };
  return fail('invalid-options', `${key} must be a number of pixels or a CSS length like "100%" or "30rem"`);
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'string' ? `"${clip(v)}"` : typeof v === 'object' ? 'object' : String(v);
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
