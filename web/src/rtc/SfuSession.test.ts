import { FakeMediaStreamTrack } from 'fake-mediastreamtrack';
import { Device } from 'mediasoup-client';
import * as fake from 'mediasoup-client/fakeParameters';
import { FakeHandler } from 'mediasoup-client/handlers/FakeHandler';
import type { ResponseMap, RoomCodecs } from '@protocol';
import { describe, expect, it, vi } from 'vitest';
import { FakeSignaling } from '../model/testing/fakes.ts';
import { fixedTracks } from './fixedTracks.ts';
import { SfuSession, simulcastEncodings } from './SfuSession.ts';

const H264 = {
  kind: 'video' as const,
  mimeType: 'video/H264',
  clockRate: 90_000,
  parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
};
const RED = { kind: 'audio' as const, mimeType: 'audio/red', clockRate: 48_000, channels: 2, rtcpFeedback: [] };
const sentCodecs = (signaling: FakeSignaling) =>
  signaling
    .sentOf('sfu.produce')
    .filter((p) => p.kind === 'video')
    .map((p) => (p.rtpParameters as { codecs: { mimeType: string }[] }).codecs[0]!.mimeType);

const track = (height: number) => ({ getSettings: () => ({ height }) }) as unknown as MediaStreamTrack;

describe('simulcast layers', () => {
  it('asks for as many layers as Chromium sends at that size, each half the next', () => {
    expect(simulcastEncodings(track(240)).map((e) => e.scaleResolutionDownBy)).toEqual([1]);
    expect(simulcastEncodings(track(480)).map((e) => e.scaleResolutionDownBy)).toEqual([2, 1]);
    expect(simulcastEncodings(track(720)).map((e) => e.scaleResolutionDownBy)).toEqual([4, 2, 1]);
    expect(simulcastEncodings(track(720)).map((e) => e.maxBitrate)).toEqual([50_000, 500_000, 1_200_000]);
    // The fallback layer of a poor link: two of them and the voices fit in 300 kbit/s.
    expect(simulcastEncodings(track(480))[0]).toMatchObject({ maxBitrate: 50_000, maxFramerate: 15 });
    expect(simulcastEncodings(track(240))[0]).not.toHaveProperty('maxFramerate');
  });
});

