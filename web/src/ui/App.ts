/**
 * The app controller: picks the view for the URL, owns the one signaling connection, and wires
 * the Phone (calls by handle) and Room (media) models to the views.
 *
 * URLs: `/` home · `/call/:room` call link (`?name=` joins at once, `?video=0` voice only,
 * `?relay=1` relay-only ICE (`relay=udp|tcp|tls`: through that TURN transport only), `?res=320x240`
 * camera size, `?red=off` plain Opus without redundancy (benchmarks), `?token=` for servers that require JWT).
 */
import { SignalingError, type CallEndReason } from '@protocol';
import { Phone, type IncomingCall } from '../model/Phone.ts';
import { Room } from '../model/Room.ts';
import { DEFAULT_VIDEO, LocalMedia, type VideoQuality } from '../rtc/LocalMedia.ts';
import { loadHostSecret, saveHostSecret } from '../signaling/hostSecrets.ts';
import { createIdentity, loadIdentity, saveIdentity, suggestHandle, type GuestIdentity } from '../signaling/identity.ts';
import { SignalingClient } from '../signaling/SignalingClient.ts';
import { CallView } from './CallView.ts';
import { verifiedHandle } from './verifiedHandle.ts';
import { h, replaceChildren, toast } from './dom.ts';
import { HomeView, rememberRecent } from './HomeView.ts';
import { Ringtone } from './Ringtone.ts';
import { browserMediaPaths } from '../rtc/browserMediaPaths.ts';
import { callE2ee, e2eeSupported, E2EE_UNSUPPORTED, warmUpE2ee } from '../e2ee/browserE2ee.ts';
import { installTestHook } from '../testHook.ts';

const END_TEXT: Record<CallEndReason, string> = {
  declined: 'Call declined',
  busy: 'Busy — on another call',
  cancelled: 'Call cancelled',
  'no-answer': 'No answer',
  'answered-elsewhere': 'Answered on another device',
  'declined-elsewhere': 'Declined on another device',
  hangup: 'Call ended',
};

interface View {
  el: HTMLElement;
  close(): void;
}

export class App {
  readonly #params = new URLSearchParams(location.search);
  readonly #ringtone = new Ringtone();
  #signaling: SignalingClient | null = null;
  #phone: Phone | null = null;
  #identity: GuestIdentity | null = null;
  #view: View | null = null;
  #room: Room<LocalMedia> | null = null;
  #media: LocalMedia | null = null;
  #dialog: HTMLElement | null = null;
  /** Chosen on the pre-join screen: media only through the relay, so the other side never learns our IP. */
  #relayOnly = false;

