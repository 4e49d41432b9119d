/** A ring made with WebAudio (no asset to download): two short tones every two seconds. */
export class Ringtone {
  #ctx: AudioContext | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;

  start(kind: 'incoming' | 'outgoing'): void {
    this.stop();
    try {
      this.#ctx = new AudioContext();
    } catch {
      return; // no audio output: ring silently
    }
    const ring = () => {
      const ctx = this.#ctx;
      if (!ctx) return;
      const tones = kind === 'incoming' ? [880, 660] : [440, 480];
      tones.forEach((f, i) => {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.frequency.value = f;
        gain.gain.value = 0.08;
        osc.connect(gain).connect(ctx.destination);
        const t = ctx.currentTime + i * 0.25;
        osc.start(t);
        osc.stop(t + 0.2);
      });
    };
    ring();
    this.#timer = setInterval(ring, 2_000);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    void this.#ctx?.close().catch(() => {});
    this.#ctx = null;
  }
}
