/**
 * The call model on its own, with a fake signaling server and fake media paths (the way
 * LiveKit tests its Room): joining, people coming and going, the move from peer to peer to the
 * SFU, resuming after a reconnection, a new seat after a reset, mute state, and hosts' locks.
 */
import { SignalingError } from '@protocol';
import { describe, expect, it, vi } from 'vitest';
import { Room } from './Room.ts';
import { FakeSignaling, FakeTracks, fakeMediaPaths, participant, roomInfo, track } from './testing/fakes.ts';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setup(opts: { others?: ReturnType<typeof participant>[]; mode?: 'p2p' | 'sfu' } = {}) {
  const signaling = new FakeSignaling();
  const tracks = new FakeTracks();
  const paths = fakeMediaPaths();
  const self = participant('Me');
  let seat = self;
  let others = opts.others ?? [];
  let mode = opts.mode ?? 'p2p';
  signaling.handle('room.join', (req) => ({
    room: roomInfo({ id: req.roomId, mode }),
    self: { ...seat, audioMuted: req.media.audioMuted },
    participants: others,
    resumeSecret: 'resume-secret-0123456789',
    iceServers: [],
  }));
  signaling.handle('rtc.signal', () => ({}));
  signaling.handle('room.leave', () => ({}));
  signaling.handle('participant.update', (u) => ({ ...seat, audioMuted: u.audioMuted ?? seat.audioMuted }));
  const room = new Room(signaling, 'team', tracks, {}, paths);
  return {
    signaling,
    tracks,
    paths,
    room,
    self,
    /** What the next `room.join` answers. */
    next: (o: { others?: ReturnType<typeof participant>[]; mode?: 'p2p' | 'sfu'; seat?: ReturnType<typeof participant> }) => {
      if (o.others) others = o.others;
      if (o.mode) mode = o.mode;
      if (o.seat) seat = o.seat;
    },
  };
}