  constructor(private readonly root: HTMLElement) {
    installTestHook(() => this.#room);
    warmUpE2ee();
  }

  async start(): Promise<void> {
    const roomId = /^\/call\/([^/]+)$/.exec(location.pathname)?.[1] ?? null;
    const token = this.#params.get('token');
    const nameParam = this.#params.get('name')?.trim() || null;

    if (!token) {
      this.#identity = loadIdentity();
      if (!this.#identity && nameParam) this.#identity = this.#saveNewIdentity(nameParam);
      if (!this.#identity) this.#identity = await this.#askIdentity(roomId !== null);
    }
    this.#signaling = new SignalingClient(token ? { token } : { guest: this.#identity! });
    try {
      await this.#signaling.ready();
    } catch (err) {
      this.#showMessage('Cannot connect', err instanceof SignalingError ? err.message : String(err), [['Retry', () => location.reload()]]);
      return;
    }
    this.#phone = new Phone(this.#signaling);
    this.#bindPhone(this.#phone);
    window.addEventListener('online', () => this.#room?.restartIce());

    if (roomId) {
      const video = this.#params.get('video') !== '0';
      if (nameParam) await this.#joinLink(roomId, { name: nameParam, video });
      else await this.#preJoin(roomId, video);
    } else {
      this.#showHome();
    }
  }

  // ---- views -----------------------------------------------------------------------------

  #show(view: View | HTMLElement): void {
    this.#view?.close();
    this.#view = view instanceof HTMLElement ? { el: view, close: () => view.remove() } : view;
    replaceChildren(this.root, this.#view.el);
  }

  #showHome(): void {
    if (location.pathname !== '/') history.pushState(null, '', '/');
    const me = this.#signaling!.session!.user;
    this.#show(
      new HomeView(me, this.#phone!, {
        newCall: (video) => void this.#newCall(video),
        call: (handle, video) => void this.#callHandle(handle, video),
        rename: () => {
          localStorage.removeItem('callwire.identity');
          location.reload();
        },
      }),
    );
  }

  #showMessage(title: string, text: string, actions: [string, () => void][] = [['Back to home', () => this.#showHome()]]): void {
    this.#show(
      h(
        'section',
        { class: 'message', 'data-testid': 'call-ended' },
        h('h1', {}, title),
        h('p', { 'data-testid': 'end-reason' }, text),
        h('div', { class: 'row' }, ...actions.map(([label, fn]) => h('button', { onclick: fn }, label))),
      ),
    );
  }

  #askIdentity(forCall: boolean): Promise<GuestIdentity> {
    return new Promise((resolve) => {
      const name = h('input', { name: 'name', placeholder: 'Your name', 'aria-label': 'Your name', required: true, maxlength: 64, autocomplete: 'name' });
      const form = h(
        'form',
        {
          class: 'card',
          onsubmit: (e: Event) => {
            e.preventDefault();
            if (!name.value.trim()) return;
            resolve(this.#saveNewIdentity(name.value));
          },
        },
        h('h1', {}, 'callwire'),
        h('p', {}, forCall ? 'Enter your name to join the call.' : 'Enter your name to start. People can call you by the handle you get.'),
        name,
        h('button', { type: 'submit' }, 'Continue'),
      );
      this.#show(h('section', { class: 'onboarding' }, form));
      name.focus();
    });
  }

  #saveNewIdentity(name: string): GuestIdentity {
    const id = createIdentity(name.slice(0, 64), suggestHandle(name));
    saveIdentity(id);
    return id;
  }

  async #preJoin(roomId: string, video: boolean): Promise<void> {
    const media = this.#newMedia();
    await media.start(video);
    const preview = h('video', { autoplay: true, playsinline: true, muted: true, class: 'preview' });
    preview.muted = true;
    preview.srcObject = media.video ? media.stream : null;
    const name = h('input', { name: 'name', value: this.#signaling!.session!.user.name, 'aria-label': 'Your name', maxlength: 64 });
    const relayOnly = h('input', { type: 'checkbox', name: 'relay' });
    const join = (withVideo: boolean) => {
      this.#relayOnly = relayOnly.checked;
      void (async () => {
        if (!withVideo) await media.setVideoEnabled(false);
        await this.#joinLink(roomId, { name: name.value.trim() || undefined, video: withVideo, media });
      })();
    };
    this.#show(
      h(
        'section',
        { class: 'prejoin card' },
        h('h1', {}, 'Ready to join?'),
        preview,
        media.lastError ? h('p', { class: 'warn' }, media.lastError) : null,
        name,
        h('label', { class: 'hint' }, relayOnly, ' Hide my IP address (relay only)'),
        h('p', { class: 'hint' }, 'Trouble joining? ', h('a', { href: '/connectivity', target: '_blank' }, 'Test your connection')),
        h(
          'div',
          { class: 'row' },
          h('button', { onclick: () => join(media.video !== null) }, 'Join'),
          h('button', { class: 'secondary', onclick: () => join(false) }, 'Join without camera'),
        ),
      ),
    );
  }

  // ---- call links --------------------------------------------------------------------------

  async #newCall(video: boolean): Promise<void> {
    try {
      const { roomId, hostSecret } = await this.#signaling!.request('room.create', { video });
      saveHostSecret(roomId, hostSecret);
      history.pushState(null, '', `/call/${roomId}${video ? '' : '?video=0'}`);
      await this.#joinLink(roomId, { video });
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err));
    }
  }

  async #joinLink(roomId: string, opts: { name?: string; video: boolean; media?: LocalMedia }): Promise<void> {
    const media = opts.media ?? this.#newMedia();
    if (!opts.media) await media.start(opts.video);
    const room = await this.#newRoom(roomId, media, opts.name);
    const view = new CallView(room, {
      title: 'Call',
      shareUrl: `${location.origin}/call/${roomId}`,
      onHangUp: () => {
        void room.leave();
        this.#endCall();
        this.#showMessage('You left the call', '', [
          ['Rejoin', () => void this.#joinLink(roomId, { name: opts.name, video: opts.video })],
          ['Back to home', () => this.#showHome()],
        ]);
      },
    });
    room.on('removed', () => {
      this.#endCall();
      this.#showMessage('You were removed from the call', 'A host of this call removed you.', [['Back to home', () => this.#showHome()]]);
    });
    this.#show(view);
    try {
      await room.join();
      if (room.hostSecret) saveHostSecret(roomId, room.hostSecret);
    } catch (err) {
      if (this.#room !== room) return;
      this.#endCall();
      const code = err instanceof SignalingError ? err.code : 'internal';
      const title =
        code === 'room-full'
          ? 'This call is full'
          : code === 'forbidden'
            ? 'You were not let in'
            : code === 'room-locked'
              ? 'This call is locked'
              : code === 'e2ee-required'
                ? 'This call must be encrypted'
                : 'Could not join';
      this.#showMessage(title, err instanceof Error ? err.message : String(err));
    }
  }

  // ---- calls by handle ---------------------------------------------------------------------

  async #callHandle(handle: string, video: boolean): Promise<void> {
    if (this.#room) return toast('You are already in a call');
    rememberRecent(handle);
    const media = this.#newMedia();
    await media.start(video);
    let call;
    try {
      call = await this.#phone!.call(handle, video);
    } catch (err) {
      this.#endCall();
      const busy = err instanceof SignalingError && err.code === 'busy';
      this.#showMessage(busy ? END_TEXT.busy : 'Call failed', err instanceof Error ? err.message : String(err));
      return;
    }
    const room = await this.#newRoom(call.roomId, media);
    const view = new CallView(room, { title: `${video ? 'Video' : 'Voice'} call with ${handle}`, onHangUp: () => void this.#hangUp() });
    view.setStatus(call.state === 'ringing' ? 'Ringing…' : 'Calling…');
    this.#show(view);
    this.#ringtone.start('outgoing');
    const off = this.#phone!.on('outgoing', (c) => {
      if (c.callId !== call.callId) return;
      if (c.state === 'ringing') view.setStatus('Ringing…');
      if (c.state === 'accepted') {
        this.#ringtone.stop();
        view.setStatus(null);
      }
      if (c.state === 'ended') {
        off();
        this.#endCall();
        this.#showMessage(END_TEXT[c.reason ?? 'hangup'], `${handle}`);
      }
    });
    // Join right away: when the callee answers they find us there and connect in one round trip.
    await room.join().catch((err) => toast(String(err)));
  }

  async #accept(call: IncomingCall): Promise<void> {
    this.#closeDialog();
    if (this.#room) return;
    const media = this.#newMedia();
    // Ask for devices first: the server only connects us once we joined the room.
    const accepting = this.#phone!.accept(call.callId);
    await media.start(call.video);
    let roomId: string;
    try {
      roomId = await accepting;
    } catch (err) {
      this.#endCall();
      this.#showMessage('Call ended', err instanceof Error ? err.message : String(err));
      return;
    }
    rememberRecent(call.from.handle);
    const room = await this.#newRoom(roomId, media);
    this.#show(new CallView(room, { title: `${call.video ? 'Video' : 'Voice'} call with ${call.from.name}`, onHangUp: () => void this.#hangUp() }));
    await room.join().catch((err) => toast(String(err)));
  }

  async #hangUp(): Promise<void> {
    const how = await this.#phone!.hangUp();
    await this.#room?.leave();
    this.#endCall();
    this.#showMessage(how === 'cancelled' ? END_TEXT.cancelled : 'Call ended', 'You hung up');
  }

  #bindPhone(phone: Phone): void {
    phone.on('incoming', (call) => this.#showIncoming(call));
    phone.on('incomingEnded', ({ callId, reason }) => {
      if (this.#dialog?.dataset['callId'] !== callId) return;
      this.#closeDialog();
      if (reason === 'cancelled' || reason === 'no-answer') toast('Missed call');
    });
    phone.on('callEnded', ({ reason }) => {
      this.#endCall();
      this.#showMessage(END_TEXT[reason], 'The call is over');
    });
  }

  #showIncoming(call: IncomingCall): void {
    this.#closeDialog();
    this.#ringtone.start('incoming');
    this.#dialog = h(
      'div',
      { class: 'incoming', role: 'dialog', 'aria-label': 'Incoming call', 'data-call-id': call.callId },
      h('p', { class: 'who' }, call.from.name),
      // The name is whatever the caller typed; the handle is what the server verified.
      h('p', {}, `Incoming ${call.video ? 'video' : 'voice'} call · `, verifiedHandle(call.from.handle)),
      h(
        'div',
        { class: 'row' },
        h('button', { class: 'accept', onclick: () => void this.#accept(call) }, 'Accept'),
        h(
          'button',
          {
            class: 'danger',
            onclick: () => {
              this.#closeDialog();
              void this.#phone!.decline(call.callId);
            },
          },
          'Decline',
        ),
      ),
    );
    document.body.append(this.#dialog);
  }

  #closeDialog(): void {
    this.#ringtone.stop();
    this.#dialog?.remove();
    this.#dialog = null;
  }

  // ---- media and room lifetimes --------------------------------------------------------------

  #newMedia(): LocalMedia {
    this.#media?.close();
    this.#media = new LocalMedia(parseQuality(this.#params.get('res')));
    return this.#media;
  }

  /** A Room for this call, end-to-end encrypted where the browser can (else it joins without a key, and a server that requires encryption says so). */
  async #newRoom(roomId: string, media: LocalMedia, name?: string): Promise<Room<LocalMedia>> {
    this.#room?.close();
    const relay = this.#params.get('relay');
    const e2ee = await callE2ee();
    if (!e2eeSupported()) toast(E2EE_UNSUPPORTED);
    this.#room = new Room(
      this.#signaling!,
      roomId,
      media,
      {
        name,
        iceTransportPolicy: relay === '1' || this.#relayOnly ? 'relay' : 'all',
        relayTransport: relay === 'udp' || relay === 'tcp' || relay === 'tls' ? relay : undefined,
        hostSecret: loadHostSecret(roomId),
        ...(e2ee ? { identity: e2ee.identity } : {}),
      },
      browserMediaPaths(e2ee?.frames ?? null, { red: this.#params.get('red') !== 'off' }),
    );
    return this.#room;
  }

  #endCall(): void {
    this.#ringtone.stop();
    this.#room?.close();
    this.#room = null;
    this.#media?.close();
    this.#media = null;
  }
}

function parseQuality(res: string | null): VideoQuality {
  const m = /^(\d{2,4})x(\d{2,4})$/.exec(res ?? '');
  return m ? { ...DEFAULT_VIDEO, width: Number(m[1]), height: Number(m[2]) } : DEFAULT_VIDEO;
}
