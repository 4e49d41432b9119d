/**
 * Ownership in a two-node cluster on a real Redis: rooms and calls are claimed by the node that
 * creates them, forwarded to from the other, and given back when they end or were never made.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../store/redis.ts';
import { TestClient } from '../testing/harness.ts';
import { RedisProcess } from '../testing/RedisProcess.ts';
import { twoNodes, type Deployment } from '../testing/deployments.ts';

const VOICE = { audioMuted: false, videoEnabled: false };

let redis: RedisProcess;
let cluster: Deployment;
const clients: TestClient[] = [];
beforeAll(async () => {
  redis = await RedisProcess.start();
});
afterAll(async () => {
  await redis?.close();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await cluster?.close();
});

async function ownedKeys(): Promise<string[]> {
  const r = await connectRedis(redis.url);
  try {
    return (await r.keys('cw:own:*')).sort();
  } finally {
    r.disconnect();
  }
}

describe('ownership across two nodes', () => {
  it('joins that create nothing leave no claim behind; a room is owned while it lives and given back when it closes', async () => {
    cluster = await twoNodes(redis);
    const ann = await TestClient.guest(cluster.urlFor(0), 'ann');
    const ben = await TestClient.guest(cluster.urlFor(1), 'ben');
    clients.push(ann, ben);
    expect(await ann.request('room.join', { roomId: 'call-doesnotexist0', media: VOICE })).toMatchObject({ ok: false, error: { code: 'unknown-room' } });
    expect(await ben.request('room.leave', { roomId: 'nowhere-room' })).toMatchObject({ ok: false, error: { code: 'unknown-room' } });
    expect(await ownedKeys()).toEqual([]);

    await ann.ok('room.join', { roomId: 'team-room', media: VOICE });
    await ben.ok('room.join', { roomId: 'team-room', media: VOICE });
    expect(await ownedKeys()).toEqual(['cw:own:room:team-room']);
    expect(cluster.nodes.map((n) => n.rooms.roomCount)).toEqual([1, 0]);
    await ben.ok('room.leave', { roomId: 'team-room' });
    await ann.ok('room.leave', { roomId: 'team-room' });
    await expect.poll(ownedKeys).toEqual([]);
  });

  it('a room whose dead owner left a corrupt snapshot starts afresh on the node that takes it over (logged, no crash)', async () => {
    cluster = await twoNodes(redis);
    const r = await connectRedis(redis.url);
    try {
      // A node that no longer heartbeats owned `broken-room`, and its snapshot is garbage.
      await r
        .multi()
        .set('cw:own:room:broken-room', 'node-gone')
        .sadd('cw:owned:node-gone', 'room:broken-room')
        .set('cw:room:broken-room', '{"id":"broken-room","participants":"not a list"}')
        .exec();
    } finally {
      r.disconnect();
    }
    const ann = await TestClient.guest(cluster.urlFor(1), 'ann');
    clients.push(ann);
    const j = await ann.ok('room.join', { roomId: 'broken-room', media: VOICE });
    expect(j.participants).toEqual([]);
    expect(j.room).toMatchObject({ id: 'broken-room', mode: 'p2p' });
    expect(await ownedKeys()).toEqual(['cw:own:room:broken-room']);
    expect(cluster.nodes[1]!.rooms.roomCount).toBe(1);
  });
});
