/**
 * Opens the camera and looks at what it delivers: frames drawn small onto a canvas, their mean
 * brightness (a covered lens or a dead camera is black) and how much consecutive frames differ
 * (a stuck camera repeats one picture); then which common sizes it can deliver.
 */
export interface CameraResult {
  label: string;
  devices: number;
  width: number;
  height: number;
  frameRate: number | null;
  /** Mean luma of the sampled frames, 0–255. */
  brightness: number;
  /** Share of consecutive sampled frames that differed from the previous one, 0–1. */
  changing: number;
  sizes: string[];
}

const SIZES = [
  [320, 240],
  [640, 480],
  [1280, 720],
] as const;

/** Mean luma below this is "black" (a dark room still reads ~20–40). */
export const BLACK_LUMA = 10;

export class CameraProbe {
  #stream: MediaStream | null = null;
  #video: HTMLVideoElement | null = null;

  async run(sampleMs: number, signal: AbortSignal): Promise<CameraResult> {
    this.#stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
    const track = this.#stream.getVideoTracks()[0]!;
    const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput').length;
    const video = (this.#video = document.createElement('video'));
    video.muted = true;
    video.playsInline = true;
    video.srcObject = this.#stream;
    await video.play();

    const canvas = document.createElement('canvas');
    canvas.width = 64;
    canvas.height = 48;
    const g = canvas.getContext('2d', { willReadFrequently: true })!;
    let previous: Uint8ClampedArray | null = null;
    let frames = 0;
    let changed = 0;
    let luma = 0;
    const until = performance.now() + sampleMs;
    while (performance.now() < until && !signal.aborted) {
      await new Promise((r) => setTimeout(r, 150));
      g.drawImage(video, 0, 0, canvas.width, canvas.height);
      const px = g.getImageData(0, 0, canvas.width, canvas.height).data;
      let sum = 0;
      let diff = 0;
      for (let i = 0; i < px.length; i += 4) {
        sum += 0.299 * px[i]! + 0.587 * px[i + 1]! + 0.114 * px[i + 2]!;
        if (previous) diff += Math.abs(px[i]! - previous[i]!) + Math.abs(px[i + 1]! - previous[i + 1]!);
      }
      luma += sum / (px.length / 4);
      if (previous && diff / (px.length / 4) > 0.5) changed++;
      previous = px;
      frames++;
    }
    const settings = track.getSettings();
    const sizes: string[] = [];
    for (const [w, h] of SIZES) {
      if (signal.aborted) break;
      try {
        await track.applyConstraints({ width: { exact: w }, height: { exact: h } });
        const s = track.getSettings();
        if (s.width === w && s.height === h) sizes.push(`${w}x${h}`);
      } catch {
        // Not supported by this camera: simply not listed.
      }
    }
    return {
      label: track.label || 'camera',
      devices,
      width: settings.width ?? 0,
      height: settings.height ?? 0,
      frameRate: settings.frameRate ?? null,
      brightness: frames ? luma / frames : 0,
      changing: frames > 1 ? changed / (frames - 1) : 0,
      sizes,
    };
  }

  close(): void {
    for (const t of this.#stream?.getTracks() ?? []) t.stop();
    if (this.#video) this.#video.srcObject = null;
    this.#stream = null;
  }
}
