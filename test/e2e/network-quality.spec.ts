/**
 * A call on a network that turns bad mid-call: nftables drops a share of every UDP datagram in
 * the test's network namespace. Each person is told their connection is poor and why, the
 * tiles show the weak link, media keeps flowing (retransmission, RED, FEC), the server's
 * call-quality history records it, and all of it clears when the network recovers.
 */
import { expect, test, type Page } from '@playwright/test';
import { NetworkImpairment } from '../../server/src/testing/NetworkImpairment.ts';
import { TEST_METRICS_TOKEN } from '../../server/src/testing/health.ts';
import { closePeople, expectMediaFlowing, joinCall } from './media.ts';
import type {} from '../../web/src/testHook.ts';

// nftables rules only ever go into the test's own namespace (`npm test` runs there, as root):
// outside it NetworkImpairment refuses, and this test fails saying so.
let impairment: NetworkImpairment | null = null;
test.afterEach(async () => {
  impairment?.clear();
  await closePeople();
});

test('packet loss mid-call: each person sees "your connection is poor" naming the loss, media keeps flowing, and it clears afterwards', async ({ browser }) => {
  const room = `lossy-${Date.now()}`;
  const [ann, ben] = (await joinCall(browser, room, ['Ann', 'Ben'])) as [Page, Page];
  for (const page of [ann, ben]) {
    await expectMediaFlowing(page, { video: true });
    await expect(page.getByTestId('poor-connection')).toBeHidden();
    // A clean loopback link: the tile shows full bars.
    await expect(page.getByTestId('signal')).toHaveAttribute('data-level', /good|excellent/, { timeout: 15_000 });
  }

  impairment = new NetworkImpairment();
  impairment.apply({ lossPercent: 25 });
  for (const page of [ann, ben]) {
    const banner = page.getByTestId('poor-connection');
    await expect(banner).toBeVisible({ timeout: 20_000 });
    await expect(banner).toHaveAttribute('data-cause', 'loss');
    await expect(banner).toContainText(/Your connection is poor: \d+ % of packets are being lost/);
    await expect(page.getByTestId('signal')).toHaveAttribute('data-level', /poor|bad/);
  }
  // Still a call: audio packets and decoded video frames keep coming on both sides.
  for (const page of [ann, ben]) await expectMediaFlowing(page, { video: true });

  // The server heard about it: call-quality reports with the network's loss, and a MOS.
  await expect
    .poll(
      async () => {
        const res = await fetch(`${test.info().project.use.baseURL}/api/rooms/${room}/quality`, { headers: { authorization: `Bearer ${TEST_METRICS_TOKEN}` } });
        if (!res.ok) return 0;
        const summary = (await res.json()) as { last: { lossPct: number; audioMos: number | null }[] };
        return summary.last.filter((e) => e.lossPct >= 10 && e.audioMos !== null).length;
      },
      { timeout: 30_000, message: 'lossy periods reported to the server' },
    )
    .toBeGreaterThan(0);

  impairment.clear();
  for (const page of [ann, ben]) {
    await expect(page.getByTestId('poor-connection')).toBeHidden({ timeout: 30_000 });
    await expect(page.getByTestId('signal')).toHaveAttribute('data-level', /good|excellent/, { timeout: 15_000 });
  }
});