describe('Room (model, fake ports)', () => {
  it('joins: one peer-to-peer link per person already there, and the newcomer makes the offers', async () => {
    const ann = participant('Ann');
    const { room, paths, signaling, tracks } = setup({ others: [ann] });
    const states: string[] = [];
    room.on('state', (s) => states.push(s));
    await room.join();
    expect(states).toEqual(['joining', 'joined']);
    expect([...room.participants.keys()]).toEqual([ann.id]);
    expect(paths.links).toHaveLength(1);
    expect(paths.links[0]!.options).toMatchObject({ remoteId: ann.id, initiator: true, polite: false });
    expect(paths.links[0]!.local.audio).toBe(tracks.audio);
    // What the link sends goes to Ann through signaling.
    await paths.links[0]!.options.send({ description: { type: 'offer', sdp: 'v=0' } });
    expect(signaling.sentOf('rtc.signal')).toEqual([{ roomId: 'team', to: ann.id, description: { type: 'offer', sdp: 'v=0' } }]);
    // And what Ann sends reaches the link.
    signaling.push('rtc.signal', { roomId: 'team', from: ann.id, description: { type: 'answer', sdp: 'v=0' } });
    expect(paths.links[0]!.received).toEqual([{ roomId: 'team', from: ann.id, description: { type: 'answer', sdp: 'v=0' } }]);
  });

  it('someone joins later: we answer their offers; they leave: their link closes', async () => {
    const { room, paths, signaling } = setup();
    await room.join();
    const left: string[] = [];
    room.on('participantLeft', (p) => left.push(p.info.name));
    const ben = participant('Ben');
    signaling.push('room.participantJoined', { roomId: 'team', participant: ben });
    expect(paths.links[0]!.options).toMatchObject({ remoteId: ben.id, initiator: false, polite: true });
    signaling.push('room.participantJoined', { roomId: 'other-room', participant: participant('Zed') });
    expect(room.participants.size, 'events of other rooms are not ours').toBe(1);
    signaling.push('room.participantLeft', { roomId: 'team', participantId: ben.id, reason: 'left' });
    expect(left).toEqual(['Ben']);
    expect(paths.links[0]!.closed).toBe(true);
  });

  it('a third person moves the call to the SFU, make before break: the link stays until the SFU stream flows, then it closes', async () => {
    const ann = participant('Ann');
    const { room, paths, signaling } = setup({ others: [ann] });
    await room.join();
    const p2pAudio = track('audio');
    paths.links[0]!.deliver(p2pAudio);
    const rp = room.participants.get(ann.id)!;
    expect(rp.stream.getTracks()).toEqual([p2pAudio]);

    signaling.push('room.updated', { room: roomInfo({ mode: 'sfu' }) });
    expect(paths.sessions).toHaveLength(1);
    expect(paths.sessions[0]!.starts).toBe(1);
    expect(rp.path, 'the P2P link keeps playing while the SFU is set up').toBe('p2p');

    const sfuAudio = track('audio');
    paths.sessions[0]!.deliver(ann.id, sfuAudio);
    await vi.waitFor(() => expect(rp.stream.getTracks(), 'the track is swapped in place').toEqual([sfuAudio]));
    expect(paths.links[0]!.closed, 'and the link closes a moment later, not at once').toBe(false);
    await vi.waitFor(() => expect(paths.links[0]!.closed).toBe(true), { timeout: 10_000 });
    expect(rp.path).toBe('sfu');
    // Newcomers from now on are SFU-only: no link.
    signaling.push('room.participantJoined', { roomId: 'team', participant: participant('Cat') });
    expect(paths.links).toHaveLength(1);
  });

  it("a participant's connection is their link's until the move to the SFU completes, then the SFU session's", async () => {
    const ann = participant('Ann');
    const { room, paths, signaling } = setup({ others: [ann] });
    await room.join();
    const rp = room.participants.get(ann.id)!;
    const seen: string[] = [];
    rp.on('connection', (s) => seen.push(s));
    paths.links[0]!.setState('connected');
    signaling.push('room.updated', { room: roomInfo({ mode: 'sfu' }) });
    const session = paths.sessions[0]!;
    session.setState('connecting');
    expect(rp.connection, 'still on the link: the SFU state is not theirs yet').toBe('connected');
    session.setState('connected');
    paths.links[0]!.deliver(track('audio'));
    const sfuAudio = track('audio');
    session.deliver(ann.id, sfuAudio);
    await vi.waitFor(() => expect(rp.stream.getTracks()).toEqual([sfuAudio]));
    paths.links[0]!.deliver(track('audio'));
    expect(rp.stream.getTracks(), 'a late P2P track does not push the SFU one out').toEqual([sfuAudio]);
    await vi.waitFor(() => expect(rp.path).toBe('sfu'), { timeout: 10_000 });
    session.setState('disconnected');
    expect(rp.connection).toBe('disconnected');
    expect(seen).toEqual(['connected', 'disconnected']);
  });

  it("in a group call newcomers have no link: their media and statistics are the SFU's", async () => {
    const ann = participant('Ann');
    const { room, paths, signaling } = setup({ others: [ann], mode: 'sfu' });
    await room.join();
    const ben = participant('Ben');
    signaling.push('room.participantJoined', { roomId: 'team', participant: ben });
    expect(paths.links).toHaveLength(0);
    const rp = room.participants.get(ben.id)!;
    expect(rp.path).toBe('sfu');
    expect(rp.statsSource).not.toBeNull();
    const video = track('video');
    paths.sessions[0]!.deliver(ben.id, video);
    await vi.waitFor(() => expect(rp.stream.getTracks()).toEqual([video]));
  });

  it('after a reconnection the same seat is resumed: links survive, broken ones restart ICE, who left meanwhile is dropped', async () => {
    const ann = participant('Ann');
    const ben = participant('Ben');
    const { room, paths, signaling, next } = setup({ others: [ann, ben] });
    await room.join();
    paths.links[0]!.setState('disconnected');
    next({ others: [ann] });
    signaling.reconnect();
    await vi.waitFor(() => expect(signaling.sentOf('room.join')).toHaveLength(2));
    await wait(10);
    const joins = signaling.sentOf('room.join');
    expect(joins[1]!.resume).toEqual({ participantId: room.self!.id, secret: 'resume-secret-0123456789' });
    expect(room.state).toBe('joined');
    expect([...room.participants.keys()]).toEqual([ann.id]);
    expect(paths.links).toHaveLength(2);
    expect(paths.links[0]!.closed).toBe(false);
    expect(paths.links[0]!.iceRestarts).toBe(1);
    expect(paths.links[1]!.closed, 'Ben left while we were away').toBe(true);
  });

  it('a rejoin the service briefly cannot answer (unavailable) is retried until it can', async () => {
    const { room, signaling } = setup();
    await room.join();
    let refusals = 2;
    const ok = signaling.sentOf('room.join').length;
    const original = roomInfo();
    signaling.handle('room.join', () => {
      if (refusals-- > 0) throw new SignalingError('unavailable', 'store coming back');
      return { room: original, self: room.self!, participants: [], resumeSecret: 'resume-secret-0123456789', iceServers: [] };
    });
    signaling.reconnect();
    await vi.waitFor(() => expect(signaling.sentOf('room.join').length - ok).toBe(3), { timeout: 10_000 });
    expect(room.state).toBe('joined');
  });

  it('in a group call a new seat (the old one expired) sets the SFU up again; the same seat only resyncs', async () => {
    const ann = participant('Ann');
    const { room, paths, signaling, next } = setup({ others: [ann], mode: 'sfu' });
    await room.join();
    const session = paths.sessions[0]!;
    signaling.reconnect();
    await wait(10);
    expect(session.resyncs).toBe(1);
    expect(session.restarts).toBe(0);
    next({ seat: participant('Me') });
    signaling.reconnect();
    await wait(10);
    expect(session.restarts).toBe(1);
    expect(room.participants.get(ann.id)).toBeDefined();
  });

  it('mute: the microphone mutes at once, everyone is told, and the server answer is our state', async () => {
    const { room, signaling, tracks } = setup();
    await room.join();
    const updates: boolean[] = [];
    room.on('localUpdated', (info) => updates.push(info.audioMuted));
    await room.setAudioMuted(true);
    expect(tracks.audioMuted).toBe(true);
    expect(signaling.sentOf('participant.update')).toEqual([{ roomId: 'team', audioMuted: true }]);
    expect(updates).toEqual([true]);
    expect(room.self!.audioMuted).toBe(true);
  });

  it('voice → video: when the others accept our request, the model turns our camera on', async () => {
    const ann = participant('Ann');
    const { room, signaling, tracks } = setup({ others: [ann] });
    signaling.handle('video.request', () => ({ requestId: 'video-req-1' }));
    await room.join();
    await room.requestVideo();
    signaling.push('room.updated', { room: roomInfo({ media: 'video' }) });
    signaling.push('video.responded', { roomId: 'team', requestId: 'video-req-1', from: ann.id, accept: true });
    await vi.waitFor(() => expect(tracks.video).not.toBeNull());
    expect(signaling.sentOf('participant.update').at(-1)).toEqual({ roomId: 'team', videoEnabled: true });
  });

  it('someone else mutes: their participant updates', async () => {
    const ann = participant('Ann');
    const { room, signaling } = setup({ others: [ann] });
    await room.join();
    signaling.push('room.participantUpdated', { roomId: 'team', participant: { ...ann, audioMuted: true } });
    expect(room.participants.get(ann.id)!.info.audioMuted).toBe(true);
  });

  it('a locked call: we knock, wait, and come in with the ticket the host gave us', async () => {
    const { room, signaling } = setup();
    let locked = true;
    const join = signaling.sentOf.bind(signaling);
    const answer = { room: roomInfo({ locked: true }), self: participant('Me'), participants: [], resumeSecret: 'resume-secret-0123456789', iceServers: [] };
    signaling.handle('room.join', (req) => {
      if (locked && !req.admission) throw new SignalingError('room-locked', 'locked');
      return answer;
    });
    signaling.handle('room.knock', () => ({ lobbyId: 'lobby-entry-1' }));
    const states: string[] = [];
    room.on('state', (s) => states.push(s));
    const joined = room.join();
    await wait(10);
    expect(room.state).toBe('waiting');
    locked = false;
    signaling.push('room.admitted', { roomId: 'team', ticket: 'ticket-0123456789abcdef' });
    await joined;
    expect(states).toEqual(['joining', 'waiting', 'joining', 'joined']);
    expect(join('room.join').at(-1)!.admission).toBe('ticket-0123456789abcdef');
  });

  it('a host who turns us away: join rejects with forbidden and the room is left', async () => {
    const { room, signaling } = setup();
    signaling.handle('room.join', () => {
      throw new SignalingError('room-locked', 'locked');
    });
    signaling.handle('room.knock', () => ({ lobbyId: 'lobby-entry-1' }));
    const joined = room.join();
    await wait(10);
    signaling.push('room.denied', { roomId: 'team' });
    await expect(joined).rejects.toMatchObject({ code: 'forbidden' });
    expect(room.state).toBe('left');
  });

  it('removed by a host: `removed`, then everything is closed', async () => {
    const ann = participant('Ann');
    const { room, paths, signaling } = setup({ others: [ann] });
    await room.join();
    const events: string[] = [];
    room.on('removed', () => events.push('removed'));
    room.on('state', (s) => events.push(s));
    signaling.push('room.removed', { roomId: 'team' });
    expect(events).toEqual(['removed', 'left']);
    expect(paths.links[0]!.closed).toBe(true);
    expect(room.participants.size).toBe(0);
  });
});
