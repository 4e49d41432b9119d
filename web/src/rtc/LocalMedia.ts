/**
 * This device's microphone and camera: acquire, mute, turn the camera on and off (releasing it,
 * so the camera light goes out), and switch devices. Emits `changed` whenever a track changes.
 */
import { Emitter } from '../lib/Emitter.ts';

export interface VideoQuality {
  width: number;
  height: number;
  frameRate: number;
}

export const DEFAULT_VIDEO: VideoQuality = { width: 640, height: 480, frameRate: 30 };

export class LocalMedia extends Emitter<{ changed: [] }> {
  readonly stream = new MediaStream();
  audio: MediaStreamTrack | null = null;
  video: MediaStreamTrack | null = null;
  audioMuted = false;
  audioDeviceId: string | undefined;
  videoDeviceId: string | undefined;
  /** Why the microphone or camera could not be opened, for the UI. */
  lastError: string | null = null;

  constructor(private readonly quality: VideoQuality = DEFAULT_VIDEO) {
    super();
  }

  /** Opens the microphone and, if asked, the camera. Failures degrade (camera, then mic) instead of throwing. */
  async start(wantVideo: boolean): Promise<void> {
    try {
      const s = await navigator.mediaDevices.getUserMedia({ audio: this.#audioConstraints(), video: wantVideo ? this.#videoConstraints() : false });
      this.#setTrack('audio', s.getAudioTracks()[0] ?? null);
      this.#setTrack('video', s.getVideoTracks()[0] ?? null);
    } catch (err) {
      this.lastError = describe(err);
      if (wantVideo) {
        await this.start(false);
        this.lastError = `camera unavailable: ${describe(err)}`;
      }
    }
    this.emit('changed');
  }

  setAudioMuted(muted: boolean): void {
    this.audioMuted = muted;
    if (this.audio) this.audio.enabled = !muted;
    this.emit('changed');
  }

  async setVideoEnabled(on: boolean): Promise<void> {
    if (on === (this.video !== null)) return;
    if (!on) {
      this.#setTrack('video', null);
    } else {
      const s = await navigator.mediaDevices.getUserMedia({ video: this.#videoConstraints() });
      this.#setTrack('video', s.getVideoTracks()[0] ?? null);
    }
    this.emit('changed');
  }

  async switchDevice(kind: 'audio' | 'video', deviceId: string): Promise<void> {
    if (kind === 'audio') {
      this.audioDeviceId = deviceId;
      const s = await navigator.mediaDevices.getUserMedia({ audio: this.#audioConstraints() });
      this.#setTrack('audio', s.getAudioTracks()[0] ?? null);
      if (this.audio) this.audio.enabled = !this.audioMuted;
    } else {
      this.videoDeviceId = deviceId;
      if (this.video) {
        const s = await navigator.mediaDevices.getUserMedia({ video: this.#videoConstraints() });
        this.#setTrack('video', s.getVideoTracks()[0] ?? null);
      }
    }
    this.emit('changed');
  }

  /** Microphones, cameras and speakers (outputs are listed only by browsers that can route to them). */
  async devices(): Promise<{ audio: MediaDeviceInfo[]; video: MediaDeviceInfo[]; speakers: MediaDeviceInfo[] }> {
    const all = await navigator.mediaDevices.enumerateDevices();
    return {
      audio: all.filter((d) => d.kind === 'audioinput'),
      video: all.filter((d) => d.kind === 'videoinput'),
      speakers: all.filter((d) => d.kind === 'audiooutput'),
    };
  }

  close(): void {
    this.#setTrack('audio', null);
    this.#setTrack('video', null);
    this.removeAllListeners();
  }

  #setTrack(kind: 'audio' | 'video', track: MediaStreamTrack | null): void {
    const old = this[kind];
    if (old === track) return;
    if (old) {
      old.stop();
      this.stream.removeTrack(old);
    }
    if (track) this.stream.addTrack(track);
    this[kind] = track;
  }

  #audioConstraints(): MediaTrackConstraints {
    return { deviceId: this.audioDeviceId ? { exact: this.audioDeviceId } : undefined, echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  }

  #videoConstraints(): MediaTrackConstraints {
    const q = this.quality;
    return {
      deviceId: this.videoDeviceId ? { exact: this.videoDeviceId } : undefined,
      width: { ideal: q.width },
      height: { ideal: q.height },
      frameRate: { ideal: q.frameRate },
    };
  }
}

function describe(err: unknown): string {
  if (err instanceof DOMException) {
    if (err.name === 'NotAllowedError') return 'permission denied';
    if (err.name === 'NotFoundError') return 'no device found';
    if (err.name === 'NotReadableError') return 'device is in use by another app';
    return `${err.name}: ${err.message}`;
  }
  return String(err);
}
