/** The browser's media paths: RTCPeerConnection (PeerLink) and mediasoup-client (SfuSession). */
import type { MediaPaths } from '../model/ports.ts';
import { PeerLink } from './PeerLink.ts';
import { SfuSession } from './SfuSession.ts';

export const browserMediaPaths: MediaPaths = {
  peerLink: (options) => new PeerLink(options),
  sfuSession: (signaling, roomId, media, ice) => new SfuSession(signaling, roomId, media, ice),
  stream: () => new MediaStream(),
};
