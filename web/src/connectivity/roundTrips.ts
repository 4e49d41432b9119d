/** Signaling round trips with the protocol's `ping` (the connectivity test, page and CLI). */
import { SignalingError } from '@protocol';
import type { SignalingClient } from '../signaling/SignalingClient.ts';

export interface RoundTrips {
  samples: number;
  minMs: number;
  medianMs: number;
  maxMs: number;
}

/** `count` sequential `ping`s, a short pause between them. */
export async function measureRoundTrips(signaling: SignalingClient, count: number, signal?: AbortSignal): Promise<RoundTrips> {
  const rtts: number[] = [];
  for (let i = 0; i < count && !signal?.aborted; i++) {
    const t = performance.now();
    await signaling.request('ping', { t: Date.now() }, 5_000);
    rtts.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (rtts.length === 0) throw new SignalingError('unavailable', 'cancelled');
  rtts.sort((a, b) => a - b);
  return { samples: rtts.length, minMs: rtts[0]!, medianMs: rtts[Math.floor(rtts.length / 2)]!, maxMs: rtts[rtts.length - 1]! };
}
