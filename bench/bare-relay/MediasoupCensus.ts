/**
 * Counts what every mediasoup server in this process does, whoever created it: it follows
 * mediasoup's observer (workers → routers → transports → producers / consumers), so callwire's
 * SFU and the bare relay are measured by the very same code without knowing either's internals.
 *
 * A snapshot holds the workers' CPU (getResourceUsage), this process's CPU (the servers' Node
 * side: both run in the bench process, one after the other), every producer's received packets
 * and sequence-gap losses, every consumer's sent packets, and the drops the kernel counted on the
 * servers' UDP sockets (/proc/net/udp*, by port: packets that arrived but never reached mediasoup).
 * CPU is read just before and just after the (cheap but not free) stats requests, so a window can
 * leave their cost out.
 */
import { readFileSync } from 'node:fs';
import type { types } from 'mediasoup';
import type { Mediasoup } from './loadMediasoup.ts';

export interface CpuReading {
  /** performance.now() */
  at: number;
  /** Σ user+system CPU of the live mediasoup workers, µs. */
  workerUs: number;
  /** This process's user+system CPU, µs. */
  nodeUs: number;
}

export interface ProducerCount {
  kind: 'audio' | 'video';
  received: number;
  lost: number;
}

export interface ConsumerCount {
  kind: 'audio' | 'video';
  producerId: string;
  sent: number;
  bytes: number;
  paused: boolean;
}

export interface CensusSnapshot {
  before: CpuReading;
  after: CpuReading;
  workers: number;
  producers: Map<string, ProducerCount>;
  consumers: Map<string, ConsumerCount>;
  /** Kernel drops on the given UDP ports' sockets (receive buffer full). */
  udpDrops: number;
}

export interface KindCounts {
  consumers: number;
  /** Packets the consumers sent (forwarded), and their bytes. */
  forwarded: number;
  bytes: number;
  /** Σ over consumers of their producer's received packets. */
  expected: number;
  /**
   * Σ over consumers of how many packets the consumer fell short of the median consumer of the
   * same producer. mediasoup deliberately does not forward padding-only RTP packets (libwebrtc
   * sends some, ~1 % of an audio stream here), so `forwarded < expected` without any loss; what
   * a server loses while forwarding shows as consumers falling behind their siblings instead.
   */
  shortfall: number;
}

export interface CensusDelta {
  /** The CPU window: after the first snapshot's stats, before the second's. */
  cpuSeconds: number;
  workerCpuUs: number;
  nodeCpuUs: number;
  producers: number;
  /** Packets the producers received, and sequence gaps (lost before mediasoup saw them), in the window. */
  received: number;
  lost: number;
  audio: KindCounts;
  video: KindCounts;
  udpDrops: number;
  /**
   * Packet counts are sampled at the stats requests, the CPU between them: packets are scaled by
   * this (CPU window / stats window, slightly below 1) so both cover the same time.
   */
  packetScale: number;
}

export class MediasoupCensus {
  readonly workers = new Set<types.Worker>();
  readonly producers = new Set<types.Producer>();
  readonly consumers = new Set<types.Consumer>();
  readonly #onWorker = (worker: types.Worker) => this.#follow(worker);
  #closed = false;

