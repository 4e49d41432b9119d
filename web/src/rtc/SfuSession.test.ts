import { FakeMediaStreamTrack } from 'fake-mediastreamtrack';
import { Device } from 'mediasoup-client';
import * as fake from 'mediasoup-client/fakeParameters';
import { FakeHandler } from 'mediasoup-client/handlers/FakeHandler';
import type { ResponseMap } from '@protocol';
import { describe, expect, it, vi } from 'vitest';
import { FakeSignaling } from '../model/testing/fakes.ts';
import { fixedTracks } from './fixedTracks.ts';
import { SfuSession, simulcastEncodings } from './SfuSession.ts';

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
  function setup() {
    const signaling = new FakeSignaling();
    let routers = 0;
    let producers = 0;
    signaling.handle('sfu.capabilities', () => ({ routerRtpCapabilities: fake.generateRouterRtpCapabilities(), routerId: `router-${++routers}` }));
    signaling.handle('sfu.createTransport', () => fake.generateTransportRemoteParameters() as unknown as ResponseMap['sfu.createTransport']);
    signaling.handle('sfu.connectTransport', () => ({}));
    signaling.handle('sfu.ready', () => ({}));
    signaling.handle('sfu.produce', () => ({ producerId: `producer-${++producers}` }));
    signaling.handle('sfu.resumeConsumer', () => ({}));
    const audio = new FakeMediaStreamTrack({ kind: 'audio' }) as unknown as MediaStreamTrack;
    const session = new SfuSession(signaling, 'team', fixedTracks(audio, null), {
      iceServers: [],
      createDevice: () =>
        new Device({
          handlerFactory: FakeHandler.createFactory({
            generateNativeRtpCapabilities: fake.generateNativeRtpCapabilities,
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
});
