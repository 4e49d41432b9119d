import { describe, expect, it } from 'vitest';
import { UserDirectory } from './UserDirectory.ts';

describe('UserDirectory', () => {
  it('forgets users offline too long, and the longest-offline beyond the cap, never online ones', () => {
    const d = new UserDirectory();
    const now = Date.now();
    for (const h of ['old', 'recent', 'mid']) {
      d.connect({ handle: h, name: h }, `s-${h}`);
      d.disconnect(h, `s-${h}`);
    }
    d.connect({ handle: 'online', name: 'online' }, 's-online');
    // Pretend: 'old' left 40 days ago, 'mid' 2 days ago, 'recent' just now.
    const dayMs = 86_400_000;
    const sweepAt = now + 40 * dayMs;
    expect(d.sweep(30 * dayMs, 100, sweepAt).sort()).toEqual(['mid', 'old', 'recent']);
    expect(d.isKnown('online')).toBe(true);

    const e = new UserDirectory();
    for (const h of ['a', 'b', 'c']) {
      e.connect({ handle: h, name: h }, h);
      e.disconnect(h, h);
    }
    expect(e.sweep(30 * dayMs, 2)).toHaveLength(1);
    expect(e.size).toBe(2);
  });
});
