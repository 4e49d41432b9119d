import { describe, expect, it } from 'vitest';
import { simulcastEncodings } from './SfuSession.ts';

const track = (height: number) => ({ getSettings: () => ({ height }) }) as unknown as MediaStreamTrack;

describe('simulcast layers', () => {
  it('asks for as many layers as Chromium sends at that size, each half the next', () => {
    expect(simulcastEncodings(track(240)).map((e) => e.scaleResolutionDownBy)).toEqual([1]);
    expect(simulcastEncodings(track(480)).map((e) => e.scaleResolutionDownBy)).toEqual([2, 1]);
    expect(simulcastEncodings(track(720)).map((e) => e.scaleResolutionDownBy)).toEqual([4, 2, 1]);
    expect(simulcastEncodings(track(720)).map((e) => e.maxBitrate)).toEqual([150_000, 500_000, 1_200_000]);
  });
});
