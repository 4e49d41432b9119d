/**
 * Opens the microphone and listens for a moment through a WebAudio analyser: is anything heard
 * at all (a muted or dead microphone delivers digital silence)?
 */
export interface MicrophoneResult {
  label: string;
  devices: number;
  /**
   * Loudest RMS level heard, dBFS (−∞ for digital silence); null when nothing could be listened
   * to: the browser's audio engine did not start (Firefox with no sound output device keeps an
   * AudioContext suspended forever).
   */
  peakDb: number | null;
  sampleRate: number | null;
}

/** Below this the microphone is as good as silent (a quiet room is around −60 dBFS). */
export const SILENCE_DB = -80;

/** How long the audio engine may take to start before we stop waiting for it. */
const RESUME_WAIT_MS = 2_000;

export class MicrophoneProbe {
  #stream: MediaStream | null = null;
  #source: MediaStreamAudioSourceNode | null = null;

  constructor(private readonly audioContext: AudioContext) {}

  async run(listenMs: number, signal: AbortSignal): Promise<MicrophoneResult> {
    this.#stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const track = this.#stream.getAudioTracks()[0]!;
    const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audioinput').length;
    // resume() can stay pending forever (no sound device): wait a bounded time, never hang.
    if (this.audioContext.state === 'suspended') {
      await Promise.race([this.audioContext.resume().catch(() => {}), new Promise((r) => setTimeout(r, RESUME_WAIT_MS))]);
    }
    if (this.audioContext.state !== 'running') {
      return { label: track.label || 'microphone', devices, peakDb: null, sampleRate: track.getSettings().sampleRate ?? null };
    }
    this.#source = this.audioContext.createMediaStreamSource(this.#stream);
    const analyser = this.audioContext.createAnalyser();
    analyser.fftSize = 2048;
    this.#source.connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    let peak = 0;
    const until = performance.now() + listenMs;
    while (performance.now() < until && !signal.aborted) {
      await new Promise((r) => setTimeout(r, 50));
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const x of buf) sum += x * x;
      peak = Math.max(peak, Math.sqrt(sum / buf.length));
    }
    return {
      label: track.label || 'microphone',
      devices,
      peakDb: peak > 0 ? 20 * Math.log10(peak) : -Infinity,
      sampleRate: track.getSettings().sampleRate ?? null,
    };
  }

  close(): void {
    this.#source?.disconnect();
    for (const t of this.#stream?.getTracks() ?? []) t.stop();
    this.#stream = null;
  }
}
