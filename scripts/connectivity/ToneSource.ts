/**
 * A live 440 Hz test tone as a wrtc audio track (Opus-encoded by libwebrtc like a microphone):
 * the CLI's test stream through the SFU. libwebrtc takes 10 ms of samples per call.
 */
import { nonstandard, type WrtcAudioSource } from '../../bench/bots/wrtc.ts';

const SAMPLE_RATE = 48_000;
const FRAME = SAMPLE_RATE / 100;

export class ToneSource {
  readonly track: MediaStreamTrack;
  readonly #source: WrtcAudioSource;
  readonly #timer: NodeJS.Timeout;
  readonly #started = performance.now();
  #sent = 0;

  constructor(frequency: 440 | 1000 = 440) {
    this.#source = new nonstandard.RTCAudioSource();
    this.track = this.#source.createTrack();
    // 50 ms hold a whole number of periods of 440 Hz (22), so five frames loop seamlessly.
    const loop = Array.from({ length: 5 }, (_, f) => {
      const out = new Int16Array(FRAME);
      for (let i = 0; i < FRAME; i++) out[i] = Math.round(Math.sin((2 * Math.PI * frequency * (f * FRAME + i)) / SAMPLE_RATE) * 8000);
      return out;
    });
    // Paced from the clock, not by counting timer callbacks, so the stream stays real time.
    this.#timer = setInterval(() => {
      const due = Math.floor((performance.now() - this.#started) / 10);
      if (due - this.#sent > 10) this.#sent = due - 1; // a stalled loop drops frames, as a device would
      for (; this.#sent < due; this.#sent++) {
        // Each call gets its own buffer: the addon reads the whole ArrayBuffer.
        const samples = loop[this.#sent % loop.length]!.slice();
        this.#source.onData({ samples, sampleRate: SAMPLE_RATE, channelCount: 1, bitsPerSample: 16, numberOfFrames: FRAME });
      }
    }, 10);
  }

  close(): void {
    clearInterval(this.#timer);
    this.track.stop();
  }
}