describe('SfuSession with a fake signaling server and mediasoup-client’s FakeHandler', () => {
  /** `camera`: also a camera; `h264`: this device can send and decode H.264 (Chromium; not Firefox without OpenH264). */
  /** `red`: this device and the router have RED, and the room starts with it. */
  function setup({
    camera = false,
    h264 = false,
    red = false,
    roomCodec = 'video/H264' as const,
  }: { camera?: boolean; h264?: boolean; red?: boolean; roomCodec?: RoomCodecs['video'] } = {}) {
    const signaling = new FakeSignaling();
    let routers = 0;
    let producers = 0;
    signaling.handle('sfu.capabilities', () => {
      const caps = fake.generateRouterRtpCapabilities();
      const routerRtpCapabilities = red ? { ...caps, codecs: [{ ...RED, preferredPayloadType: 63 }, ...caps.codecs!] } : caps;
      return { routerRtpCapabilities, routerId: `router-${++routers}` };
    });
    signaling.handle('sfu.createTransport', () => fake.generateTransportRemoteParameters() as unknown as ResponseMap['sfu.createTransport']);
    signaling.handle('sfu.connectTransport', () => ({}));
    signaling.handle('sfu.ready', () => ({ codecs: { audio: red ? 'audio/red' : 'audio/opus', video: roomCodec } }));
    signaling.handle('sfu.closeProducer', () => ({}));
    signaling.handle('sfu.produce', () => ({ producerId: `producer-${++producers}` }));
    signaling.handle('sfu.resumeConsumer', () => ({}));
    const audio = new FakeMediaStreamTrack({ kind: 'audio' }) as unknown as MediaStreamTrack;
    const video = camera ? (new FakeMediaStreamTrack({ kind: 'video' }) as unknown as MediaStreamTrack) : null;
    const native = () => {
      const caps = fake.generateNativeRtpCapabilities();
      return {
        ...caps,
        codecs: [...(red ? [{ ...RED, preferredPayloadType: 63 }] : []), ...caps.codecs!, ...(h264 ? [{ ...H264, preferredPayloadType: 125 }] : [])],
      };
    };
    const session = new SfuSession(signaling, 'team', fixedTracks(audio, video), {
      iceServers: [],
      createDevice: () =>
        new Device({
          handlerFactory: FakeHandler.createFactory({
            generateNativeRtpCapabilities: native,
            generateNativeSctpCapabilities: fake.generateNativeSctpCapabilities,
            generateLocalDtlsParameters: fake.generateLocalDtlsParameters,
          }),
        }),
    });
    return { signaling, session };
  }

  /** The server offers us a stream of `participantId`'s microphone. */
  function offer(signaling: FakeSignaling, participantId: string, paused = false) {
    const c = fake.generateConsumerRemoteParameters({ codecMimeType: 'audio/opus' });
    signaling.push('sfu.newConsumer', {
      roomId: 'team',
      consumerId: c.id!,
      producerId: c.producerId!,
      participantId,
      kind: 'audio',
      source: 'mic',
      rtpParameters: c.rtpParameters!,
      paused,
    });
    return c.id!;
  }

  it('sets up one send and one recv transport, produces the microphone, and resumes what it receives', async () => {
    const { signaling, session } = setup();
    await session.start();
    expect(signaling.sentOf('sfu.createTransport').map((t) => t.direction)).toEqual(['send', 'recv']);
    expect(signaling.sentOf('sfu.produce')).toMatchObject([{ kind: 'audio', source: 'mic' }]);
    const consumed: string[] = [];
    session.on('consumer', (s) => consumed.push(s.info.participantId));
    const id = offer(signaling, 'ann');
    await vi.waitFor(() => expect(consumed).toEqual(['ann']));
    expect(signaling.sentOf('sfu.resumeConsumer')).toEqual([{ roomId: 'team', consumerId: id }]);
    expect(session.consumersOf('ann')).toHaveLength(1);
    session.close();
  });

  it('follows the server’s pauses of each stream (the sender paused, or top-K left it out)', async () => {
    const { signaling, session } = setup();
    await session.start();
    const id = offer(signaling, 'ann', true);
    await vi.waitFor(() => expect(session.streams).toHaveLength(1));
    expect(session.streams[0]!.serverPaused).toBe(true);
    signaling.push('sfu.consumerResumed', { roomId: 'team', consumerId: id });
    expect(session.streams[0]!.serverPaused).toBe(false);
    signaling.push('sfu.consumerPaused', { roomId: 'team', consumerId: id });
    expect(session.streams[0]!.serverPaused).toBe(true);
    session.close();
  });

  it('after a media worker died (sfu.reset) it sets everything up again: new transports and producer, old streams ended', async () => {
    const { signaling, session } = setup();
    await session.start();
    offer(signaling, 'ann');
    await vi.waitFor(() => expect(session.consumersOf('ann')).toHaveLength(1));
    const ended: string[] = [];
    const resets: string[] = [];
    session.on('trackEnded', (pid) => ended.push(pid));
    session.on('reset', (reason) => resets.push(reason));
    signaling.push('sfu.reset', { roomId: 'team', reason: 'media worker died' });
    await vi.waitFor(() => expect(signaling.sentOf('sfu.produce')).toHaveLength(2));
    expect(resets).toEqual(['media worker died']);
    expect(signaling.sentOf('sfu.capabilities')).toHaveLength(2);
    expect(signaling.sentOf('sfu.createTransport')).toHaveLength(4);
    expect(session.consumersOf('ann')).toHaveLength(0);
    // The new session receives again.
    offer(signaling, 'ann');
    await vi.waitFor(() => expect(session.consumersOf('ann')).toHaveLength(1));
    session.close();
  });

  it('sends the camera in the room’s codec, and sends it again when the room changes codec', async () => {
    const { signaling, session } = setup({ camera: true, h264: true });
    await session.start();
    expect(sentCodecs(signaling)).toEqual(['video/H264']);
    expect(session.codecOf('camera')).toBe('video/h264');
    // Someone who cannot decode H.264 joined: the old stream is closed, the camera sent anew in VP8.
    signaling.push('sfu.codecs', { roomId: 'team', codecs: { audio: 'audio/opus', video: 'video/VP8' } });
    await vi.waitFor(() => expect(sentCodecs(signaling)).toEqual(['video/H264', 'video/VP8']));
    expect(signaling.sentOf('sfu.closeProducer')).toHaveLength(1);
    expect(session.codecOf('camera')).toBe('video/vp8');
    // They left: back to H.264.
    signaling.push('sfu.codecs', { roomId: 'team', codecs: { audio: 'audio/opus', video: 'video/H264' } });
    await vi.waitFor(() => expect(sentCodecs(signaling)).toEqual(['video/H264', 'video/VP8', 'video/H264']));
    session.close();
  });

  it('a device without H.264 sends VP8 even while the room prefers H.264, and never re-sends for nothing', async () => {
    const { signaling, session } = setup({ camera: true, h264: false, roomCodec: 'video/H264' });
    await session.start();
    expect(sentCodecs(signaling)).toEqual(['video/VP8']);
    signaling.push('sfu.codecs', { roomId: 'team', codecs: { audio: 'audio/opus', video: 'video/VP8' } });
    await session.syncProducers();
    expect(sentCodecs(signaling)).toEqual(['video/VP8']);
    expect(signaling.sentOf('sfu.closeProducer')).toHaveLength(0);
    session.close();
  });

  it('sends the microphone as RED while the room does, and as plain Opus once the room says so', async () => {
    const { signaling, session } = setup({ red: true });
    await session.start();
    const micCodecs = () =>
      signaling
        .sentOf('sfu.produce')
        .filter((p) => p.kind === 'audio')
        .map((p) => (p.rtpParameters as { codecs: { mimeType: string }[] }).codecs[0]!.mimeType);
    expect(micCodecs()).toEqual(['audio/red']);
    signaling.push('sfu.codecs', { roomId: 'team', codecs: { audio: 'audio/opus', video: 'video/H264' } });
    await vi.waitFor(() => expect(micCodecs()).toEqual(['audio/red', 'audio/opus']));
    expect(session.codecOf('mic')).toBe('audio/opus');
    session.close();
  });
});
