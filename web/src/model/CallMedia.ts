/**
 * The media of one call: which path each remote participant's media travels (a P2P link, or the
 * SFU), the move from one to the other, and what each participant's media state is. It is the
 * only writer of that state (it creates the participants and keeps their writers), and the only
 * listener of the media paths. The Room tells it who is there and when the call goes to the SFU;
 * views read participants and never touch a path.
 *
 * The move to the SFU is make before break: a participant still on a P2P link keeps it until
 * their SFU stream really delivers (packets for audio, decoded frames for video); then the track
 * is swapped in place, and the link closes once every kind they send has switched.
 */
import type { ParticipantInfo, ServerEventMap } from '@protocol';
import { Emitter } from '../lib/Emitter.ts';
import type { IceConfig, LocalTracks, MediaPath, MediaPaths, SignalingPort } from './ports.ts';
import { RemoteParticipant, type ParticipantMedia } from './RemoteParticipant.ts';

/** While escalating, how long an SFU stream may take to deliver before we switch anyway. */
const SWITCH_TIMEOUT_MS = 5_000;
/** After our side switched, the other side may still be switching to our SFU stream. */
const LINK_LINGER_MS = 1_500;

export type CallMediaEvents = {
  /** Group calls: the dominant speaker as the SFU hears it. */
  activeSpeaker: [participantId: string | null];
  /** A path failed (it recovers by itself) or background work went wrong. */
  failure: [error: Error];
};

interface Person {
  participant: RemoteParticipant;
  media: ParticipantMedia;
  /** Pending close of their P2P link once everything they send comes through the SFU. */
  linger: ReturnType<typeof setTimeout> | null;
}

export class CallMedia extends Emitter<CallMediaEvents> {
  #p2p: MediaPath | null = null;
  #sfu: MediaPath | null = null;
  readonly #people = new Map<string, Person>();
  #closed = false;

  constructor(
    private readonly signaling: SignalingPort,
    private readonly roomId: string,
    private readonly local: LocalTracks,
    private readonly paths: MediaPaths,
    /** ICE settings, read when a path is made (they arrive with the join answer). */
    private readonly ice: () => IceConfig,
  ) {
    super();
  }

  /** The peer-to-peer path, while anyone is on it. */
  get p2p(): MediaPath | null {
    return this.#p2p;
  }

  /** The SFU path, once the call went there. */
  get sfu(): MediaPath | null {
    return this.#sfu;
  }

  /** Someone to receive: through the SFU if the call is there, else on a link of their own (`initiator`: we offer). */
  add(info: ParticipantInfo, initiator: boolean): RemoteParticipant {
    const known = this.#people.get(info.id);
    if (known) return known.participant;
    const sfu = this.#sfu;
    const { participant, media } = RemoteParticipant.create(info, this.paths.stream(), sfu ? 'sfu' : 'p2p');
    this.#people.set(info.id, { participant, media, linger: null });
    if (sfu) {
      media.setStats(sfu.statsOf(info.id));
      media.setConnection(sfu.connectionOf(info.id));
      for (const track of sfu.tracksOf(info.id)) media.setTrack(track, null);
    } else {
      const p2p = this.#p2pPath();
      media.setStats(p2p.statsOf(info.id));
      p2p.addParticipant(info.id, initiator);
    }
    return participant;
  }

  /** They left: their link (if any) closes. */
  remove(participantId: string): void {
    const person = this.#people.get(participantId);
    if (!person) return;
    this.#people.delete(participantId);
    if (person.linger) clearTimeout(person.linger);
    this.#p2p?.removeParticipant(participantId);
    this.#closeIdleP2P();
  }

