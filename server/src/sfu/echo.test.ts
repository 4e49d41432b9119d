/**
 * Echo rooms (`echo-…`, for the connectivity test): one participant, on the SFU from the first
 * join, who receives their own producers back — and no echo anywhere else.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CallwireServer } from '../CallwireServer.ts';
import { TestClient, startTestServer } from '../testing/harness.ts';
import { FAKE_DTLS, opusParams } from '../testing/mediasoupParams.ts';

const AUDIO = { audioMuted: false, videoEnabled: false };
const DTLS = FAKE_DTLS;
const opus = opusParams;

let port = 46_000 + Math.floor(Math.random() * 1_000) * 2;

describe('echo rooms', () => {
  let server: CallwireServer | undefined;
  const clients: TestClient[] = [];
  const start = async (env: Record<string, string> = {}) => {
    port += 4;
    server = await startTestServer({ SFU_ENABLED: 'true', SFU_WORKERS: '1', SFU_RTC_PORT: String(port), ...env });
    return server;
  };
  const client = async (handle: string) => {
    const c = await TestClient.guest(server!.url, handle);
    clients.push(c);
    return c;
  };
  const transports = async (c: TestClient, roomId: string) => {
    const { routerRtpCapabilities } = await c.ok('sfu.capabilities', { roomId });
    const send = await c.ok('sfu.createTransport', { roomId, direction: 'send' });
    const recv = await c.ok('sfu.createTransport', { roomId, direction: 'recv' });
    await c.ok('sfu.connectTransport', { roomId, transportId: send.id, dtlsParameters: DTLS });
    return { send, recv, caps: routerRtpCapabilities };
  };

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server?.close();
    server = undefined;
  });

  it('start on the SFU, hold one person, and send their own stream back (produce after ready)', async () => {
    await start();
    const a = await client('alice');
    const j = await a.ok('room.join', { roomId: 'echo-test1', media: AUDIO });
    expect(j.room).toEqual({ id: 'echo-test1', kind: 'echo', media: 'video', mode: 'sfu', maxParticipants: 1, locked: false, e2ee: false });
    const b = await client('bob');
    expect(await b.request('room.join', { roomId: 'echo-test1', media: AUDIO })).toMatchObject({ ok: false, error: { code: 'room-full' } });

    const t = await transports(a, 'echo-test1');
    await a.ok('sfu.ready', { roomId: 'echo-test1', rtpCapabilities: t.caps as never });
    const { producerId } = await a.ok('sfu.produce', { roomId: 'echo-test1', transportId: t.send.id, kind: 'audio', rtpParameters: opus(2222), source: 'mic' });
    const own = await a.next('sfu.newConsumer');
    expect(own).toMatchObject({ roomId: 'echo-test1', producerId, participantId: j.self.id, kind: 'audio', source: 'mic' });
    await a.ok('sfu.resumeConsumer', { roomId: 'echo-test1', consumerId: own.consumerId });

    await a.ok('sfu.closeProducer', { roomId: 'echo-test1', producerId });
    expect(await a.next('sfu.consumerClosed')).toEqual({ roomId: 'echo-test1', consumerId: own.consumerId });
    await a.ok('room.leave', { roomId: 'echo-test1' });
    expect(server!.sfu!.sfuRooms).toHaveLength(0);
    expect(server!.rooms.get('echo-test1')).toBeUndefined();
  });

  it('a participant who becomes ready after producing also gets their stream back', async () => {
    await start();
    const a = await client('alice');
    const j = await a.ok('room.join', { roomId: 'echo-late', media: AUDIO });
    const t = await transports(a, 'echo-late');
    const { producerId } = await a.ok('sfu.produce', { roomId: 'echo-late', transportId: t.send.id, kind: 'audio', rtpParameters: opus(3333), source: 'mic' });
    expect(
      a.received.some((r) => r.event === 'sfu.newConsumer'),
      'nothing before ready',
    ).toBe(false);
    await a.ok('sfu.ready', { roomId: 'echo-late', rtpCapabilities: t.caps as never });
    expect(await a.next('sfu.newConsumer')).toMatchObject({ producerId, participantId: j.self.id });
  });

  it('other SFU rooms never send people their own streams', async () => {
    await start();
    const peers = await Promise.all(['alice', 'bob', 'carol'].map(client));
    for (const c of peers) await c.ok('room.join', { roomId: 'group', media: AUDIO });
    const t = await transports(peers[0]!, 'group');
    await peers[0]!.ok('sfu.ready', { roomId: 'group', rtpCapabilities: t.caps as never });
    await peers[0]!.ok('sfu.produce', { roomId: 'group', transportId: t.send.id, kind: 'audio', rtpParameters: opus(4444), source: 'mic' });
    const tb = await transports(peers[1]!, 'group');
    await peers[1]!.ok('sfu.ready', { roomId: 'group', rtpCapabilities: tb.caps as never });
    await peers[1]!.next('sfu.newConsumer');
    // Alice's own stream reached Bob but never Alice.
    expect(peers[0]!.received.filter((r) => r.event === 'sfu.newConsumer')).toHaveLength(0);
  });

  it('without the SFU an echo room is refused with sfu-unavailable (and no room is left behind)', async () => {
    await start({ SFU_ENABLED: 'false' });
    const a = await client('alice');
    expect(await a.request('room.join', { roomId: 'echo-nosfu', media: AUDIO })).toMatchObject({ ok: false, error: { code: 'sfu-unavailable' } });
    expect(server!.rooms.roomCount).toBe(0);
  });
});
