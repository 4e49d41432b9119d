/**
 * A test stream that needs no camera or microphone: a 440 Hz tone from WebAudio and a moving
 * pattern drawn on a canvas (so the encoder has motion to encode and frames are never frozen).
 * The media-through-the-SFU check uses it, so its result does not depend on the devices.
 */
export class SyntheticMedia {
  readonly audio: MediaStreamTrack;
  readonly video: MediaStreamTrack;
  readonly #oscillator: OscillatorNode;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(audioContext: AudioContext, width = 640, height = 480, fps = 15) {
    this.#oscillator = audioContext.createOscillator();
    this.#oscillator.frequency.value = 440;
    const gain = audioContext.createGain();
    gain.gain.value = 0.2;
    const out = audioContext.createMediaStreamDestination();
    this.#oscillator.connect(gain).connect(out);
    this.#oscillator.start();
    this.audio = out.stream.getAudioTracks()[0]!;

    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const g = canvas.getContext('2d')!;
    let frame = 0;
    const draw = () => {
      frame++;
      g.fillStyle = `hsl(${(frame * 3) % 360} 60% 35%)`;
      g.fillRect(0, 0, width, height);
      g.fillStyle = '#fff';
      const x = (frame * 8) % width;
      g.fillRect(x, height / 3, width / 8, height / 3);
      g.font = `${Math.round(height / 8)}px sans-serif`;
      g.fillText(String(frame), 16, height / 6);
    };
    draw();
    this.video = canvas.captureStream(fps).getVideoTracks()[0]!;
    // setInterval rather than requestAnimationFrame: keeps drawing in a background tab.
    this.#timer = setInterval(draw, 1000 / fps);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#oscillator.stop();
    this.audio.stop();
    this.video.stop();
  }
}