  /** The call moved to the SFU (a third person is coming): set it up while the links keep playing. */
  useSfu(): void {
    if (this.#sfu || this.#closed) return;
    const sfu = this.paths.sfu(this.signaling, this.roomId, this.local, this.ice());
    this.#sfu = sfu;
    sfu.on('track', (pid, track, receiver) => void this.#onSfuTrack(pid, track, receiver));
    sfu.on('trackEnded', (pid, track) => this.#people.get(pid)?.media.removeTrack(track));
    sfu.on('activeSpeaker', (pid) => this.emit('activeSpeaker', pid));
    sfu.on('failure', (err) => this.emit('failure', err));
    sfu.on('connection', (_pid, state) => {
      for (const p of this.#people.values()) if (p.participant.path === 'sfu') p.media.setConnection(state);
    });
    sfu.start().catch((err: unknown) => this.emit('failure', err instanceof Error ? err : new Error(String(err))));
  }

  /** An offer, answer or candidate from someone. */
  receiveSignal(signal: ServerEventMap['rtc.signal']): void {
    this.#p2p?.receiveSignal(signal);
  }

  /** Our tracks changed: every path sends the new ones. */
  syncLocalTracks(): void {
    this.#p2p?.syncLocalTracks();
    this.#sfu?.syncLocalTracks();
  }

  /** The network changed: restart ICE everywhere. */
  restartIce(): void {
    this.#p2p?.restartIce();
    this.#sfu?.restartIce();
  }

  /** After a reconnection: a participant whose link is not connected gets an ICE restart. */
  nudge(participantId: string): void {
    if (this.#people.get(participantId)?.participant.connection !== 'connected') this.#p2p?.restartIce(participantId);
  }

  /** After a reconnection with the same seat: the SFU catches up on what it missed. */
  resync(): Promise<void> {
    return this.#sfu?.resync() ?? Promise.resolve();
  }

  /** A new seat: an SFU session set up for the old one is void. */
  restartSfu(): Promise<void> {
    return this.#sfu?.restart() ?? Promise.resolve();
  }

  /** Group calls: the size a participant's video is shown at chooses the simulcast layer we receive. */
  setPreferredHeight(participantId: string, height: number): void {
    this.#sfu?.setPreferredHeight(participantId, height);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#people.values()) if (p.linger) clearTimeout(p.linger);
    this.#people.clear();
    this.#p2p?.close();
    this.#sfu?.close();
    this.#p2p = null;
    this.#sfu = null;
    this.removeAllListeners();
  }

  #p2pPath(): MediaPath {
    if (this.#p2p) return this.#p2p;
    const p2p = this.paths.p2p(this.signaling, this.roomId, this.local, this.ice());
    this.#p2p = p2p;
    p2p.on('track', (pid, track, receiver) => {
      const person = this.#people.get(pid);
      // A kind that already comes through the SFU stays there.
      if (!person || person.participant.path !== 'p2p' || this.#fromSfu(pid, track.kind)) return;
      person.media.setTrack(track, receiver);
    });
    p2p.on('trackEnded', (pid, track) => this.#people.get(pid)?.media.removeTrack(track));
    p2p.on('connection', (pid, state) => {
      const person = pid === null ? undefined : this.#people.get(pid);
      if (person?.participant.path === 'p2p') person.media.setConnection(state);
    });
    p2p.on('failure', (err) => this.emit('failure', err));
    return p2p;
  }

  /** Whether what we play of this kind from them already comes through the SFU. */
  #fromSfu(pid: string, kind: string): boolean {
    const person = this.#people.get(pid);
    const sfuTracks = this.#sfu?.tracksOf(pid) ?? [];
    return person?.participant.stream.getTracks().some((t) => t.kind === kind && sfuTracks.includes(t)) ?? false;
  }

  async #onSfuTrack(pid: string, track: MediaStreamTrack, receiver: RTCRtpReceiver | null): Promise<void> {
    const person = this.#people.get(pid);
    const sfu = this.#sfu;
    if (!person || !sfu) return;
    const onLink = this.#p2p?.has(pid) ?? false;
    if (onLink && receiver) await waitForMedia(receiver, track.kind, SWITCH_TIMEOUT_MS);
    if (this.#people.get(pid) !== person || track.readyState === 'ended' || this.#closed) return;
    const { participant, media } = person;
    media.setTrack(track, receiver);
    media.setStats(sfu.statsOf(pid));
    if (!onLink) return;
    const kinds = new Set(participant.stream.getTracks().map((t) => t.kind));
    const sfuTracks = new Set(sfu.tracksOf(pid));
    const allSwitched = participant.stream.getTracks().every((t) => sfuTracks.has(t)) && (kinds.has('video') || !participant.info.videoEnabled);
    if (!allSwitched || person.linger) return;
    person.linger = setTimeout(() => {
      person.linger = null;
      if (this.#people.get(pid) !== person || !this.#sfu) return;
      this.#p2p?.removeParticipant(pid);
      media.setPath('sfu');
      media.setConnection(this.#sfu.connectionOf(pid));
      this.#closeIdleP2P();
    }, LINK_LINGER_MS);
  }

  /** In a group call, once the last link closed, the P2P path goes too. */
  #closeIdleP2P(): void {
    if (!this.#sfu || !this.#p2p) return;
    for (const id of this.#people.keys()) if (this.#p2p.has(id)) return;
    this.#p2p.close();
    this.#p2p = null;
  }
}

/** Resolves once the receiver got media (audio packets / decoded video frames), or after `timeoutMs`. */
async function waitForMedia(receiver: RTCRtpReceiver, kind: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let flowing = false;
    const stats = await receiver.getStats().catch(() => null);
    // No receiver statistics (wrtc has none): nothing to wait for.
    if (!stats) return;
    stats.forEach((s: Record<string, unknown>) => {
      if (s['type'] !== 'inbound-rtp') return;
      if (kind === 'audio' ? Number(s['packetsReceived'] ?? 0) > 0 : Number(s['framesDecoded'] ?? 0) > 0) flowing = true;
    });
    if (flowing) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
