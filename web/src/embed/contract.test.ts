import { describe, expect, it } from 'vitest';
import { DisplayName, RoomId } from '../../../server/src/protocol/schemas.ts';
import {
  CONTROLS,
  EmbedError,
  ROOM_PATTERN,
  TAG,
  checkCommand,
  checkName,
  checkOrigin,
  parseFrameMessage,
  parseFrameOptions,
  parseHostMessage,
  parseOptions,
  resolveRoom,
} from './contract.ts';

const SERVER = 'https://call.example.com';

function error(input: unknown, server: string | null = SERVER): EmbedError {
  const r = parseOptions(input, server);
  if (r.ok) throw new Error(`expected ${JSON.stringify(input)} to be refused`);
  return r.error;
}

describe('mount() options', () => {
  it('fills defaults for a bare room', () => {
    const r = parseOptions({ room: 'team-standup' }, SERVER);
    expect(r).toEqual({
      ok: true,
      value: {
        room: 'team-standup',
        server: SERVER,
        width: '100%',
        height: '480px',
        loadTimeoutMs: 20_000,
        frame: { audioMuted: false, videoMuted: false, voiceOnly: false, theme: 'dark', controls: [...CONTROLS], autoJoin: true },
      },
    });
  });

  it('takes every option, trims the name, turns numbers into pixels', () => {
    const r = parseOptions(
      {
        room: 'abc',
        name: '  Ada  ',
        token: 'eyJ.x.y',
        audioMuted: true,
        videoMuted: true,
        voiceOnly: true,
        theme: 'light',
        width: 640,
        height: '30rem',
        controls: ['microphone', 'hangup'],
        autoJoin: false,
        server: 'http://127.0.0.1:3180',
        loadTimeoutMs: 5_000,
      },
      null,
    );
    expect(r.ok && r.value).toEqual({
      room: 'abc',
      server: 'http://127.0.0.1:3180',
      width: '640px',
      height: '30rem',
      loadTimeoutMs: 5_000,
      frame: {
        name: 'Ada',
        token: 'eyJ.x.y',
        audioMuted: true,
        videoMuted: true,
        voiceOnly: true,
        theme: 'light',
        controls: ['microphone', 'hangup'],
        autoJoin: false,
      },
    });
  });

  it('accepts a call link of the same server, and an empty control list', () => {
    const r = parseOptions({ room: `${SERVER}/call/k3f-9xyz-abc`, controls: [] }, SERVER);
    expect(r.ok && [r.value.room, r.value.frame.controls]).toEqual(['k3f-9xyz-abc', []]);
  });

  it.each([
    [{ room: 42 }, 'room must be a string, got 42'],
    [{}, 'room must be a string, got undefined'],
    [{ room: 'ab' }, 'room "ab" is not a room name'],
    [{ room: 'has space' }, 'room "has space" is not a room name'],
    [{ room: 'x'.repeat(65) }, 'is not a room name'],
    [{ room: 'https://call.example.com/other/abc' }, 'is not a call link'],
    [{ room: 'https://call.example.com/call/a' }, 'is not a call link'],
    [{ room: 'https://evil.example.com/call/abc' }, 'call link is for https://evil.example.com, but this embed talks to https://call.example.com'],
    [{ room: 'abc', rooom: 1 }, 'unknown option "rooom"'],
    [{ room: 'abc', name: '' }, 'name must be 1–64 characters'],
    [{ room: 'abc', name: '   ' }, 'name must be 1–64 characters'],
    [{ room: 'abc', name: 'a'.repeat(65) }, 'name must be 1–64 characters'],
    [{ room: 'abc', name: 'bell\u0007' }, 'name must be 1–64 characters'],
    [{ room: 'abc', name: 7 }, 'name must be 1–64 characters'],
    [{ room: 'abc', token: '' }, 'token must be a non-empty string'],
    [{ room: 'abc', token: 'x'.repeat(8_193) }, 'token must be a non-empty string'],
    [{ room: 'abc', audioMuted: 'true' }, 'audioMuted must be true or false, got "true"'],
    [{ room: 'abc', videoMuted: 1 }, 'videoMuted must be true or false, got 1'],
    [{ room: 'abc', voiceOnly: null }, 'voiceOnly must be true or false, got null'],
    [{ room: 'abc', autoJoin: {} }, 'autoJoin must be true or false, got object'],
    [{ room: 'abc', theme: 'neon' }, 'theme must be one of dark, light'],
    [{ room: 'abc', controls: 'microphone' }, 'controls must be a list'],
    [{ room: 'abc', controls: ['mute'] }, 'controls must be a list'],
    [{ room: 'abc', controls: ['hangup', 'hangup'] }, 'controls must be a list of distinct names'],
    [{ room: 'abc', width: -5 }, 'width must be a number of pixels or a CSS length'],
    [{ room: 'abc', width: '100px; background: red' }, 'width must be'],
    [{ room: 'abc', height: 'calc(100% - 2px)' }, 'height must be'],
    [{ room: 'abc', height: Number.NaN }, 'height must be'],
    [{ room: 'abc', server: 'https://call.example.com/path' }, 'server must be an http(s) origin'],
    [{ room: 'abc', server: 'javascript:alert(1)' }, 'server must be an http(s) origin'],
    [{ room: 'abc', loadTimeoutMs: 10 }, 'loadTimeoutMs must be an integer from 1000 to 120000'],
    [null, 'options must be an object, got null'],
    [['abc'], 'options must be an object, got array'],
    ['abc', 'options must be an object, got "abc"'],
  ])('refuses %j: %s', (input, message) => {
    const e = error(input);
    expect(e).toBeInstanceOf(EmbedError);
    expect(e.code).toBe('invalid-options');
    expect(e.fatal).toBe(true);
    expect(e.message).toContain(message);
    expect(e.toJSON()).toEqual({ code: 'invalid-options', message: e.message, fatal: true });
  });

  it('needs a server when embed.js cannot tell where it came from', () => {
    expect(error({ room: 'abc' }, null).message).toBe('cannot tell the callwire server: pass options.server');
  });

  it('the frame re-checks its options and refuses keys that belong to the host side', () => {
    expect(parseFrameOptions({ room: 'abc' })).toMatchObject({ ok: false, error: { code: 'invalid-options', message: 'unknown option "room"' } });
    expect(parseFrameOptions({ name: 'Ada', audioMuted: true })).toMatchObject({ ok: true, value: { name: 'Ada', audioMuted: true, videoMuted: false } });
  });
});

