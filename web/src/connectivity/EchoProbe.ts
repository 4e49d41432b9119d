/**
 * A media round trip through the SFU, in the browser and in Node (mediasoup-client on wrtc):
 * the app's own SfuSession in an echo room (the server sends us our own streams back) publishes
 * the given tracks and consumes them; we wait for the first packets, then measure for a few
 * seconds: round trip, jitter, loss, received bitrate, and whether the path is UDP or TCP
 * (direct or through TURN).
 */
import type { Device } from 'mediasoup-client';
import type { IceServerInfo } from '@protocol';
import { fixedTracks } from '../rtc/fixedTracks.ts';
import { SfuSession } from '../rtc/SfuSession.ts';
import { echoRoomId, type MediaMetrics } from './checks.ts';
import type { SignalingClient } from '../signaling/SignalingClient.ts';
import { selectedPair, type StatsEntry } from '../rtc/stats.ts';
import { RoomKeys } from '../e2ee/RoomKeys.ts';
import type { FrameTransforms, KeyAgreement } from '../model/ports.ts';

export interface EchoProbeOptions {
  signaling: SignalingClient;
  /** A fresh, unloaded mediasoup-client Device (the caller picks the handler: browser or wrtc). */
  device: Device;
  audio: MediaStreamTrack;
  video: MediaStreamTrack | null;
  /** Prefer this video codec when the router and the device have it. */
  videoCodec?: 'video/h264' | 'video/vp8';
  /** Measurement window once media flows. */
  measureMs: number;
  /** Deadline for the first packet back. */
  firstMediaTimeoutMs: number;
  signal: AbortSignal;
  progress(text: string): void;
  /** Overrides the iceServers of the join reply (tests; Node clients that only want the SFU). */
  iceServers?: IceServerInfo[];
  /** End-to-end encryption as in a call: our frames go out encrypted and come back to be decrypted (browsers). */
  e2ee?: { identity: KeyAgreement; frames: FrameTransforms } | null;
}

export class EchoProbe {
  readonly roomId = echoRoomId();
  #session: SfuSession | null = null;
  #keys: RoomKeys | null = null;
  #joined = false;
  #closed = false;

  constructor(private readonly o: EchoProbeOptions) {}

  async run(): Promise<MediaMetrics> {
    const { signaling } = this.o;
    const roomId = this.roomId;
    this.o.progress('joining an echo room on the media server');
    const e2ee = this.o.e2ee ?? null;
    const join = await signaling.request('room.join', {
      roomId,
      media: { audioMuted: false, videoEnabled: this.o.video !== null },
      ...(e2ee ? { publicKey: e2ee.identity.publicKey } : {}),
    });
    this.#joined = true;
    this.#check();
    // Our own key, for our frames coming back: the echo room decrypts as a call would.
    if (e2ee && join.room.e2ee) {
      this.#keys = new RoomKeys(signaling, roomId, e2ee.identity, e2ee.frames);
      this.#keys.start(join.self, [], true);
    }
    // The app's own SFU session, in a room that sends us our own streams back.
    const session = (this.#session = new SfuSession(signaling, roomId, fixedTracks(this.o.audio, this.o.video), {
      iceServers: this.o.iceServers ?? join.iceServers,
      createDevice: () => this.o.device,
      videoCodec: this.o.videoCodec ?? 'video/h264',
      simulcast: false,
      // A probe reports what it finds; the app would retry a media server that is restarting.
      startAttempts: 1,
      ...(this.#keys && e2ee ? { frames: e2ee.frames } : {}),
    }));
    this.o.progress('publishing a test stream');
    await session.start();
    this.#check();

