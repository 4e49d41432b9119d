import { describe, expect, it } from 'vitest';
import { sortCodecs } from './codecs.ts';

const c = (mimeType: string, sdpFmtpLine?: string) => ({ mimeType, clockRate: 90000, sdpFmtpLine });

describe('codec preferences', () => {
  it('puts H.264 Constrained Baseline packetization-mode 1 first, VP8 after every H.264, repair codecs last', () => {
    const sorted = sortCodecs('video', [
      c('video/VP8'),
      c('video/rtx', 'apt=96'),
      c('video/VP9', 'profile-id=0'),
      c('video/H264', 'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f'),
      c('video/H264', 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f'),
      c('video/H264', 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f'),
      c('video/red'),
      c('video/AV1'),
    ]);
    expect(sorted.map((x) => `${x.mimeType} ${x.sdpFmtpLine ?? ''}`.trim())).toEqual([
      'video/H264 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
      'video/H264 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f',
      'video/H264 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f',
      'video/VP8',
      'video/VP9 profile-id=0',
      'video/AV1',
      'video/rtx apt=96',
      'video/red',
    ]);
  });

  it('puts RED (redundant Opus) first for audio, then Opus', () => {
    const sorted = sortCodecs('audio', [c('audio/opus', 'minptime=10;useinbandfec=1'), c('audio/G722'), c('audio/red'), c('audio/PCMU')]);
    expect(sorted.map((x) => x.mimeType)).toEqual(['audio/red', 'audio/opus', 'audio/G722', 'audio/PCMU']);
  });

  it('puts plain Opus first and RED last when RED is turned off', () => {
    const sorted = sortCodecs('audio', [c('audio/red'), c('audio/G722'), c('audio/opus', 'minptime=10;useinbandfec=1'), c('audio/PCMU')], { red: false });
    expect(sorted.map((x) => x.mimeType)).toEqual(['audio/opus', 'audio/G722', 'audio/PCMU', 'audio/red']);
  });
});
