/**
 * The call app inside the embed iframe (`/embed/call/:room?parent=<host origin>`). It is the
 * normal Room/CallView stack driven by the host page over postMessage instead of by URL
 * parameters: it says hello to the parent, takes its options from the `init` answer (so a token
 * never sits in a URL), joins, reports model events (RoomReporter) and runs commands.
 */
import { SignalingError } from '@protocol';
import { LocalMedia } from '../rtc/LocalMedia.ts';
import { Room } from '../model/Room.ts';
import { createIdentity } from '../signaling/identity.ts';
import { SignalingClient } from '../signaling/SignalingClient.ts';
import { CallView } from '../ui/CallView.ts';
import { h, replaceChildren } from '../ui/dom.ts';
import { EmbedError, ROOM_PATTERN, checkCommand, checkOrigin, type EmbedErrorCode, type FrameOptions, type LeaveReason } from './contract.ts';
import { FrameChannel } from './FrameChannel.ts';
import { RoomReporter } from './RoomReporter.ts';
import { loadHostSecret, saveHostSecret } from '../signaling/hostSecrets.ts';
import { browserMediaPaths } from '../rtc/browserMediaPaths.ts';
import { callE2ee, e2eeSupported, E2EE_UNSUPPORTED, warmUpE2ee } from '../e2ee/browserE2ee.ts';

const CONNECT_TIMEOUT_MS = 15_000;

export class EmbedApp {
  #channel: FrameChannel | null = null;
  #options: FrameOptions | null = null;
  #roomId = '';
  #signaling: SignalingClient | null = null;
  #room: Room | null = null;
  #media: LocalMedia | null = null;
  #view: CallView | null = null;
  #reporter: RoomReporter | null = null;
  #joining: Promise<void> | null = null;
  /** Voice-only until switchToVideo(): the camera needs that explicit step. */
  #voiceOnly = false;

  constructor(private readonly root: HTMLElement) {
    warmUpE2ee();
  }

