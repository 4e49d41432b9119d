import { afterEach, describe, expect, it, vi } from 'vitest';
import { MicrophoneProbe } from './MicrophoneProbe.ts';

/** A microphone track and the few mediaDevices calls the probe makes. */
function fakeMicrophone() {
  const track = { label: 'Fake mic', stop: vi.fn(), getSettings: () => ({ sampleRate: 48_000 }) };
  vi.stubGlobal('navigator', {
    mediaDevices: {
      getUserMedia: async () => ({ getAudioTracks: () => [track], getTracks: () => [track] }),
      enumerateDevices: async () => [{ kind: 'audioinput' }, { kind: 'videoinput' }],
    },
  });
  return track;
}

/** An AudioContext whose analyser hears a constant `level` (RMS, 0–1); `resumes`: whether resume() ever settles. */
function fakeAudioContext(resumes: boolean, level = 0.1) {
  const ctx = {
    state: 'suspended' as AudioContextState,
    resume: vi.fn(() => (resumes ? Promise.resolve().then(() => void (ctx.state = 'running')) : new Promise<void>(() => {}))),
    createMediaStreamSource: () => ({ connect: vi.fn(), disconnect: vi.fn() }),
    createAnalyser: () => ({ fftSize: 0, getFloatTimeDomainData: (buf: Float32Array) => buf.fill(level) }),
  };
  return ctx as unknown as AudioContext & { resume: ReturnType<typeof vi.fn> };
}

describe('MicrophoneProbe', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('listens once the audio engine runs, and reports the loudest level heard', async () => {
    fakeMicrophone();
    const probe = new MicrophoneProbe(fakeAudioContext(true, 0.1));
    const r = await probe.run(200, new AbortController().signal);
    expect(r).toMatchObject({ label: 'Fake mic', devices: 1, sampleRate: 48_000 });
    expect(r.peakDb).toBeCloseTo(-20, 0);
    probe.close();
  });

  it('does not hang when the audio engine never starts (no sound device): says it could not listen', async () => {
    vi.useFakeTimers();
    const track = fakeMicrophone();
    const ctx = fakeAudioContext(false);
    const probe = new MicrophoneProbe(ctx);
    const result = probe.run(2_000, new AbortController().signal);
    await vi.advanceTimersByTimeAsync(2_000);
    await expect(result).resolves.toMatchObject({ label: 'Fake mic', peakDb: null });
    expect(ctx.resume).toHaveBeenCalledOnce();
    probe.close();
    expect(track.stop).toHaveBeenCalled();
  });
});
