/**
 * A live camera for a bot: a moving pattern in the bot's own colour, encoded live by wrtc (VP8
 * when the SFU offers it; wrtc has no H.264). One second of I420 frames is drawn once and looped.
 */
import type { Ticker } from './MediaClock.ts';
import { nonstandard, type WrtcVideoSource } from './wrtc.ts';

export interface VideoOptions {
  width: number;
  height: number;
  fps: number;
}

export class VideoGenerator implements Ticker {
  readonly track: MediaStreamTrack;
  readonly #source: WrtcVideoSource;
  readonly #frames: Uint8Array[];
  #next = 0;
  #stopped = false;

  constructor(
    seed: number,
    readonly options: VideoOptions,
  ) {
    const { width, height } = options;
    if (width % 2 || height % 2) throw new Error('video width and height must be even (I420)');
    this.#source = new nonstandard.RTCVideoSource();
    this.track = this.#source.createTrack();
    this.#frames = draw(seed, options);
  }

  tick(): void {
    if (this.#stopped) return;
    const { width, height } = this.options;
    this.#source.onFrame({ width, height, data: this.#frames[this.#next]! });
    this.#next = (this.#next + 1) % this.#frames.length;
  }

  close(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.track.stop();
  }
}

function draw(seed: number, { width, height, fps }: VideoOptions): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const ySize = width * height;
  const cSize = ySize / 4;
  const u = 64 + ((seed * 53) % 128);
  const v = 64 + ((seed * 97) % 128);
  const n = Math.max(1, Math.round(fps));
  for (let f = 0; f < n; f++) {
    const data = new Uint8Array(ySize + 2 * cSize);
    const barX = Math.floor((f / n) * width);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const inBar = Math.abs(x - barX) < width / 16;
        data[y * width + x] = inBar ? 235 : 40 + ((x + y + f * 4) % 64) * 2;
      }
    }
    data.fill(u, ySize, ySize + cSize);
    data.fill(v, ySize + cSize);
    frames.push(data);
  }
  return frames;
}
