/**
 * Room churn at the protocol level, for the leak test and the soak: rooms are created, people
 * join (the third moves the room to the SFU), set up transports, produce, consume, leave or just
 * drop their connection; 1:1 calls ring and get accepted, declined or cancelled.
 */
import type { CallwireServer } from '../CallwireServer.ts';
import { TestClient } from './harness.ts';
import { FAKE_DTLS, opusParams } from './mediasoupParams.ts';

const DTLS = FAKE_DTLS;
const opus = opusParams;

export interface ChurnCounts {
  rooms: number;
  calls: number;
  sfuRooms: number;
  routers: number;
  transports: number;
  usersOnline: number;
}

/** Everything the server holds that churn creates; all zero when nobody is connected. */
export async function counts(server: CallwireServer): Promise<ChurnCounts> {
  let routers = 0;
  let transports = 0;
  for (const slot of server.sfu?.pool.slots ?? []) {
    const dump = await slot.worker.dump();
    routers += dump.routerIds.length;
    for (const r of slot.routers) transports += (await r.dump()).transportIds.length;
  }
  return {
    rooms: server.rooms.roomCount,
    calls: server.calls.liveCount,
    sfuRooms: server.sfu?.sfuRooms.length ?? 0,
    routers,
    transports,
    usersOnline: await server.cluster.onlineCount(),
  };
}

let seq = 0;

/**
 * One cycle: a group call of `size` with SFU set-up, then a few 1:1 call outcomes. `group` picks
 * the same people again (returning users); without it every cycle brings new people.
 */
export async function churnCycle(server: CallwireServer, size = 4, group?: number): Promise<void> {
  const id = group ?? 100_000 + ++seq;
  const roomId = `churn-${id}-${++seq}`;
  const people: TestClient[] = [];
  try {
    for (let i = 0; i < size; i++) {
      const c = await TestClient.guest(server.url, `churn${id}-${i}`, `churn${id}-${i}`, `churn-key-${id}-${i}-0123456789`);
      people.push(c);
      await c.ok('room.join', { roomId, media: { audioMuted: false, videoEnabled: false } });
    }
    if (server.sfu) {
      for (const [i, c] of people.entries()) {
        const { routerRtpCapabilities } = await c.ok('sfu.capabilities', { roomId });
        const send = await c.ok('sfu.createTransport', { roomId, direction: 'send' });
        await c.ok('sfu.createTransport', { roomId, direction: 'recv' });
        await c.ok('sfu.connectTransport', { roomId, transportId: send.id, dtlsParameters: DTLS });
        await c.ok('sfu.produce', { roomId, transportId: send.id, kind: 'audio', rtpParameters: opus(id * 100 + i + 1), source: 'mic' });
        await c.ok('sfu.ready', { roomId, rtpCapabilities: routerRtpCapabilities as never });
      }
    }
    // Half leave politely, half just vanish (their seats expire after the grace period).
    for (const [i, c] of people.entries()) {
      if (i % 2 === 0) await c.ok('room.leave', { roomId });
      c.close();
    }

    // 1:1 calls: accepted then hung up, declined, cancelled.
    const a = await TestClient.guest(server.url, `churn${id}-a`, `churn${id}-a`, `churn-key-${id}-a-0123456789`);
    const b = await TestClient.guest(server.url, `churn${id}-b`, `churn${id}-b`, `churn-key-${id}-b-0123456789`);
    people.push(a, b);
    const accepted = await a.ok('call.invite', { to: `churn${id}-b`, video: false });
    await a.ok('room.join', { roomId: accepted.roomId, media: { audioMuted: false, videoEnabled: false } });
    await b.ok('call.accept', { callId: accepted.callId });
    await b.ok('room.join', { roomId: accepted.roomId, media: { audioMuted: false, videoEnabled: false } });
    await a.ok('room.leave', { roomId: accepted.roomId });
    const declined = await a.ok('call.invite', { to: `churn${id}-b`, video: true });
    await b.ok('call.decline', { callId: declined.callId });
    const cancelled = await a.ok('call.invite', { to: `churn${id}-b`, video: true });
    await a.ok('call.cancel', { callId: cancelled.callId });
    const missed = await b.next('missedCalls');
    await b.ok('missedCalls.ack', { ids: missed.missedCalls.map((m) => m.id) });
  } finally {
    for (const c of people) c.close();
  }
}
