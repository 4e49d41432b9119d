import type { ParticipantInfo } from '@protocol';
import { Emitter } from '../lib/Emitter.ts';
import type { PeerLinkPort, StatsSource } from './ports.ts';

export type { StatsSource };

/**
 * Someone else in the room: who they are, what they send us, and how our media path to them is
 * doing — a PeerLink in a 1:1 call, or the SFU in a group call (set from outside).
 */
export class RemoteParticipant extends Emitter<{ updated: []; media: []; connection: [RTCPeerConnectionState] }> {
  link: PeerLinkPort | null = null;
  /** The receiver of their audio (for levels: who is speaking). */
  audioReceiver: RTCRtpReceiver | null = null;
  /** Where their media statistics come from (peer connection or SFU consumers). */
  statsSource: StatsSource | null = null;
  #sfuConnection: RTCPeerConnectionState | null = null;

  /** `stream` collects the tracks they send us (an empty MediaStream from the media paths). */
  constructor(
    public info: ParticipantInfo,
    readonly stream: MediaStream,
  ) {
    super();
  }

  get id(): string {
    return this.info.id;
  }

  get connection(): RTCPeerConnectionState {
    return this.link ? this.link.state : (this.#sfuConnection ?? 'new');
  }

  update(info: ParticipantInfo): void {
    this.info = info;
    this.emit('updated');
  }

  attach(link: PeerLinkPort): void {
    this.link?.close();
    this.link = link;
    this.statsSource = link.stats;
    link.on('track', (track) => this.setTrack(track, link.receiverOf(track)));
    link.on('state', (s) => this.emit('connection', s));
  }

  /** The peer-to-peer link is no longer needed (the call moved to the SFU). */
  detachLink(): void {
    if (!this.link) return;
    this.link.close();
    this.link = null;
    this.emit('connection', this.connection);
  }

  /** Uses this track for its kind, replacing the previous one (P2P → SFU swaps this way). */
  setTrack(track: MediaStreamTrack, receiver: RTCRtpReceiver | null): void {
    for (const old of this.stream.getTracks()) if (old.kind === track.kind && old !== track) this.stream.removeTrack(old);
    if (!this.stream.getTracks().includes(track)) this.stream.addTrack(track);
    if (track.kind === 'audio') this.audioReceiver = receiver;
    this.emit('media');
  }

  removeTrack(track: MediaStreamTrack): void {
    if (!this.stream.getTracks().includes(track)) return;
    this.stream.removeTrack(track);
    if (track.kind === 'audio') this.audioReceiver = null;
    this.emit('media');
  }

  setSfuConnection(state: RTCPeerConnectionState): void {
    this.#sfuConnection = state;
    if (!this.link) this.emit('connection', state);
  }

  close(): void {
    this.link?.close();
    this.link = null;
    this.removeAllListeners();
  }
}
