/**
 * Call-quality telemetry on the room's owner node: every client's periodic `quality.report`
 * becomes one entry (an E-model MOS for the audio it heard, the share of time its video froze)
 * kept in a bounded history per room, and is handed to whoever observes quality (Metrics).
 *
 * Bounded twice: the last ENTRIES_PER_ROOM entries of a room, and the ROOMS most recently
 * reported rooms (the oldest is forgotten first), so telemetry can never grow memory without
 * limit however many calls a node serves. A call's history outlives the call until pushed out.
 */
import type { RequestOf } from '../protocol/index.ts';
import { estimateMos } from './emodel.ts';

export const ENTRIES_PER_ROOM = 240;
export const ROOMS = 1_000;

export interface QualityEntry {
  at: number;
  /** Who reported (the receiving participant). */
  participantId: string;
  path: 'p2p' | 'sfu';
  rttMs: number | null;
  /** Estimated MOS of the audio they heard (worst sender), null without audio. */
  audioMos: number | null;
  /** % of the period their video froze (worst sender), null without video. */
  videoFrozenPct: number | null;
  /** Packets lost on the way to them, % (worst stream). */
  lossPct: number;
  /** Frames per second received (slowest video), null without video. */
  fps: number | null;
}

export interface RoomQualitySummary {
  roomId: string;
  entries: number;
  /** Median and worst estimated audio MOS over the kept entries. */
  audioMos: { median: number; worst: number } | null;
  /** Mean and worst video frozen %. */
  videoFrozenPct: { mean: number; worst: number } | null;
  /** Join → first remote media, ms, as each participant reported it. */
  setupMs: number[];
  last: QualityEntry[];
}

export interface QualityObserver {
  period(entry: QualityEntry): void;
  setup(ms: number, path: 'p2p' | 'sfu'): void;
}

interface RoomHistory {
  entries: QualityEntry[];
  setupMs: number[];
}

export class QualityHistory {
  // A Map iterates in insertion order: re-inserting on each report keeps the oldest first.
  readonly #rooms = new Map<string, RoomHistory>();

  constructor(private readonly observer: QualityObserver | null = null) {}

  record(participantId: string, report: RequestOf<'quality.report'>, now = Date.now()): QualityEntry {
    const audio = report.streams.filter((s) => s.kind === 'audio' && s.concealedPct !== null);
    const video = report.streams.filter((s) => s.kind === 'video' && s.frozenPct !== null);
    const mos = audio.map((s) => estimateMos({ concealedPct: s.concealedPct!, rttMs: report.rttMs, jitterMs: s.jitterMs }));
    const entry: QualityEntry = {
      at: now,
      participantId,
      path: report.path,
      rttMs: report.rttMs,
      audioMos: mos.length ? Math.min(...mos) : null,
      videoFrozenPct: video.length ? Math.max(...video.map((s) => s.frozenPct!)) : null,
      lossPct: report.streams.reduce((w, s) => Math.max(w, s.lossPct), 0),
      fps: video.some((s) => s.fps !== null) ? Math.min(...video.filter((s) => s.fps !== null).map((s) => s.fps!)) : null,
    };
    const room = this.#rooms.get(report.roomId) ?? { entries: [], setupMs: [] };
    this.#rooms.delete(report.roomId);
    this.#rooms.set(report.roomId, room);
    room.entries.push(entry);
    if (room.entries.length > ENTRIES_PER_ROOM) room.entries.splice(0, room.entries.length - ENTRIES_PER_ROOM);
    if (report.setupMs !== undefined && room.setupMs.length < 64) {
      room.setupMs.push(report.setupMs);
      this.observer?.setup(report.setupMs, report.path);
    }
    while (this.#rooms.size > ROOMS) this.#rooms.delete(this.#rooms.keys().next().value!);
    this.observer?.period(entry);
    return entry;
  }

  summary(roomId: string): RoomQualitySummary | null {
    const room = this.#rooms.get(roomId);
    if (!room) return null;
    const mos = room.entries.map((e) => e.audioMos).filter((x): x is number => x !== null);
    const frozen = room.entries.map((e) => e.videoFrozenPct).filter((x): x is number => x !== null);
    return {
      roomId,
      entries: room.entries.length,
      audioMos: mos.length ? { median: median(mos), worst: Math.min(...mos) } : null,
      videoFrozenPct: frozen.length ? { mean: round2(frozen.reduce((a, b) => a + b, 0) / frozen.length), worst: Math.max(...frozen) } : null,
      setupMs: [...room.setupMs],
      last: room.entries.slice(-20),
    };
  }

  get roomCount(): number {
    return this.#rooms.size;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const round2 = (x: number) => Math.round(x * 100) / 100;
