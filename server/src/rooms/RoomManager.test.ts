import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallwireServer } from '../CallwireServer.ts';
import { TestClient, sleep, startTestServer } from '../testing/harness.ts';

const VIDEO = { audioMuted: false, videoEnabled: true };
const OFFER = { type: 'offer' as const, sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' };
const ANSWER = { type: 'answer' as const, sdp: 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n' };
const CANDIDATE = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 };

describe('rooms and call links', () => {
  let server: CallwireServer;
  const clients: TestClient[] = [];
  const guest = async (handle: string, key?: string) => {
    const c = await TestClient.guest(server.url, handle, handle, key);
    clients.push(c);
    return c;
  };
  /** Two people in one link room. */
  const pair = async (roomId = 'test-room') => {
    const a = await guest('alice');
    const b = await guest('bob');
    const ja = await a.ok('room.join', { roomId, media: VIDEO });
    const jb = await b.ok('room.join', { roomId, media: VIDEO });
    await a.next('room.participantJoined');
    return { a, b, aId: ja.self.id, bId: jb.self.id, roomId, ja, jb };
  };

  beforeEach(async () => {
    server = await startTestServer({ RECONNECT_GRACE_MS: '500' });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.close();
  });

  it('room.create gives an unguessable link; joining creates link rooms on demand; the third person is refused', async () => {
    const d = await guest('dave');
    const { roomId } = await d.ok('room.create', { video: false });
    expect(roomId).toMatch(/^(?:[a-z2-9]{5}-){5}[a-z2-9]$/);
    const j = await d.ok('room.join', { roomId, media: { audioMuted: false, videoEnabled: true } });
    expect(j.room).toEqual({ id: roomId, kind: 'link', media: 'audio', mode: 'p2p', maxParticipants: 2, locked: false, e2ee: false });
    // A voice room clamps the camera off.
    expect(j.self.videoEnabled).toBe(false);
    expect(j.participants).toEqual([]);
    expect(j.resumeSecret.length).toBeGreaterThanOrEqual(16);

    const { b } = await pair('another-room');
    void b;
    const c = await guest('carol');
    expect(await c.request('room.join', { roomId: 'another-room', media: VIDEO })).toMatchObject({ ok: false, error: { code: 'room-full' } });
    expect(await c.request('room.join', { roomId: 'call-notacall', media: VIDEO })).toMatchObject({ ok: false, error: { code: 'unknown-room' } });
  });

  it('relays offer, answer and candidates in order, and refuses out-of-order ones without changing state', async () => {
    const { a, b, aId, bId, roomId } = await pair();
    // Answer without offer, candidate before any description.
    expect(await b.request('rtc.signal', { roomId, to: aId, description: ANSWER })).toMatchObject({ ok: false, error: { code: 'invalid-state' } });
    expect(await b.request('rtc.signal', { roomId, to: aId, candidate: CANDIDATE })).toMatchObject({ ok: false, error: { code: 'invalid-state' } });
    expect(a.has('rtc.signal')).toBe(false);

    await b.ok('rtc.signal', { roomId, to: aId, description: OFFER });
    expect(await a.next('rtc.signal')).toEqual({ roomId, from: bId, description: OFFER });
    await b.ok('rtc.signal', { roomId, to: aId, candidate: CANDIDATE });
    expect(await a.next('rtc.signal')).toEqual({ roomId, from: bId, candidate: CANDIDATE });
    await b.ok('rtc.signal', { roomId, to: aId, candidate: null });
    expect(await a.next('rtc.signal')).toEqual({ roomId, from: bId, candidate: null });

    await a.ok('rtc.signal', { roomId, to: bId, description: ANSWER });
    expect(await b.next('rtc.signal')).toEqual({ roomId, from: aId, description: ANSWER });
    // A second answer to the same offer is out of order.
    expect(await a.request('rtc.signal', { roomId, to: bId, description: ANSWER })).toMatchObject({ ok: false, error: { code: 'invalid-state' } });

    expect(await a.request('rtc.signal', { roomId, to: 'nosuchpeer', description: OFFER })).toMatchObject({
      ok: false,
      error: { code: 'unknown-participant' },
    });
    expect(await a.request('rtc.signal', { roomId: 'elsewhere', to: bId, description: OFFER })).toMatchObject({ ok: false, error: { code: 'unknown-room' } });
  });

  it('glare: both offer, the polite side answers, and both directions are settled', async () => {
    const { a, b, aId, bId, roomId } = await pair();
    await a.ok('rtc.signal', { roomId, to: bId, description: OFFER });
    await b.ok('rtc.signal', { roomId, to: aId, description: OFFER });
    await b.ok('rtc.signal', { roomId, to: aId, description: ANSWER });
    // The impolite side ignored the colliding offer; it must not be able to answer it now.
    expect(await a.request('rtc.signal', { roomId, to: bId, description: ANSWER })).toMatchObject({ ok: false, error: { code: 'invalid-state' } });
  });

  it('someone not in the room cannot signal or update into it', async () => {
    const { bId, roomId } = await pair();
    const eve = await guest('eve');
    expect(await eve.request('rtc.signal', { roomId, to: bId, description: OFFER })).toMatchObject({ ok: false, error: { code: 'not-in-room' } });
    expect(await eve.request('participant.update', { roomId, audioMuted: true })).toMatchObject({ ok: false, error: { code: 'not-in-room' } });
    expect(await eve.request('room.leave', { roomId })).toMatchObject({ ok: false, error: { code: 'not-in-room' } });
  });

  it('mute and camera state reach the other participant', async () => {
    const { a, b, bId, roomId } = await pair();
    const info = await b.ok('participant.update', { roomId, audioMuted: true });
    expect(info).toMatchObject({ id: bId, audioMuted: true, videoEnabled: true });
    expect(await a.next('room.participantUpdated')).toEqual({ roomId, participant: info });
    await b.ok('participant.update', { roomId, videoEnabled: false, name: 'Bobby' });
    expect((await a.next('room.participantUpdated')).participant).toMatchObject({ name: 'Bobby', videoEnabled: false, audioMuted: true });
  });

  it('voice call → video needs the other side to agree', async () => {
    const a = await guest('alice');
    const b = await guest('bob');
    const { roomId } = await a.ok('room.create', { video: false });
    const ja = await a.ok('room.join', { roomId, media: { audioMuted: false, videoEnabled: false } });
    await b.ok('room.join', { roomId, media: { audioMuted: false, videoEnabled: false } });
    expect(await a.request('participant.update', { roomId, videoEnabled: true })).toMatchObject({ ok: false, error: { code: 'video-not-allowed' } });

    const first = await a.ok('video.request', { roomId });
    const asked = await b.next('video.requested');
    expect(asked).toEqual({ roomId, requestId: first.requestId, from: ja.self.id });
    await b.ok('video.respond', { roomId, requestId: first.requestId, accept: false });
    expect(await a.next('video.responded')).toMatchObject({ accept: false });
    expect(await b.request('video.respond', { roomId, requestId: first.requestId, accept: true })).toMatchObject({
      ok: false,
      error: { code: 'invalid-state' },
    });

    const second = await a.ok('video.request', { roomId });
    await b.next('video.requested');
    expect(await a.request('video.respond', { roomId, requestId: second.requestId, accept: true })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const res = await b.ok('video.respond', { roomId, requestId: second.requestId, accept: true });
    expect(res.room.media).toBe('video');
    expect(await a.next('room.updated')).toMatchObject({ room: { media: 'video' } });
    expect(await a.next('video.responded')).toMatchObject({ accept: true });
    await a.ok('participant.update', { roomId, videoEnabled: true });
  });

  it('a dropped connection resumes the same participant within the grace period', async () => {
    const key = 'alice-resume-key-012345678';
    const a = await guest('alice', key);
    const b = await guest('bob');
    const ja = await a.ok('room.join', { roomId: 'resume-room', media: VIDEO });
    await b.ok('room.join', { roomId: 'resume-room', media: VIDEO });
    a.close();
    await sleep(100);
    const a2 = await guest('alice', key);
    const again = await a2.ok('room.join', {
      roomId: 'resume-room',
      media: VIDEO,
      resume: { participantId: ja.self.id, secret: ja.resumeSecret },
    });
    expect(again.self.id).toBe(ja.self.id);
    await sleep(700);
    expect(b.has('room.participantLeft')).toBe(false);

    // Without coming back, the seat is released after the grace period.
    a2.close();
    expect(await b.next('room.participantLeft', undefined, 3_000)).toEqual({ roomId: 'resume-room', participantId: ja.self.id, reason: 'disconnected' });
  });

  it('a reload without a resume ticket replaces the dropped seat instead of filling the room', async () => {
    const key = 'alice-reload-key-0123456789';
    const a = await guest('alice', key);
    const b = await guest('bob');
    const ja = await a.ok('room.join', { roomId: 'reload-room', media: VIDEO });
    await b.ok('room.join', { roomId: 'reload-room', media: VIDEO });
    a.close();
    await sleep(100);
    const a2 = await guest('alice', key);
    const j2 = await a2.ok('room.join', { roomId: 'reload-room', media: VIDEO });
    expect(j2.self.id).not.toBe(ja.self.id);
    expect(await b.next('room.participantLeft')).toMatchObject({ participantId: ja.self.id, reason: 'left' });
    expect((await b.next('room.participantJoined')).participant.id).toBe(j2.self.id);
  });

  it('the last one out closes the room', async () => {
    const { a, b, roomId } = await pair();
    await a.ok('room.leave', { roomId });
    expect(await b.next('room.participantLeft')).toMatchObject({ reason: 'left' });
    await b.ok('room.leave', { roomId });
    expect(server.rooms.roomCount).toBe(0);
  });
});
