/** Tracks that never change (a probe's or a bot's generated ones), as the SFU session's LocalTracks. */
import type { LocalTracks } from '../model/ports.ts';

export function fixedTracks(audio: MediaStreamTrack, video: MediaStreamTrack | null): LocalTracks {
  return {
    audio,
    video,
    get stream(): MediaStream {
      return new MediaStream(video ? [audio, video] : [audio]);
    },
    audioMuted: false,
    setAudioMuted: () => {},
    setVideoEnabled: async () => {},
    on: () => () => {},
    off: () => {},
  };
}