  async start(): Promise<void> {
    const room = /^\/embed\/call\/([^/]+)$/.exec(location.pathname)?.[1] ?? '';
    const parent = checkOrigin(new URLSearchParams(location.search).get('parent'));
    if (!ROOM_PATTERN.test(room) || !parent || window.parent === window) {
      this.#message('Embedded call', 'This page shows a callwire call inside another site. Add it with embed.js (see docs/embedding.md).');
      return;
    }
    this.#roomId = room;
    document.body.classList.add('embedded');
    const channel = (this.#channel = new FrameChannel(parent));
    channel.on('command', (c) => void this.#command(c.id, c.command, c.args));
    window.addEventListener('pagehide', () => void this.#room?.leave());

    const options = await new Promise<FrameOptions>((resolve) => {
      channel.once('init', resolve);
      channel.hello();
    });
    this.#options = options;
    this.#voiceOnly = options.voiceOnly;
    document.documentElement.dataset['theme'] = options.theme;
    channel.event('ready', { room });
    if (options.autoJoin) {
      await this.#join().catch((err: unknown) => this.#report(err));
    } else {
      this.#showJoin('Ready to join?');
    }
  }

  // ---- commands ----------------------------------------------------------------------------

  async #command(id: number, command: unknown, args: unknown): Promise<void> {
    const channel = this.#channel!;
    try {
      const checked = checkCommand(command, args);
      if (!checked.ok) throw checked.error;
      if (!this.#options) throw new EmbedError('command-failed', 'the frame has no options yet');
      const opts = this.#options;
      const room = this.#room?.state === 'joined' ? this.#room : null;
      const a = checked.value.args;
      switch (checked.value.command) {
        case 'join':
          await this.#join();
          break;
        case 'leave':
          await this.#leave('command');
          break;
        case 'setAudioMuted':
          opts.audioMuted = a[0] as boolean;
          if (room) await room.setAudioMuted(opts.audioMuted);
          break;
        case 'setVideoMuted': {
          const muted = a[0] as boolean;
          if (!muted && (this.#voiceOnly || (room && room.info?.media !== 'video'))) {
            throw new EmbedError('video-not-allowed', 'this is a voice call: use switchToVideo() first');
          }
          opts.videoMuted = muted;
          if (room) await room.setVideoEnabled(!muted);
          break;
        }
        case 'setDisplayName':
          opts.name = (a[0] as string).trim();
          if (room) await room.setName(opts.name);
          break;
        case 'setLocked':
        case 'admit':
        case 'removeParticipant':
        case 'requestMute': {
          if (!room) throw new EmbedError('not-joined', `${checked.value.command}() needs a joined call`);
          if (!room.isHost) throw new EmbedError('not-host', `${checked.value.command}(): only a host of this call can do that`);
          const c = checked.value.command;
          if (c === 'setLocked') await room.setLocked(a[0] as boolean);
          else if (c === 'admit') await room.admit(a[0] as string, a[1] as boolean);
          else if (c === 'removeParticipant') await room.remove(a[0] as string);
          else await room.requestMute(a[0] as string);
          break;
        }
        case 'switchToVideo':
          if (!room) throw new EmbedError('not-joined', 'switchToVideo() needs a joined call');
          this.#voiceOnly = false;
          opts.videoMuted = false;
          // A voice room asks the others first (their consent turns our camera on); a video room just starts the camera.
          if (room.info?.media === 'audio') await room.requestVideo();
          else await room.setVideoEnabled(true);
          break;
      }
      channel.result(id, null);
    } catch (err) {
      channel.result(id, toEmbedError(err, 'command-failed').toJSON());
    }
  }

  // ---- joining and leaving -------------------------------------------------------------------

  #join(): Promise<void> {
    if (this.#room && this.#room.state !== 'left') return this.#joining ?? Promise.resolve();
    this.#joining = this.#doJoin().finally(() => (this.#joining = null));
    return this.#joining;
  }

  async #doJoin(): Promise<void> {
    const opts = this.#options!;
    const signaling = await this.#connect();
    const media = (this.#media = new LocalMedia());
    this.#message('Joining…', '');
    await media.start(!this.#voiceOnly && !opts.videoMuted);
    if (opts.audioMuted) media.setAudioMuted(true);
    if (media.lastError) this.#channel!.event('error', { code: 'media-unavailable', message: media.lastError, fatal: false });

    // With a token and no name option, the server uses the token's name.
    const name = opts.name ?? (opts.token ? undefined : 'Guest');
    const hostSecret = loadHostSecret(this.#roomId);
    const e2ee = await callE2ee();
    if (!e2eeSupported()) this.#channel!.event('error', { code: 'e2ee-unsupported', message: E2EE_UNSUPPORTED, fatal: false });
    const room = (this.#room = new Room(
      signaling,
      this.#roomId,
      media,
      { name, ...(hostSecret ? { hostSecret } : {}), ...(e2ee ? { identity: e2ee.identity } : {}) },
      browserMediaPaths(e2ee?.frames ?? null),
    ));
    this.#reporter = new RoomReporter(room, (event, data) => this.#channel!.event(event, data));
    const controls = new Set(opts.controls.filter((c) => !(this.#voiceOnly && c === 'camera')));
    this.#view = new CallView(room, { title: 'Call', controls, onHangUp: () => void this.#leave('hangup') });
    room.on('removed', () => {
      if (this.#reporter) this.#reporter.leaveReason = 'removed';
      this.#room = null;
      // The room closes right after this event, and the reporter reports `left` then: clean up after it.
      queueMicrotask(() => {
        this.#endCall();
        this.#message('You were removed from the call', 'A host of this call removed you.');
      });
    });
    room.on('state', (state) => {
      // The room ended without us asking (a rejoin after a network loss failed).
      if (state !== 'left' || this.#room !== room || this.#joining) return;
      this.#endCall();
      this.#showJoin('Disconnected', 'The connection to the call was lost.', 'Rejoin');
    });
    replaceChildren(this.root, this.#view.el);
    try {
      await room.join();
      // Whoever opens a room first is its host: keep the secret to stay host after a reload.
      if (room.hostSecret) saveHostSecret(this.#roomId, room.hostSecret);
    } catch (err) {
      this.#endCall();
      const e = toEmbedError(err, 'join-failed');
      this.#showJoin(e.code === 'room-full' ? 'This call is full' : e.code === 'not-admitted' ? 'You were not let in' : 'Could not join', e.message);
      throw e;
    }
  }

  async #connect(): Promise<SignalingClient> {
    if (this.#signaling) return this.#signaling;
    const opts = this.#options!;
    // A fresh guest per embed: the host page decides the name, and nothing is left behind in
    // the (partitioned) storage of the host's site.
    const signaling = new SignalingClient(opts.token ? { token: opts.token } : { guest: createIdentity(opts.name ?? 'Guest') });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        signaling.ready(),
        new Promise(
          (_, reject) => (timer = setTimeout(() => reject(new EmbedError('connection-failed', 'cannot reach the callwire server', true)), CONNECT_TIMEOUT_MS)),
        ),
      ]);
    } catch (err) {
      signaling.close();
      const e =
        err instanceof SignalingError && err.code === 'unauthorized'
          ? new EmbedError('unauthorized', err.message, true)
          : toEmbedError(err, 'connection-failed', true);
      this.#message('Cannot connect', e.message);
      throw e;
    } finally {
      clearTimeout(timer);
    }
    this.#signaling = signaling;
    return signaling;
  }

  async #leave(reason: LeaveReason): Promise<void> {
    const room = this.#room;
    if (!room || room.state === 'left') return;
    if (this.#reporter) this.#reporter.leaveReason = reason;
    this.#room = null; // ours to end: the state listener above stays quiet
    await room.leave();
    this.#endCall();
    this.#showJoin('You left the call', '', 'Rejoin');
  }

  #endCall(): void {
    this.#reporter?.close();
    this.#reporter = null;
    this.#room?.close();
    this.#room = null;
    this.#view?.close();
    this.#view = null;
    this.#media?.close();
    this.#media = null;
  }

  // ---- screens -------------------------------------------------------------------------------

  #showJoin(title: string, text = '', label = 'Join'): void {
    this.#message(title, text, h('button', { onclick: () => void this.#join().catch((err: unknown) => this.#report(err)) }, label));
  }

  #message(title: string, text: string, action?: HTMLElement): void {
    replaceChildren(
      this.root,
      h(
        'section',
        { class: 'message', 'data-testid': 'embed-message' },
        h('h1', {}, title),
        text ? h('p', {}, text) : null,
        action ? h('div', { class: 'row' }, action) : null,
      ),
    );
  }

  #report(err: unknown): void {
    this.#channel?.event('error', toEmbedError(err, 'join-failed').toJSON());
  }
}

const PASSED_THROUGH: Partial<Record<string, EmbedErrorCode>> = {
  'room-full': 'room-full',
  unauthorized: 'unauthorized',
  'video-not-allowed': 'video-not-allowed',
  forbidden: 'not-admitted',
};

function toEmbedError(err: unknown, fallback: EmbedErrorCode, fatal = false): EmbedError {
  if (err instanceof EmbedError) return err;
  if (err instanceof SignalingError) return new EmbedError(PASSED_THROUGH[err.code] ?? fallback, err.message, fatal);
  return new EmbedError(fallback, err instanceof Error ? err.message : String(err), fatal);
}