    this.o.progress('waiting for our own stream to come back');
    const firstBy = performance.now() + this.o.firstMediaTimeoutMs;
    let first = await this.#sample();
    while (first.audioPackets === 0 && performance.now() < firstBy) {
      this.#check();
      await sleep(200);
      first = await this.#sample();
    }
    if (first.audioPackets === 0) return { ...this.#empty(), ...first.path };

    const t0 = performance.now();
    const steps = Math.max(1, Math.round(this.o.measureMs / 1000));
    let last = first;
    for (let i = 1; i <= steps; i++) {
      await sleep(this.o.measureMs / steps);
      this.#check();
      last = await this.#sample();
      this.o.progress(`measuring: ${i} of ${steps} s, ${last.audioPackets} audio packets back`);
    }
    const seconds = (performance.now() - t0) / 1000;
    const expected = last.received + last.lost - (first.received + first.lost);
    return {
      ...last.path,
      rttMs: last.rttMs,
      jitterMs: last.jitterMs,
      lossRatio: expected > 0 ? Math.max(0, last.lost - first.lost) / expected : null,
      audioPacketsReceived: last.audioPackets,
      videoFramesDecoded: this.o.video ? last.framesDecoded : null,
      bitrateKbps: seconds > 0 ? ((last.bytes - first.bytes) * 8) / seconds / 1000 : null,
      seconds,
      framesDecrypted: this.#keys && e2ee ? await decryptedFrames(e2ee.frames, join.self.id) : null,
    };
  }

  /** Leaves the echo room and releases transports (the tracks belong to the caller). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#session?.close();
    this.#session = null;
    this.#keys?.close();
    this.o.e2ee?.frames.close();
    if (this.#joined) await this.o.signaling.request('room.leave', { roomId: this.roomId }, 3_000).catch(() => {});
  }

  #check(): void {
    if (this.o.signal.aborted) throw this.o.signal.reason instanceof Error ? this.o.signal.reason : new Error('cancelled');
  }

  #empty(): MediaMetrics {
    return {
      transport: null,
      candidateType: null,
      rttMs: null,
      jitterMs: null,
      lossRatio: null,
      audioPacketsReceived: 0,
      videoFramesDecoded: null,
      bitrateKbps: null,
      seconds: 0,
    };
  }

  /** One look at both transports' statistics. */
  async #sample() {
    const session = this.#session;
    const [send, recv] = session ? await Promise.all([session.reports('send').then((r) => r.flat()), session.reports('recv').then((r) => r.flat())]) : [[], []];
    let audioPackets = 0;
    let received = 0;
    let lost = 0;
    let bytes = 0;
    let framesDecoded = 0;
    let jitter: number | null = null;
    for (const s of recv) {
      if (s.type !== 'inbound-rtp') continue;
      const kind = s['kind'] ?? s['mediaType'];
      received += Number(s['packetsReceived'] ?? 0);
      lost += Math.max(0, Number(s['packetsLost'] ?? 0));
      bytes += Number(s['bytesReceived'] ?? 0);
      if (kind === 'audio') {
        audioPackets += Number(s['packetsReceived'] ?? 0);
        if (typeof s['jitter'] === 'number') jitter = Math.max(jitter ?? 0, s['jitter'] * 1000);
      } else framesDecoded += Number(s['framesDecoded'] ?? 0);
    }
    const sendPath = selectedPath(send);
    const recvPath = selectedPath(recv);
    // The send side's RTCP receiver reports give a round trip too, when ICE has none yet.
    const rr = send.find((s) => s.type === 'remote-inbound-rtp' && typeof s['roundTripTime'] === 'number');
    const rttMs = sendPath.rttMs ?? recvPath.rttMs ?? (rr ? Number(rr['roundTripTime']) * 1000 : null);
    const path = { transport: recvPath.transport ?? sendPath.transport, candidateType: recvPath.candidateType ?? sendPath.candidateType };
    return { audioPackets, received, lost, bytes, framesDecoded, jitterMs: jitter, rttMs, path };
  }
}

/** The selected candidate pair of a transport's stats: protocol to the SFU, type, round trip. */
export function selectedPath(entries: readonly StatsEntry[]): { transport: 'udp' | 'tcp' | null; candidateType: string | null; rttMs: number | null } {
  const pair = selectedPair(entries);
  return { transport: pair?.transport ?? null, candidateType: pair?.localType ?? null, rttMs: pair?.rttMs ?? null };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Our own frames the worker decrypted (audio and video). */
async function decryptedFrames(frames: FrameTransforms, selfId: string): Promise<number> {
  const { decrypted } = await frames.counts();
  return Object.entries(decrypted).reduce((n, [k, v]) => n + (k.startsWith(`${selfId}:`) ? v : 0), 0);
}
