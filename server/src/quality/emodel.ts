/**
 * A mean-opinion-score estimate for a voice stream from the ITU-T G.107 E-model, reduced to what
 * a WebRTC receiver measures (as callstats, LiveKit and Jitsi do it):
 *
 *   R = 93.2 − Id − Ie,eff        MOS = 1 + 0.035 R + 7·10⁻⁶ R (R − 60)(100 − R)
 *
 * - Id, the delay impairment, from the mouth-to-ear delay: half the round trip, plus the jitter
 *   buffer (about twice the jitter) and ~20 ms of packetization.
 * - Ie,eff, the loss impairment, from the share of audio the listener actually heard concealed
 *   (what FEC, RED and retransmission did not save) — not the raw network loss. Opus has no
 *   G.113 value: Ie = 0 and a packet-loss robustness Bpl = 10 (a wideband codec with PLC).
 *
 * MOS 4.3+ is excellent, 4.0 good, 3.6 fair, 3.1 poor, below that bad.
 */
const IE = 0;
const BPL = 10;

export function estimateMos(input: { concealedPct: number; rttMs: number | null; jitterMs: number | null }): number {
  const ppl = clamp(input.concealedPct, 0, 100);
  const delay = (input.rttMs ?? 0) / 2 + 2 * (input.jitterMs ?? 0) + 20;
  const id = 0.024 * delay + (delay > 177.3 ? 0.11 * (delay - 177.3) : 0);
  const ieEff = IE + ((95 - IE) * ppl) / (ppl + BPL);
  const r = 93.2 - id - ieEff;
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  return round2(1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r));
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const round2 = (x: number) => Math.round(x * 100) / 100;
