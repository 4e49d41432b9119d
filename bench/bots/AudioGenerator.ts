/**
 * A speech-like live microphone for a bot: a voiced tone (a fundamental with falling harmonics and
 * a slow pitch contour) cut into syllables and words with pauses, Opus-encoded live by wrtc.
 * Two seconds of 10 ms frames are synthesized once and looped, so a bot costs no synthesis at run
 * time; each bot gets its own voice (pitch, rhythm) from its seed, so audio levels differ as in a
 * real call and the SFU's loudest-speaker selection has something to choose.
 */
import type { Ticker } from './MediaClock.ts';
import { nonstandard, type WrtcAudioSource } from './wrtc.ts';

export const SAMPLE_RATE = 48_000;
/** libwebrtc takes exactly 10 ms per onData call. */
const FRAME_SAMPLES = SAMPLE_RATE / 100;
const LOOP_FRAMES = 200;

export class AudioGenerator implements Ticker {
  readonly track: MediaStreamTrack;
  readonly #source: WrtcAudioSource;
  readonly #frames: Int16Array[];
  #next = 0;
  #stopped = false;

  constructor(seed: number) {
    this.#source = new nonstandard.RTCAudioSource();
    this.track = this.#source.createTrack();
    this.#frames = synthesize(seed);
  }

  tick(): void {
    if (this.#stopped) return;
    // Each call hands libwebrtc its own buffer: the addon reads the whole ArrayBuffer.
    this.#source.onData({ samples: this.#frames[this.#next]!, sampleRate: SAMPLE_RATE, channelCount: 1, bitsPerSample: 16, numberOfFrames: FRAME_SAMPLES });
    this.#next = (this.#next + 1) % this.#frames.length;
  }

  close(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.track.stop();
  }
}

/** Root mean square of a frame, 0–1 of full scale: tells decoded speech from silence. */
export function rms(samples: Int16Array): number {
  let sum = 0;
  for (const x of samples) sum += x * x;
  return samples.length ? Math.sqrt(sum / samples.length) / 32768 : 0;
}

/** A small deterministic PRNG (mulberry32), so a bot's voice is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function synthesize(seed: number): Int16Array[] {
  const rand = prng(seed * 7919 + 1);
  const total = FRAME_SAMPLES * LOOP_FRAMES;
  const out = new Float32Array(total);
  const f0 = 100 + rand() * 120; // 100–220 Hz: low to high voices
  const level = 0.12 + rand() * 0.18; // about −18 to −12 dBFS peaks
  // Words of 2–5 syllables (~180 ms each) separated by 150–450 ms pauses.
  let t = Math.floor(rand() * 0.3 * SAMPLE_RATE);
  while (t < total) {
    const syllables = 2 + Math.floor(rand() * 4);
    for (let s = 0; s < syllables && t < total; s++) {
      const len = Math.floor((0.12 + rand() * 0.12) * SAMPLE_RATE);
      const pitch = f0 * (0.9 + rand() * 0.25);
      for (let i = 0; i < len && t + i < total; i++) {
        const env = Math.sin((Math.PI * i) / len); // each syllable swells and fades
        const f = pitch * (1 + 0.04 * Math.sin((2 * Math.PI * i) / len));
        const ph = (2 * Math.PI * f * (t + i)) / SAMPLE_RATE;
        let v = 0;
        for (let h = 1; h <= 6; h++) v += Math.sin(h * ph) / h;
        out[t + i] = level * env * v * 0.6;
      }
      t += len;
    }
    t += Math.floor((0.15 + rand() * 0.3) * SAMPLE_RATE);
  }
  const frames: Int16Array[] = [];
  for (let f = 0; f < LOOP_FRAMES; f++) {
    const frame = new Int16Array(FRAME_SAMPLES);
    for (let i = 0; i < FRAME_SAMPLES; i++) frame[i] = Math.max(-32767, Math.min(32767, Math.round(out[f * FRAME_SAMPLES + i]! * 32767)));
    frames.push(frame);
  }
  return frames;
}
