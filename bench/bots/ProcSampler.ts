/**
 * CPU and memory of processes, sampled from /proc (Linux): CPU % of one core between samples
 * from utime+stime in /proc/<pid>/stat, resident memory from VmRSS in /proc/<pid>/status.
 * Processes are named by label and looked up on every sample, so a mediasoup worker that was
 * replaced is followed to its new pid.
 */
import { readFileSync } from 'node:fs';

/** USER_HZ: 100 on every mainstream Linux (x86-64, arm64). */
const CLOCK_TICKS_PER_SEC = 100;

export interface ProcSample {
  /** ms since the sampler started. */
  t: number;
  cpuPct: number;
  /** CPU seconds used since the previous sample. */
  cpuSeconds: number;
  rssMB: number;
}

export interface ProcSummary {
  label: string;
  pid: number | null;
  samples: number;
  /** Mean and peak CPU over the samples in the window, % of one core. */
  cpuAvgPct: number;
  cpuMaxPct: number;
  /** CPU seconds used in the window. */
  cpuSeconds: number;
  rssAvgMB: number;
  rssMaxMB: number;
}

interface Track {
  pid: number | null;
  lastTicks: number | null;
  lastAt: number;
  samples: ProcSample[];
}

export class ProcSampler {
  readonly #tracks = new Map<string, Track>();
  readonly #t0 = performance.now();
  #timer: NodeJS.Timeout | null = null;

  /** `pids()` names the processes to follow (label → pid), asked again at every sample. */
  constructor(private readonly pids: () => Record<string, number | null | undefined>) {}

  start(intervalMs = 1_000): void {
    this.sample();
    this.#timer ??= setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    const now = performance.now();
    for (const [label, pid] of Object.entries(this.pids())) {
      let track = this.#tracks.get(label);
      if (!track) this.#tracks.set(label, (track = { pid: null, lastTicks: null, lastAt: now, samples: [] }));
      if (!pid) continue;
      const read = readProc(pid);
      if (!read) continue;
      if (track.pid === pid && track.lastTicks !== null && now > track.lastAt) {
        const cpuSeconds = (read.ticks - track.lastTicks) / CLOCK_TICKS_PER_SEC;
        track.samples.push({ t: now - this.#t0, cpuPct: (cpuSeconds / ((now - track.lastAt) / 1000)) * 100, cpuSeconds, rssMB: read.rssMB });
      }
      track.pid = pid;
      track.lastTicks = read.ticks;
      track.lastAt = now;
    }
  }

  /** Mean/peak over samples taken in [fromMs, toMs] (ms since start; default: all). */
  summary(fromMs = 0, toMs = Infinity): ProcSummary[] {
    return [...this.#tracks.entries()].map(([label, track]) => {
      const xs = track.samples.filter((s) => s.t >= fromMs && s.t <= toMs);
      const cpu = xs.map((s) => s.cpuPct);
      const rss = xs.map((s) => s.rssMB);
      return {
        label,
        pid: track.pid,
        samples: xs.length,
        cpuAvgPct: mean(cpu),
        cpuMaxPct: cpu.length ? Math.max(...cpu) : 0,
        cpuSeconds: xs.reduce((a, x) => a + x.cpuSeconds, 0),
        rssAvgMB: mean(rss),
        rssMaxMB: rss.length ? Math.max(...rss) : 0,
      };
    });
  }

  /** ms since start, to mark phases for `summary()`. */
  now(): number {
    return performance.now() - this.#t0;
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}

function readProc(pid: number): { ticks: number; rssMB: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: fields are counted after its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKB = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    return { ticks, rssMB: rssKB / 1024 };
  } catch {
    return null; // the process is gone
  }
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}