describe('the rules match the signaling contract', () => {
  it.each(['abc', 'team-standup', 'A_b-9', 'x'.repeat(64), 'ab', 'x'.repeat(65), 'has space', 'ünï', 'a/b', '', 'call-123456'])('room %j', (room) => {
    expect(ROOM_PATTERN.test(room)).toBe(RoomId.safeParse(room).success);
  });
  it.each(['Ada', '  Ada  ', '', '   ', 'a'.repeat(64), 'a'.repeat(65), 'tab\there', 'Zoë 🎉', 'del\u007f'])('name %j', (name) => {
    const z = DisplayName.safeParse(name);
    expect(checkName(name)).toBe(z.success ? z.data : null);
  });
  it('resolveRoom passes plain names through unchanged', () => {
    expect(resolveRoom('abc', SERVER)).toEqual({ ok: true, value: 'abc' });
  });
});

describe('origins', () => {
  it.each([
    ['https://a.example', 'https://a.example'],
    ['https://a.example/', 'https://a.example'],
    ['http://127.0.0.1:3180', 'http://127.0.0.1:3180'],
    ['https://a.example/path', null],
    ['ftp://a.example', null],
    ['null', null],
    [42, null],
  ])('%j → %j', (input, out) => {
    expect(checkOrigin(input)).toBe(out);
  });
});

