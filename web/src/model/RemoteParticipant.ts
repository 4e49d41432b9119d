import type { ParticipantInfo } from '@protocol';
import { Emitter } from '../lib/Emitter.ts';
import type { StatsSource } from './ports.ts';

export type { StatsSource };

export type RemoteParticipantEvents = { updated: []; media: []; connection: [RTCPeerConnectionState] };

/**
 * Writes a participant's media state. CallMedia creates every participant and holds the only
 * writer of each (`RemoteParticipant.create`): one owner for the P2P → SFU move, so views and
 * the Room can read this state but never set it.
 */
export interface ParticipantMedia {
  /** Uses this track for its kind, replacing the previous one (P2P → SFU swaps this way). */
  setTrack(track: MediaStreamTrack, receiver: RTCRtpReceiver | null): void;
  removeTrack(track: MediaStreamTrack): void;
  setConnection(state: RTCPeerConnectionState): void;
  setStats(source: StatsSource): void;
  setPath(path: 'p2p' | 'sfu'): void;
}

/**
 * Someone else in the room: who they are (the Room updates that from the server), what they
 * send us and how our media path to them is doing (CallMedia writes that).
 */
export class RemoteParticipant extends Emitter<RemoteParticipantEvents> {
  #audioReceiver: RTCRtpReceiver | null = null;
  #stats: StatsSource | null = null;
  #connection: RTCPeerConnectionState = 'new';
  #path: 'p2p' | 'sfu';

  /** `stream` collects the tracks they send us (an empty MediaStream from the media paths). */
  private constructor(
    public info: ParticipantInfo,
    readonly stream: MediaStream,
    path: 'p2p' | 'sfu',
  ) {
    super();
    this.#path = path;
  }

  /** A participant and the one writer of its media state (for CallMedia). */
  static create(info: ParticipantInfo, stream: MediaStream, path: 'p2p' | 'sfu'): { participant: RemoteParticipant; media: ParticipantMedia } {
    const p = new RemoteParticipant(info, stream, path);
    const media: ParticipantMedia = {
      setTrack: (track, receiver) => {
        for (const old of p.stream.getTracks()) if (old.kind === track.kind && old !== track) p.stream.removeTrack(old);
        if (!p.stream.getTracks().includes(track)) p.stream.addTrack(track);
        if (track.kind === 'audio') p.#audioReceiver = receiver;
        p.emit('media');
      },
      removeTrack: (track) => {
        if (!p.stream.getTracks().includes(track)) return;
        p.stream.removeTrack(track);
        if (track.kind === 'audio') p.#audioReceiver = null;
        p.emit('media');
      },
      setConnection: (state) => {
        if (p.#connection === state) return;
        p.#connection = state;
        p.emit('connection', state);
      },
      setStats: (source) => (p.#stats = source),
      setPath: (path) => (p.#path = path),
    };
    return { participant: p, media };
  }

  get id(): string {
    return this.info.id;
  }

  /** How our media path to them is doing: their P2P link's state, or the SFU session's. */
  get connection(): RTCPeerConnectionState {
    return this.#connection;
  }

  /** Which path their media arrives on now (`p2p` until the move to the SFU completes). */
  get path(): 'p2p' | 'sfu' {
    return this.#path;
  }

  /** The receiver of their audio (for levels: who is speaking). */
  get audioReceiver(): RTCRtpReceiver | null {
    return this.#audioReceiver;
  }

  /** Where their media statistics come from (their link, or their SFU consumers). */
  get statsSource(): StatsSource | null {
    return this.#stats;
  }

  update(info: ParticipantInfo): void {
    this.info = info;
    this.emit('updated');
  }

  close(): void {
    this.removeAllListeners();
  }
}
