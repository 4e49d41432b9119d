/** Rooms, calls and SFU objects created by churn all go away: nothing leaks. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallwireServer } from '../CallwireServer.ts';
import { churnCycle, counts } from '../testing/churn.ts';
import { sleep, startTestServer } from '../testing/harness.ts';

describe('churn', () => {
  let server: CallwireServer;
  beforeAll(async () => {
    server = await startTestServer({
      SFU_ENABLED: 'true',
      SFU_WORKERS: '1',
      SFU_RTC_PORT: String(43_000 + Math.floor(Math.random() * 900)),
      RECONNECT_GRACE_MS: '300',
    });
  });
  afterAll(async () => server?.close());
  it('runs with the SFU', () => expect(server.sfu).not.toBeNull());

  it('returns to zero rooms, calls, routers and transports after 15 cycles of group and 1:1 calls', async () => {
    const baseline = await counts(server);
    expect(baseline).toEqual({ rooms: 0, calls: 0, sfuRooms: 0, routers: 0, transports: 0, usersOnline: 0 });
    for (let i = 0; i < 15; i++) await churnCycle(server, 3 + (i % 3));
    // Dropped connections keep their seats for the grace period, then go.
    for (let i = 0; i < 50; i++) {
      const c = await counts(server);
      if (c.rooms === 0 && c.usersOnline === 0 && c.routers === 0) break;
      await sleep(100);
    }
    expect(await counts(server)).toEqual(baseline);
    expect(await server.store.pendingMissedCalls()).toBe(0);
  }, 60_000);
});
