/** The browser's media paths: RTCPeerConnection links (P2PPath of PeerLinks) and mediasoup-client (SfuSession). */
import type { MediaPaths } from '../model/ports.ts';
import { P2PPath } from './P2PPath.ts';
import { PeerLink } from './PeerLink.ts';
import { SfuSession } from './SfuSession.ts';

export const browserMediaPaths: MediaPaths = {
  p2p: (signaling, roomId, media, ice) => new P2PPath(signaling, roomId, media, ice, (options) => new PeerLink(options)),
  sfu: (signaling, roomId, media, ice) => new SfuSession(signaling, roomId, media, ice),
  stream: () => new MediaStream(),
};
