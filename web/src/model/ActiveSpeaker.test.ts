import { afterEach, describe, expect, it, vi } from 'vitest';
import { ActiveSpeaker } from './ActiveSpeaker.ts';
import { FakeRoom } from './testing/FakeRoom.ts';

afterEach(() => vi.useRealTimers());

describe('ActiveSpeaker', () => {
  function setup() {
    const room = new FakeRoom();
    const levels = new Map<string, number>();
    const speaker = new ActiveSpeaker(room, { intervalMs: 100_000, levelOf: (p) => levels.get(p.id) ?? null });
    const changes: (string | null)[] = [];
    speaker.on('changed', (p) => changes.push(p?.id ?? null));
    const polls = (n: number) => {
      for (let i = 0; i < n; i++) speaker.poll();
    };
    return { room, levels, speaker, changes, polls };
  }

  it('picks someone only after they lead for three polls, and ignores silence', () => {
    const { room, levels, changes, polls, speaker } = setup();
    room.add('a');
    room.add('b');
    levels.set('a', 0.001); // below the threshold: background noise
    polls(5);
    expect(changes).toEqual([]);
    levels.set('a', 0.3);
    polls(2);
    expect(changes).toEqual([]);
    polls(1);
    expect(changes).toEqual(['a']);
    // Silence keeps the last speaker.
    levels.set('a', 0);
    polls(20);
    expect(changes).toEqual(['a']);
    expect(speaker.current?.id).toBe('a');
    speaker.close();
  });

  it('does not flicker: a short burst from another person or a near tie does not switch', () => {
    const { room, levels, changes, polls, speaker } = setup();
    room.add('a');
    room.add('b');
    levels.set('a', 0.3);
    polls(3);
    expect(changes).toEqual(['a']);
    // b talks about as loud as a: not enough of a margin.
    levels.set('b', 0.35);
    polls(10);
    expect(changes).toEqual(['a']);
    // One loud syllable from b, then a again: the decay lets it lead for two polls, no switch.
    levels.set('b', 0.9);
    speaker.poll();
    levels.set('b', 0);
    levels.set('a', 0.8);
    polls(5);
    expect(changes).toEqual(['a']);
    // b talks clearly louder and keeps talking: a's last words decay for three polls (0.8 → 0.41,
    // still within the margin), then b must lead for three polls in a row.
    levels.set('a', 0.05);
    levels.set('b', 0.6);
    polls(5);
    expect(changes).toEqual(['a']);
    polls(1);
    expect(changes).toEqual(['a', 'b']);
    speaker.close();
  });

  it('clears the speaker when they leave, and stops polling on close', () => {
    vi.useFakeTimers();
    const room = new FakeRoom();
    const levelOf = vi.fn(() => 0.5);
    const speaker = new ActiveSpeaker(room, { intervalMs: 100, levelOf });
    const changes: (string | null)[] = [];
    speaker.on('changed', (p) => changes.push(p?.id ?? null));
    room.add('a');
    vi.advanceTimersByTime(300);
    expect(changes).toEqual(['a']);
    room.remove('a');
    expect(changes).toEqual(['a', null]);
    speaker.close();
    const calls = levelOf.mock.calls.length;
    room.add('b');
    vi.advanceTimersByTime(1_000);
    expect(levelOf.mock.calls.length).toBe(calls);
  });
});