  constructor(private readonly mediasoup: Mediasoup) {
    mediasoup.observer.on('newworker', this.#onWorker);
  }

  async cpu(): Promise<CpuReading> {
    const usages = await Promise.all([...this.workers].map((w) => w.getResourceUsage().catch(() => null)));
    const workerUs = usages.reduce((a, u) => a + (u ? (u.ru_utime + u.ru_stime) * 1000 : 0), 0);
    const c = process.cpuUsage();
    return { at: performance.now(), workerUs, nodeUs: c.user + c.system };
  }

  /** `udpPorts`: the servers' media ports, for the kernel's drop counters. */
  async snapshot(udpPorts: number[]): Promise<CensusSnapshot> {
    const before = await this.cpu();
    const udpDrops = readUdpDrops(udpPorts);
    // All requests go out at once; the worker answers them in this order both times, so each
    // object's two readings are about the same time apart.
    const producers = [...this.producers].map(async (p) => {
      const stats = await p.getStats().catch(() => []);
      const count: ProducerCount = { kind: p.kind, received: 0, lost: 0 };
      for (const s of stats) {
        count.received += s.packetCount;
        count.lost += s.packetsLost;
      }
      return [p.id, count] as const;
    });
    const consumers = [...this.consumers].map(async (c) => {
      const stats = await c.getStats().catch(() => []);
      const out = stats.filter((s) => s.type === 'outbound-rtp');
      const sent = out.reduce((a, s) => a + s.packetCount, 0);
      const bytes = out.reduce((a, s) => a + s.byteCount, 0);
      return [c.id, { kind: c.kind, producerId: c.producerId, sent, bytes, paused: c.paused || c.producerPaused }] as const;
    });
    const [p, c] = await Promise.all([Promise.all(producers), Promise.all(consumers)]);
    const after = await this.cpu();
    return { before, after, workers: this.workers.size, producers: new Map(p), consumers: new Map(c), udpDrops };
  }

  /** What happened between two snapshots, over the objects present in both. */
  static delta(a: CensusSnapshot, b: CensusSnapshot): CensusDelta {
    const statsMs = (b.before.at + b.after.at) / 2 - (a.before.at + a.after.at) / 2;
    const cpuMs = b.before.at - a.after.at;
    const received = new Map<string, number>();
    let lost = 0;
    for (const [id, pb] of b.producers) {
      const pa = a.producers.get(id);
      if (!pa) continue;
      received.set(id, pb.received - pa.received);
      lost += pb.lost - pa.lost;
    }
    const kinds: Record<'audio' | 'video', KindCounts> = {
      audio: { consumers: 0, forwarded: 0, bytes: 0, expected: 0, shortfall: 0 },
      video: { consumers: 0, forwarded: 0, bytes: 0, expected: 0, shortfall: 0 },
    };
    const siblings = new Map<string, { kind: 'audio' | 'video'; sent: number[] }>();
    for (const [id, cb] of b.consumers) {
      const ca = a.consumers.get(id);
      const fromProducer = received.get(cb.producerId);
      if (!ca || fromProducer === undefined) continue;
      const k = kinds[cb.kind];
      const sent = cb.sent - ca.sent;
      k.consumers++;
      k.forwarded += sent;
      k.bytes += cb.bytes - ca.bytes;
      // A paused consumer is not expected to forward anything.
      if (cb.paused || ca.paused) continue;
      k.expected += fromProducer;
      const group = siblings.get(cb.producerId) ?? { kind: cb.kind, sent: [] };
      group.sent.push(sent);
      siblings.set(cb.producerId, group);
    }
    for (const { kind, sent } of siblings.values()) {
      const median = [...sent].sort((x, y) => x - y)[Math.floor(sent.length / 2)]!;
      for (const n of sent) kinds[kind].shortfall += Math.max(0, median - n);
    }
    return {
      cpuSeconds: cpuMs / 1000,
      workerCpuUs: b.before.workerUs - a.after.workerUs,
      nodeCpuUs: b.before.nodeUs - a.after.nodeUs,
      producers: received.size,
      received: [...received.values()].reduce((x, y) => x + y, 0),
      lost,
      audio: kinds.audio,
      video: kinds.video,
      udpDrops: b.udpDrops - a.udpDrops,
      packetScale: statsMs > 0 ? cpuMs / statsMs : 1,
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.mediasoup.observer.off('newworker', this.#onWorker);
    this.workers.clear();
    this.producers.clear();
    this.consumers.clear();
  }

  #follow(worker: types.Worker): void {
    if (this.#closed) return;
    this.workers.add(worker);
    worker.observer.once('close', () => this.workers.delete(worker));
    worker.observer.on('newrouter', (router) =>
      router.observer.on('newtransport', (transport) => {
        transport.observer.on('newproducer', (producer) => {
          this.producers.add(producer);
          producer.observer.once('close', () => this.producers.delete(producer));
        });
        transport.observer.on('newconsumer', (consumer) => {
          this.consumers.add(consumer);
          consumer.observer.once('close', () => this.consumers.delete(consumer));
        });
      }),
    );
  }
}

/**
 * Σ of the `drops` column of /proc/net/udp and udp6 for sockets bound to these local ports (the
 * network namespace's sockets: scripts/netns.sh gives the bench its own).
 */
function readUdpDrops(ports: number[]): number {
  const wanted = new Set(ports.map((p) => p.toString(16).toUpperCase().padStart(4, '0')));
  let drops = 0;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 13) continue;
      const port = f[1]!.split(':')[1];
      if (port && wanted.has(port)) drops += Number(f[12]);
    }
  }
  return drops;
}
