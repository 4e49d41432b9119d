/**
 * The browser's media paths: RTCPeerConnection links (P2PPath of PeerLinks) and mediasoup-client
 * (SfuSession); with `frames`, every sender and receiver of both encrypts and decrypts frames.
 */
import type { FrameTransforms, MediaPaths } from '../model/ports.ts';
import { P2PPath } from './P2PPath.ts';
import { PeerLink } from './PeerLink.ts';
import type { CodecOptions } from './codecs.ts';
import { SfuSession } from './SfuSession.ts';

export function browserMediaPaths(frames: FrameTransforms | null = null, codecs: CodecOptions = {}): MediaPaths {
  return {
    frames,
    p2p: (signaling, roomId, media, ice) => new P2PPath(signaling, roomId, media, ice, (options) => new PeerLink({ ...options, codecs }), frames ?? undefined),
    sfu: (signaling, roomId, media, ice) =>
      new SfuSession(signaling, roomId, media, { ...ice, ...(frames ? { frames } : {}), ...(codecs.red === false ? { red: false } : {}) }),
    stream: () => new MediaStream(),
  };
}
