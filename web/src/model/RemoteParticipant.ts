import type { ParticipantInfo } from '@protocol';
import { Emitter } from '../lib/Emitter.ts';
import type { PeerLink } from '../rtc/PeerLink.ts';

/** Someone else in the room: who they are, what they send us, and how the link to them is doing. */
export class RemoteParticipant extends Emitter<{ updated: []; media: []; connection: [RTCPeerConnectionState] }> {
  readonly stream = new MediaStream();
  link: PeerLink | null = null;

  constructor(public info: ParticipantInfo) {
    super();
  }

  get id(): string {
    return this.info.id;
  }

  get connection(): RTCPeerConnectionState {
    return this.link?.state ?? 'new';
  }

  update(info: ParticipantInfo): void {
    this.info = info;
    this.emit('updated');
  }

  attach(link: PeerLink): void {
    this.link?.close();
    this.link = link;
    link.on('track', (track) => {
      for (const old of this.stream.getTracks()) if (old.kind === track.kind && old !== track) this.stream.removeTrack(old);
      this.stream.addTrack(track);
      this.emit('media');
    });
    link.on('state', (s) => this.emit('connection', s));
  }

  close(): void {
    this.link?.close();
    this.link = null;
    this.removeAllListeners();
  }
}