describe('commands', () => {
  it.each([
    ['join', []],
    ['leave', []],
    ['switchToVideo', []],
    ['setAudioMuted', [true]],
    ['setVideoMuted', [false]],
    ['setDisplayName', ['Ada']],
    ['setLocked', [true]],
    ['admit', ['lobby-id-123', true]],
    ['removeParticipant', ['participant-1']],
    ['requestMute', ['participant-1']],
  ])('%s(%j) is fine', (command, args) => {
    expect(checkCommand(command, args)).toEqual({ ok: true, value: { command, args } });
  });

  it.each([
    ['explode', [], 'unknown command "explode"'],
    ['destroy', [], 'unknown command "destroy"'],
    ['join', [1], 'join() takes no arguments'],
    ['setAudioMuted', ['yes'], 'setAudioMuted(muted) needs true or false, got "yes"'],
    ['setAudioMuted', [], 'setAudioMuted(muted) needs true or false, got undefined'],
    ['setVideoMuted', [true, false], 'setVideoMuted(muted) needs true or false'],
    ['setDisplayName', [''], 'setDisplayName(name) needs 1–64 characters'],
    ['setAudioMuted', 'true', 'setAudioMuted: arguments must be a list'],
    ['setLocked', ['yes'], 'setLocked(locked) needs true or false'],
    ['admit', ['lobby-id-123'], 'admit(lobbyId, admit) needs'],
    ['admit', ['<script>', true], 'admit(lobbyId, admit) needs'],
    ['removeParticipant', [42], 'removeParticipant(participantId) needs a participant id'],
    ['requestMute', ['x'], 'requestMute(participantId) needs a participant id'],
  ])('%s(%j) is refused', (command, args, message) => {
    const r = checkCommand(command, args);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('invalid-argument');
      expect(r.error.fatal).toBe(false);
      expect(r.error.message).toContain(message);
    }
  });
});

describe('postMessage envelope', () => {
  it('reads the frame messages and drops everything else', () => {
    expect(parseFrameMessage({ tag: TAG, kind: 'hello' })).toEqual({ tag: TAG, kind: 'hello' });
    expect(parseFrameMessage({ tag: TAG, kind: 'event', event: 'joined', data: { room: 'abc' } })).toMatchObject({ event: 'joined' });
    expect(parseFrameMessage({ tag: TAG, kind: 'result', id: 3, error: null })).toEqual({ tag: TAG, kind: 'result', id: 3, error: null });
    expect(parseFrameMessage({ tag: TAG, kind: 'result', id: 3, error: { code: 'not-joined', message: 'no', fatal: 'x' } })).toMatchObject({
      error: { code: 'not-joined', fatal: false },
    });
    for (const junk of [
      null,
      'hello',
      { kind: 'hello' },
      { tag: 'callwire-embed/0', kind: 'hello' },
      { tag: TAG, kind: 'event', event: 'pwned', data: {} },
      { tag: TAG, kind: 'event', event: 'joined', data: 'x' },
      { tag: TAG, kind: 'result', id: '3', error: null },
      { tag: TAG, kind: 'result', id: 3, error: { code: 'made-up', message: 'x' } },
      { tag: TAG, kind: 'init', options: {} },
    ]) {
      expect(parseFrameMessage(junk)).toBeNull();
    }
  });

  it('reads the host messages; init options are validated, bad ones dropped', () => {
    expect(parseHostMessage({ tag: TAG, kind: 'init', options: { name: 'Ada' } })).toMatchObject({ kind: 'init', options: { name: 'Ada', autoJoin: true } });
    expect(parseHostMessage({ tag: TAG, kind: 'init', options: { name: 5 } })).toBeNull();
    expect(parseHostMessage({ tag: TAG, kind: 'command', id: 1, command: 'join', args: [] })).toEqual({
      tag: TAG,
      kind: 'command',
      id: 1,
      command: 'join',
      args: [],
    });
    expect(parseHostMessage({ tag: TAG, kind: 'command', id: 1.5, command: 'join', args: [] })).toBeNull();
    expect(parseHostMessage({ tag: TAG, kind: 'command', id: 1, command: 'join' })).toBeNull();
    expect(parseHostMessage({ tag: TAG, kind: 'hello' })).toBeNull();
  });
});
