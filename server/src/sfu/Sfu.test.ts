/**
 * The SFU at protocol level, against real mediasoup workers: escalation, transports, producers,
 * consumers, limits, bad input, leak checks on router dumps, and a worker that dies.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CallwireServer } from '../CallwireServer.ts';
import { TestClient, sleep, startTestServer } from '../testing/harness.ts';
import { FAKE_DTLS, h264Params, opusParams } from '../testing/mediasoupParams.ts';

const AUDIO = { audioMuted: false, videoEnabled: false };
const VIDEO = { audioMuted: false, videoEnabled: true };
const DTLS = FAKE_DTLS;
const opus = opusParams;
const h264 = h264Params;

let port = 42_000 + Math.floor(Math.random() * 2_000) * 2;

describe('SFU', () => {
  let server: CallwireServer;
  const clients: TestClient[] = [];
  const start = async (env: Record<string, string> = {}) => {
    port += 4;
    server = await startTestServer({ SFU_ENABLED: 'true', SFU_WORKERS: '1', SFU_RTC_PORT: String(port), ...env });
    expect(server.sfu, 'the SFU started').not.toBeNull();
  };
  const join = async (handle: string, roomId: string, media = AUDIO) => {
    const c = await TestClient.guest(server.url, handle);
    clients.push(c);
    const j = await c.ok('room.join', { roomId, media });
    return { c, j, id: j.self.id };
  };
  /** A participant with send+recv transports that is ready to receive. */
  const sfuPeer = async (c: TestClient, roomId: string) => {
    const { routerRtpCapabilities } = await c.ok('sfu.capabilities', { roomId });
    const send = await c.ok('sfu.createTransport', { roomId, direction: 'send' });
    const recv = await c.ok('sfu.createTransport', { roomId, direction: 'recv' });
    await c.ok('sfu.connectTransport', { roomId, transportId: send.id, dtlsParameters: DTLS });
    await c.ok('sfu.ready', { roomId, rtpCapabilities: routerRtpCapabilities as never });
    return { send, recv, caps: routerRtpCapabilities };
  };
  const dump = async () => server.sfu!.sfuRooms[0]!.router.dump();

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server?.close();
  });

  it('the third person moves a P2P room to the SFU; the first two hear it before the newcomer arrives', async () => {
    await start();
    const a = await join('alice', 'grp');
    const b = await join('bob', 'grp');
    expect(a.j.room.mode).toBe('p2p');
    expect(await a.c.request('sfu.capabilities', { roomId: 'grp' })).toMatchObject({ ok: false, error: { code: 'invalid-state' } });
    const c = await join('carol', 'grp');
    expect(c.j.room).toMatchObject({ mode: 'sfu', maxParticipants: 32 });
    for (const x of [a, b]) {
      expect((await x.c.next('room.updated')).room.mode).toBe('sfu');
      expect(x.c.received.findIndex((r) => r.event === 'room.participantJoined')).toBeGreaterThanOrEqual(0);
    }
  });

  it('the room sends H.264 and RED while everyone decodes them, VP8 and Opus from the moment someone cannot, and H.264 and RED again when they leave', async () => {
    const BEST = { audio: 'audio/red', video: 'video/H264' };
    const COMMON = { audio: 'audio/opus', video: 'video/VP8' };
    await start();
    const a = await join('alice', 'codec', VIDEO);
    const b = await join('bob', 'codec', VIDEO);
    const f = await join('firefox', 'codec', VIDEO);
    const pa = await sfuPeer(a.c, 'codec');
    expect(await a.c.ok('sfu.ready', { roomId: 'codec', rtpCapabilities: pa.caps as never })).toEqual({ codecs: BEST });
    await sfuPeer(b.c, 'codec');
    // Alice sends H.264: Bob receives it.
    const { producerId } = await a.c.ok('sfu.produce', {
      roomId: 'codec',
      transportId: pa.send.id,
      kind: 'video',
      rtpParameters: h264(2222),
      source: 'camera',
    });
    expect((await b.c.next('sfu.newConsumer')).producerId).toBe(producerId);
    // A browser without H.264 (Firefox without OpenH264) becomes ready.
    const { routerRtpCapabilities } = await f.c.ok('sfu.capabilities', { roomId: 'codec' });
    const noH264 = { ...routerRtpCapabilities, codecs: routerRtpCapabilities.codecs!.filter((c) => !/h264|red/i.test(c.mimeType)) };
    await f.c.ok('sfu.createTransport', { roomId: 'codec', direction: 'recv' });
    expect(await f.c.ok('sfu.ready', { roomId: 'codec', rtpCapabilities: noH264 as never })).toEqual({ codecs: COMMON });
    for (const x of [a, b, f]) expect(await x.c.next('sfu.codecs')).toEqual({ roomId: 'codec', codecs: COMMON });
    // Meanwhile Alice's H.264 is not forwarded to Firefox (it could not decode it).
    await sleep(100);
    expect(f.c.has('sfu.newConsumer')).toBe(false);
    await f.c.ok('room.leave', { roomId: 'codec' });
    for (const x of [a, b]) expect(await x.c.next('sfu.codecs')).toEqual({ roomId: 'codec', codecs: BEST });
  });

  it('relays producers to every ready participant, and cleans up on close and leave', async () => {
    await start();
    const a = await join('alice', 'grp');
    const b = await join('bob', 'grp');
    const c = await join('carol', 'grp');
    const pa = await sfuPeer(a.c, 'grp');
    const { producerId } = await a.c.ok('sfu.produce', { roomId: 'grp', transportId: pa.send.id, kind: 'audio', rtpParameters: opus(1111), source: 'mic' });
    await sfuPeer(b.c, 'grp');
    const nb = await b.c.next('sfu.newConsumer');
    expect(nb).toMatchObject({ roomId: 'grp', producerId, participantId: a.id, kind: 'audio', source: 'mic', paused: false });
    await b.c.ok('sfu.resumeConsumer', { roomId: 'grp', consumerId: nb.consumerId });
    // Carol becomes ready later and still gets it.
    await sfuPeer(c.c, 'grp');
    expect((await c.c.next('sfu.newConsumer')).producerId).toBe(producerId);
    // After a reconnection a client asks for its consumers.
    const synced = await b.c.ok('sfu.sync', { roomId: 'grp' });
    expect(synced.consumers.map((x) => x.consumerId)).toEqual([nb.consumerId]);
    expect(synced.routerId).toBe(server.sfu!.sfuRooms[0]!.router.id);

    expect((await dump()).transportIds).toHaveLength(6);
    await a.c.ok('sfu.closeProducer', { roomId: 'grp', producerId });
    expect(await b.c.next('sfu.consumerClosed')).toEqual({ roomId: 'grp', consumerId: nb.consumerId });
    expect(await c.c.next('sfu.consumerClosed')).toMatchObject({ roomId: 'grp' });
    await a.c.ok('room.leave', { roomId: 'grp' });
    expect((await dump()).transportIds).toHaveLength(4);
    await b.c.ok('room.leave', { roomId: 'grp' });
    await c.c.ok('room.leave', { roomId: 'grp' });
    expect(server.sfu!.sfuRooms).toHaveLength(0);
  });

  it('top-K: however fast the loudest speaker flips, what is forwarded ends at the latest speaker', async () => {
    await start({ SFU_TOP_K: '1', SFU_TOP_K_THRESHOLD: '2' });
    const a = await join('ann', 'topk');
    const b = await join('ben', 'topk');
    const c = await join('cat', 'topk');
    const producers: Record<string, string> = {};
    for (const [i, p] of [a, c].entries()) {
      const t = await sfuPeer(p.c, 'topk');
      producers[p.id] = (
        await p.c.ok('sfu.produce', { roomId: 'topk', transportId: t.send.id, kind: 'audio', rtpParameters: opus(2000 + i), source: 'mic' })
      ).producerId;
    }
    await sfuPeer(b.c, 'topk');
    for (let i = 0; i < 2; i++) await b.c.ok('sfu.resumeConsumer', { roomId: 'topk', consumerId: (await b.c.next('sfu.newConsumer')).consumerId });
    const room = server.sfu!.sfuRooms[0]!;
    const ben = room.peers.get(b.id)!;
    const forwardedAt = () => [...ben.consumers.values()].filter((x) => !x.paused).map((x) => x.producerId);
    // The worker's level observer reports the loudest producer every 200 ms; a busy machine can
    // deliver reports back to back while earlier pause/resume requests are still in flight.
    const levels = (room as unknown as { levels: { emit(e: string, v: unknown): void } }).levels;
    const report = (id: string) => levels.emit('volumes', [{ producer: { id }, volume: -20 }]);
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 120; round++) {
      report(producers[round % 2 === 0 ? a.id : c.id]!);
      // Reports arrive back to back, or while a pause/resume is in flight.
      const wait = random();
      if (wait < 0.5) await new Promise((r) => setImmediate(r));
      else if (wait < 0.8) await sleep(1);
    }
    report(producers[c.id]!);
    await expect.poll(forwardedAt, { timeout: 5_000 }).toEqual([producers[c.id]]);
    await sleep(300);
    expect(forwardedAt(), 'and stays there').toEqual([producers[c.id]]);
  });

  it('one consumer per stream even when receivers become ready while the sender produces', async () => {
    await start();
    for (let round = 0; round < 8; round++) {
      const roomId = `race-${round}`;
      const sender = await join(`s${round}`, roomId);
      const receivers = [];
      for (let i = 0; i < 5; i++) receivers.push(await join(`r${round}-${i}`, roomId));
      const ps = await sfuPeer(sender.c, roomId);
      const caps: unknown[] = [];
      for (const r of receivers) {
        caps.push((await r.c.ok('sfu.capabilities', { roomId })).routerRtpCapabilities);
        await r.c.ok('sfu.createTransport', { roomId, direction: 'recv' });
      }
      // All at once: each ready consumes the producers that exist, each produce consumes for the ready.
      await Promise.all([
        sender.c.ok('sfu.produce', { roomId, transportId: ps.send.id, kind: 'audio', rtpParameters: opus(1000 + round), source: 'mic' }),
        sender.c.ok('sfu.produce', { roomId, transportId: ps.send.id, kind: 'video', rtpParameters: h264(2000 + round), source: 'camera' }),
        // Spread over the window in which a new producer is registered but not yet fanned out.
        ...receivers.map((r, i) => sleep(i * 2).then(() => r.c.ok('sfu.ready', { roomId, rtpCapabilities: caps[i] as never }))),
      ]);
      for (const r of receivers) {
        const { consumers } = await r.c.ok('sfu.sync', { roomId });
        expect(consumers.map((c) => c.producerId).sort(), `round ${round}`).toHaveLength(2);
        expect(new Set(consumers.map((c) => c.producerId)).size).toBe(2);
      }
    }
  }, 60_000);

  it('bad input gets typed errors and leaks nothing', async () => {
    await start();
    const a = await join('alice', 'grp');
    await join('bob', 'grp');
    await join('carol', 'grp');
    const pa = await sfuPeer(a.c, 'grp');
    const fail = async (event: string, payload: unknown, code: string) =>
      expect(await a.c.raw(event, payload), `${event} ${JSON.stringify(payload).slice(0, 60)}`).toMatchObject({ ok: false, error: { code } });
    const before = await dump();
    await fail('sfu.createTransport', { roomId: 'grp', direction: 'send' }, 'invalid-state'); // one each
    await fail(
      'sfu.produce',
      { roomId: 'grp', transportId: pa.send.id, kind: 'audio', rtpParameters: { codecs: [{ mimeType: 'audio/opus' }] }, source: 'mic' },
      'invalid-message',
    );
    await fail('sfu.produce', { roomId: 'grp', transportId: pa.send.id, kind: 'audio', rtpParameters: opus(1), source: 'camera' }, 'invalid-message');
    await fail('sfu.produce', { roomId: 'grp', transportId: pa.recv.id, kind: 'audio', rtpParameters: opus(1), source: 'mic' }, 'invalid-state');
    await fail('sfu.produce', { roomId: 'grp', transportId: crypto.randomUUID(), kind: 'audio', rtpParameters: opus(1), source: 'mic' }, 'unknown-transport');
    await fail('sfu.produce', { roomId: 'grp', transportId: 'not-a-uuid', kind: 'audio', rtpParameters: opus(1), source: 'mic' }, 'invalid-message');
    await fail('sfu.ready', { roomId: 'grp', rtpCapabilities: { codecs: [{ kind: 'smell' }] } }, 'invalid-message');
    await fail('sfu.ready', { roomId: 'grp', rtpCapabilities: 'everything' }, 'invalid-message');
    await fail('sfu.resumeConsumer', { roomId: 'grp', consumerId: crypto.randomUUID() }, 'unknown-consumer');
    await fail('sfu.closeProducer', { roomId: 'grp', producerId: crypto.randomUUID() }, 'unknown-producer');
    await fail('sfu.connectTransport', { roomId: 'grp', transportId: pa.recv.id, dtlsParameters: { fingerprints: [] } }, 'invalid-message');
    await fail('sfu.setPreferredLayers', { roomId: 'grp', consumerId: crypto.randomUUID(), spatialLayer: 9 }, 'invalid-message');
    await fail('sfu.capabilities', { roomId: 'nowhere' }, 'unknown-room');
    const after = await dump();
    expect(after.transportIds).toEqual(before.transportIds);
    expect(after.mapProducerIdConsumerIds).toEqual(before.mapProducerIdConsumerIds);
    // A second mic is refused; the first works.
    await a.c.ok('sfu.produce', { roomId: 'grp', transportId: pa.send.id, kind: 'audio', rtpParameters: opus(5), source: 'mic' });
    await fail('sfu.produce', { roomId: 'grp', transportId: pa.send.id, kind: 'audio', rtpParameters: opus(6), source: 'mic' }, 'invalid-state');
    expect((await dump()).mapProducerIdConsumerIds).toHaveLength(1);
  });

  it('limits: 32 in a voice call, the 33rd is refused; cameras only while 8 or fewer are present', async () => {
    await start();
    const people = [];
    for (let i = 0; i < 32; i++) people.push(await join(`p${i}`, 'big'));
    const late = await TestClient.guest(server.url, 'late');
    clients.push(late);
    expect(await late.request('room.join', { roomId: 'big', media: AUDIO })).toMatchObject({
      ok: false,
      error: { code: 'room-full', message: expect.stringContaining('32') },
    });
    // With 32 present nobody may turn a camera on, at the signaling or the media level.
    const p0 = people[0]!;
    expect(await p0.c.request('participant.update', { roomId: 'big', videoEnabled: true })).toMatchObject({ ok: false, error: { code: 'video-not-allowed' } });
    const t = await p0.c.ok('sfu.createTransport', { roomId: 'big', direction: 'send' });
    expect(await p0.c.request('sfu.produce', { roomId: 'big', transportId: t.id, kind: 'video', rtpParameters: h264(7), source: 'camera' })).toMatchObject({
      ok: false,
      error: { code: 'video-not-allowed' },
    });
    // Down to 8: cameras are allowed again, and with one on the call holds 8.
    for (const p of people.slice(8)) await p.c.ok('room.leave', { roomId: 'big' });
    await p0.c.ok('participant.update', { roomId: 'big', videoEnabled: true });
    await p0.c.ok('sfu.produce', { roomId: 'big', transportId: t.id, kind: 'video', rtpParameters: h264(7), source: 'camera' });
    expect(await late.request('room.join', { roomId: 'big', media: VIDEO })).toMatchObject({
      ok: false,
      error: { code: 'room-full', message: expect.stringContaining('8') },
    });
  }, 60_000);

  it('when a worker dies, a new one takes over and the room is told to set up again', async () => {
    await start();
    const a = await join('alice', 'grp');
    await join('bob', 'grp');
    await join('carol', 'grp');
    const first = await a.c.ok('sfu.capabilities', { roomId: 'grp' });
    const pid = server.sfu!.pool.slots[0]!.pid;
    process.kill(pid, 'SIGKILL');
    expect(await a.c.next('sfu.reset', undefined, 5_000)).toMatchObject({ roomId: 'grp' });
    for (let i = 0; i < 50 && server.sfu!.pool.slots.length === 0; i++) await sleep(100);
    expect(server.sfu!.pool.slots[0]!.pid).not.toBe(pid);
    const again = await a.c.ok('sfu.capabilities', { roomId: 'grp' });
    expect(again.routerId).not.toBe(first.routerId);
    await sfuPeer(a.c, 'grp');
  });
});
