/**
 * Fuzzing the signaling boundary: 10,000 malformed, out-of-order and oversized messages from
 * several connections, host controls aimed at a call they are not hosts of among them. Every one is answered with a typed error (or, when a mutation happens to
 * be valid, a success), the server stays up, and a call in progress next to it is unaffected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallwireServer } from '../CallwireServer.ts';
import { ERROR_CODES, LIMITS, requestSchemas, type Ack } from '../protocol/index.ts';
import { TestClient, startTestServer } from '../testing/harness.ts';

const MESSAGES = 10_000;
const FUZZERS = 4;

/** Deterministic PRNG so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

const EVENTS = [...Object.keys(requestSchemas), 'nope', 'room.joinx', '', 'constructor', '__proto__', 'sfu.everything'];
const VALID: Record<string, unknown> = {
  ping: { t: 1 },
  'presence.watch': { handles: ['someone'] },
  'call.invite': { to: 'ghost', video: true },
  'call.accept': { callId: 'abcdefgh' },
  'call.decline': { callId: 'abcdefgh' },
  'call.cancel': { callId: 'abcdefgh' },
  'missedCalls.ack': { ids: ['abcdefgh'] },
  'room.create': { video: true },
  'room.join': { roomId: 'fuzz-room', media: { audioMuted: false, videoEnabled: true } },
  'room.leave': { roomId: 'fuzz-room' },
  'participant.update': { roomId: 'fuzz-room', audioMuted: true },
  'video.request': { roomId: 'fuzz-room' },
  'video.respond': { roomId: 'fuzz-room', requestId: 'abcdefgh', accept: true },
  'rtc.signal': { roomId: 'fuzz-room', to: 'abcdefgh', description: { type: 'answer', sdp: 'v=0' } },
  'sfu.capabilities': { roomId: 'fuzz-room' },
  // Host controls aimed at the call next door (its host is Alice): they must all be refused.
  'room.lock': { roomId: 'calm-room', locked: true },
  'room.knock': { roomId: 'calm-room', name: 'Fuzz' },
  'room.knockCancel': { roomId: 'calm-room' },
  'room.admit': { roomId: 'calm-room', lobbyId: 'abcdefgh', admit: true },
  'room.remove': { roomId: 'calm-room', participantId: 'abcdefgh' },
  'participant.requestMute': { roomId: 'calm-room', participantId: 'abcdefgh' },
  'sfu.produce': { roomId: 'fuzz-room', transportId: '00000000-0000-4000-8000-000000000000', kind: 'audio', rtpParameters: { codecs: [] }, source: 'mic' },
};
const JUNK: unknown[] = [
  null,
  0,
  -1,
  1e308,
  Number.NaN,
  '',
  'x'.repeat(300),
  'x'.repeat(LIMITS.messageBytes + 10),
  [],
  [[[]]],
  {},
  true,
  false,
  { a: { b: { c: {} } } },
  '\u0000\u001f',
  '🙂'.repeat(40),
];

function mutate(r: (n: number) => number, value: unknown, depth = 0): unknown {
  if (depth > 3 || value === null || typeof value !== 'object') return r(3) === 0 ? JUNK[r(JUNK.length)] : value;
  if (Array.isArray(value)) return r(4) === 0 ? JUNK[r(JUNK.length)] : value.map((v) => mutate(r, v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const roll = r(8);
    if (roll === 0) continue; // drop a field
    out[k] = roll === 1 ? JUNK[r(JUNK.length)] : mutate(r, v, depth + 1);
  }
  if (r(5) === 0) out[['extra', 'admin', '__proto__', 'constructor'][r(4)]!] = JUNK[r(JUNK.length)];
  return out;
}

describe('signaling fuzz', () => {
  let server: CallwireServer;
  beforeAll(async () => {
    server = await startTestServer({ RATE_LIMIT_PER_SEC: '10000' });
  });
  afterAll(async () => server?.close());

  it(`answers ${MESSAGES} bad messages with typed errors while a call next to it keeps working`, async () => {
    // A call in progress: two people exchanging offer/answer/candidates through the server.
    const alice = await TestClient.guest(server.url, 'call-alice');
    const bob = await TestClient.guest(server.url, 'call-bob');
    const a = await alice.ok('room.join', { roomId: 'calm-room', media: { audioMuted: false, videoEnabled: true } });
    const b = await bob.ok('room.join', { roomId: 'calm-room', media: { audioMuted: false, videoEnabled: true } });
    let relayed = 0;
    bob.socket.on('rtc.signal', () => relayed++);
    const callTraffic = (async () => {
      for (let i = 0; i < 50; i++) {
        await alice.ok('rtc.signal', { roomId: 'calm-room', to: b.self.id, description: { type: 'offer', sdp: `v=0 ${i}` } });
        await alice.ok('rtc.signal', { roomId: 'calm-room', to: b.self.id, candidate: { candidate: `candidate:${i} 1 udp 1 127.0.0.1 ${5000 + i} typ host` } });
        await bob.ok('rtc.signal', { roomId: 'calm-room', to: a.self.id, description: { type: 'answer', sdp: `v=0 ${i}` } });
      }
    })();

    const fuzzers = await Promise.all(Array.from({ length: FUZZERS }, (_, i) => TestClient.guest(server.url, `fuzzer${i}`)));
    const r = rng(0xc0ffee);
    const codes = new Map<string, number>();
    let answered = 0;
    let ok = 0;
    const per = MESSAGES / FUZZERS;
    await Promise.all(
      fuzzers.map(async (f) => {
        for (let i = 0; i < per; i++) {
          const event = EVENTS[r(EVENTS.length)]!;
          const base = VALID[event] ?? JUNK[r(JUNK.length)];
          const payload = r(10) === 0 ? JUNK[r(JUNK.length)] : mutate(r, base);
          const args = r(20) === 0 ? [payload, payload] : [payload];
          const res = (await f.raw(event, ...args)) as Ack<unknown>;
          answered++;
          if (res.ok) ok++;
          else {
            expect(ERROR_CODES, `${event} → ${JSON.stringify(res.error)}`).toContain(res.error.code);
            expect(typeof res.error.message).toBe('string');
            codes.set(res.error.code, (codes.get(res.error.code) ?? 0) + 1);
          }
        }
      }),
    );
    await callTraffic;

    expect(answered).toBe(MESSAGES);
    expect(ok, 'almost everything is refused').toBeLessThan(MESSAGES * 0.2);
    expect(codes.get('invalid-message')).toBeGreaterThan(1_000);
    expect(codes.get('unknown-event')).toBeGreaterThan(100);
    expect(codes.get('payload-too-large')).toBeGreaterThan(10);
    // The call next door got every one of its 100 signals, in order, and the server still answers.
    expect(relayed).toBe(100);
    expect(await bob.ok('ping', { t: 42 })).toMatchObject({ t: 42 });
    expect(server.rooms.get('calm-room')?.participants.size).toBe(2);
    // Nobody but its host could change the call next door.
    expect(server.rooms.get('calm-room')?.locked).toBe(false);
    expect(bob.has('room.removed') || bob.has('room.muteRequested')).toBe(false);
    console.log(`fuzz: ${MESSAGES} messages, ${ok} accepted, errors: ${JSON.stringify(Object.fromEntries(codes))}`);
    for (const c of [alice, bob, ...fuzzers]) c.close();
  }, 120_000);
});
