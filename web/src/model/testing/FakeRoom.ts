/** Test double for the model's listeners (ActiveSpeaker, NetworkQuality); never bundled. */
import { Emitter } from '../../lib/Emitter.ts';
import type { RemoteParticipant } from '../RemoteParticipant.ts';
import type { RoomEvents } from '../Room.ts';

/** Just enough of Room: participants and its events. */
export class FakeRoom extends Emitter<RoomEvents> {
  readonly participants = new Map<string, RemoteParticipant>();
  add(id: string, connection: RTCPeerConnectionState = 'connected'): RemoteParticipant {
    const p = { id, info: { id, name: id.toUpperCase() }, connection } as unknown as RemoteParticipant;
    this.participants.set(id, p);
    this.emit('participantJoined', p);
    return p;
  }
  remove(id: string): void {
    const p = this.participants.get(id)!;
    this.participants.delete(id);
    this.emit('participantLeft', p);
  }
}
