/**
 * The in-call screen. It binds to the Room model (participants, their streams and state) and
 * never to RTCPeerConnections directly; the stats panel reads each participant's link.
 */
import { SignalingError } from '@protocol';
import type { Room } from '../model/Room.ts';
import type { LocalMedia } from '../rtc/LocalMedia.ts';
import type { RemoteParticipant } from '../model/RemoteParticipant.ts';
import type { ConnectionHealth } from '../model/NetworkQuality.ts';
import { StatsSampler, type LinkStats } from '../rtc/stats.ts';
import { h, initials, replaceChildren, toast } from './dom.ts';
import { verifiedHandle } from './verifiedHandle.ts';

export interface CallViewOptions {
  /** Shown at the top: the room link or the person called. */
  title: string;
  /** A link to share (call-link rooms). */
  shareUrl?: string;
  onHangUp: () => void;
  /** Which controls to show (the embed widget lets the host page choose). Default: all. */
  controls?: ReadonlySet<CallControl>;
}

export type CallControl = 'microphone' | 'camera' | 'devices' | 'stats' | 'hangup';

/** Words for NetworkQuality's 0–5 score. */
const SIGNAL_LEVELS = ['lost', 'bad', 'poor', 'fair', 'good', 'excellent'] as const;

export class CallView {
  readonly el: HTMLElement;
  readonly #stage = h('main', { class: 'stage', 'aria-label': 'Participants' });
  readonly #status = h('p', { class: 'status', 'data-testid': 'call-status', role: 'status', 'aria-live': 'polite' });
  readonly #banner = h('div', { class: 'banner', role: 'alert', hidden: true });
  /** "Your connection is poor", with the likely cause, while our own link is bad. */
  readonly #poor = h('div', { class: 'poor-connection', role: 'status', 'aria-live': 'polite', 'data-testid': 'poor-connection', hidden: true });
  /** Hosts: people waiting to be let in. */
  readonly #lobby = h('section', { class: 'lobby', 'aria-label': 'Waiting to join', 'data-testid': 'lobby', hidden: true });
  readonly #locked = h('span', { class: 'badge locked', 'data-testid': 'locked-badge', hidden: true }, 'Locked');
  /** End-to-end encryption: on or off; opens the safety code. */
  readonly #encryption = h('button', { class: 'badge encryption', 'data-testid': 'encryption', onclick: () => void this.#showSafetyCode() });
  readonly #stats = h('aside', { class: 'stats', 'aria-label': 'Call statistics', hidden: true, 'data-testid': 'stats' });
  readonly #controls = h('footer', { class: 'controls' });
  readonly #localVideo = h('video', { autoplay: true, playsinline: true, muted: true, class: 'self-view', 'aria-label': 'Your camera' });
  readonly #tiles = new Map<string, { el: HTMLElement; update: () => void; signal: (score: number) => void; audio: HTMLAudioElement }>();
  /** The speaker chosen in Devices (null: the system's default output). */
  #speakerId: string | null = null;
  readonly #samplers = new Map<string, StatsSampler>();
  readonly #resizers = new Map<string, ResizeObserver>();
  #statusOverride: string | null = null;
  #statsTimer: ReturnType<typeof setInterval> | null = null;
  #off: (() => void)[] = [];

  constructor(
    private readonly room: Room<LocalMedia>,
    private readonly options: CallViewOptions,
  ) {
    const share = options.shareUrl
      ? h(
          'div',
          { class: 'share' },
          h('input', { value: options.shareUrl, readonly: true, 'aria-label': 'Call link', 'data-testid': 'call-link' }),
          h(
            'button',
            { class: 'secondary', onclick: () => void navigator.clipboard?.writeText(options.shareUrl!).then(() => toast('Link copied')) },
            'Copy link',
          ),
        )
      : null;
    this.el = h(
      'section',
      { class: 'call', 'data-testid': 'call-view' },
      h('header', { class: 'call-header' }, h('h1', {}, options.title), this.#locked, this.#encryption, this.#status, share),
      this.#poor,
      this.#stage,
      h('div', { class: 'self' }, this.#localVideo),
      this.#lobby,
      this.#banner,
      this.#stats,
      this.#controls,
    );
    this.#localVideo.muted = true;

    const r = room;
    this.#off.push(
      r.on('participantJoined', (p) => this.#addTile(p)),
      r.on('participantLeft', (p) => this.#removeTile(p.id)),
      r.on('participantUpdated', (p) => this.#tiles.get(p.id)?.update()),
      r.on('roomUpdated', () => this.#renderControls()),
      r.on('encryptionChanged', () => this.#renderEncryption()),
      r.on('localUpdated', () => {
        this.#renderControls();
        // Becoming host (a rejoin) shows the host actions on every tile.
        for (const t of this.#tiles.values()) t.update();
      }),
      r.on('lobby', () => this.#renderLobby()),
      r.on('muteRequested', (from) => {
        if (this.room.media.audioMuted) return;
        this.#showBanner(`${from?.info.name ?? 'The host'} asks you to mute your microphone`, [
          ['Mute', () => void this.room.setAudioMuted(true).catch((e) => toast(String(e)))],
          ['Keep talking', () => {}],
        ]);
      }),
      r.on('state', () => (this.#renderStatus(), this.#renderEncryption())),
      r.on('error', (e) => toast(e.message)),
      r.on('activeSpeaker', (id) => {
        for (const [pid, tile] of this.#tiles) tile.el.classList.toggle('speaking', pid === id);
        this.#localVideo.parentElement?.classList.toggle('speaking', id !== null && id === this.room.self?.id);
      }),
      r.on('videoRequested', ({ requestId, from }) => this.#askVideo(requestId, from?.info.name ?? 'Someone')),
      ...(r.quality
        ? [
            r.quality.on('health', (health) => this.#renderHealth(health)),
            r.quality.on('changed', ({ participant, score }) => this.#tiles.get(participant.id)?.signal(score)),
          ]
        : []),
      r.on('videoResponded', ({ accept, from }) => {
        const who = from?.info.name ?? 'The other side';
        toast(accept ? `${who} switched to video` : `${who} declined video`);
      }),
    );
    const onMedia = () => {
      this.#localVideo.srcObject = room.media.video ? room.media.stream : null;
      this.#renderControls();
    };
    room.media.on('changed', onMedia);
    this.#off.push(() => room.media.off('changed', onMedia));
    onMedia();
    for (const p of room.participants.values()) this.#addTile(p);
    this.#renderStatus();
    this.#renderEncryption();
  }

  #renderEncryption(): void {
    const on = this.room.encrypted;
    this.#encryption.textContent = on ? '🔒 Encrypted' : 'Not encrypted';
    this.#encryption.classList.toggle('off', !on);
    this.#encryption.setAttribute('aria-label', on ? 'End-to-end encrypted: show the safety code' : 'This call is not end-to-end encrypted');
    this.#encryption.hidden = this.room.state !== 'joined';
    // The open dialog follows: someone joined or left, so the code changed.
    const open = this.el.querySelector<HTMLElement>('[data-testid=safety-code]');
    if (open) void this.room.safetyCode().then((code) => (open.textContent = code ?? '—'));
  }

  /** The call's safety code: the same on every device in the call, unless a key was swapped. */
  async #showSafetyCode(): Promise<void> {
    const code = await this.room.safetyCode();
    const dialog = h(
      'dialog',
      { class: 'safety', 'aria-label': 'Safety code' },
      h('h2', {}, code ? 'This call is end-to-end encrypted' : 'This call is not end-to-end encrypted'),
      code
        ? h(
            'p',
            {},
            'Media is encrypted on each device; the server relays it without being able to see or hear it. Compare this code with everyone in the call (read it aloud): if it is the same on every device, nobody is listening in.',
          )
        : h('p', {}, 'Someone in this call uses a browser that cannot encrypt calls, or the server has end-to-end encryption turned off.'),
      h('pre', { class: 'code', 'data-testid': 'safety-code' }, code ?? '—'),
      h('button', { onclick: () => dialog.close() }, 'Done'),
    );
    dialog.addEventListener('close', () => dialog.remove());
    this.el.append(dialog);
    dialog.showModal();
  }

  /** Overrides the status line (e.g. "Ringing…" while a 1:1 call is unanswered); null restores it. */
  setStatus(text: string | null): void {
    this.#statusOverride = text;
    this.#renderStatus();
  }

  close(): void {
    for (const off of this.#off.splice(0)) off();
    for (const r of this.#resizers.values()) r.disconnect();
    if (this.#statsTimer) clearInterval(this.#statsTimer);
    this.el.remove();
  }

  #renderStatus(): void {
    const remotes = [...this.room.participants.values()];
    let text: string;
    if (this.#statusOverride) text = this.#statusOverride;
    else if (this.room.state === 'joining') text = 'Joining…';
    else if (this.room.state === 'waiting') text = 'This call is locked — waiting for the host to let you in…';
    else if (this.room.state === 'reconnecting') text = 'Reconnecting…';
    else if (remotes.length === 0) text = this.options.shareUrl ? 'Waiting for others — share the link' : 'Waiting for the other side…';
    else if (remotes.some((p) => p.connection === 'connected')) text = 'Connected';
    else if (remotes.some((p) => p.connection === 'failed' || p.connection === 'disconnected')) text = 'Connection lost — retrying…';
    else text = 'Connecting…';
    this.#status.textContent = text;
    this.el.dataset['state'] = text;
  }

  #renderControls(): void {
    const room = this.room;
    const media = room.media;
    const voiceCall = room.info?.media === 'audio';
    const camOn = media.video !== null;
    const button = (label: string, onClick: () => unknown, cls = '', pressed?: boolean) =>
      h(
        'button',
        {
          class: cls,
          'aria-pressed': pressed === undefined ? null : String(pressed),
          onclick: () => {
            void Promise.resolve()
              .then(onClick)
              .catch((e: unknown) => toast(e instanceof SignalingError ? e.message : String(e)));
          },
        },
        label,
      );
    const shown = (c: CallControl) => this.options.controls?.has(c) ?? true;
    replaceChildren(
      this.#controls,
      shown('microphone') &&
        button(media.audioMuted ? 'Unmute' : 'Mute', () => room.setAudioMuted(!media.audioMuted), media.audioMuted ? 'off' : '', media.audioMuted),
      shown('camera') &&
        (voiceCall
          ? button('Switch to video', async () => {
              await room.requestVideo();
              toast('Asked to switch to video…');
            })
          : button(camOn ? 'Camera off' : 'Camera on', () => room.setVideoEnabled(!camOn), camOn ? '' : 'off', !camOn)),
      shown('devices') && button('Devices', () => this.#showDevices()),
      shown('stats') && button('Stats', () => this.#toggleStats(), '', !this.#stats.hidden),
      room.isHost &&
        button(
          room.info?.locked ? 'Unlock call' : 'Lock call',
          () => room.setLocked(!room.info?.locked),
          room.info?.locked ? 'off' : '',
          room.info?.locked === true,
        ),
      shown('hangup') && button('Hang up', () => this.options.onHangUp(), 'danger'),
    );
    this.#controls.hidden = this.options.controls?.size === 0 && !room.isHost;
    this.el.dataset['media'] = room.info?.media ?? '';
    this.#locked.hidden = room.info?.locked !== true;
  }

  #addTile(p: RemoteParticipant): void {
    if (this.#tiles.has(p.id)) return;
    const video = h('video', { autoplay: true, playsinline: true, muted: true, 'data-testid': 'remote-video' });
    const audio = h('audio', { autoplay: true, 'data-testid': 'remote-audio' });
    video.muted = true;
    video.srcObject = p.stream;
    audio.srcObject = p.stream;
    if (this.#speakerId) void playOn(audio, this.#speakerId).catch(() => {});
    const name = h('span', { class: 'name' });
    const mic = h('span', { class: 'badge', 'data-testid': 'remote-muted', hidden: true }, 'Muted');
    const conn = h('span', { class: 'badge conn' });
    const bars = h('span', { class: 'signal', 'data-testid': 'signal', role: 'img', hidden: true }, h('i'), h('i'), h('i'), h('i'));
    const signal = (score: number) => {
      const level = SIGNAL_LEVELS[Math.max(0, Math.min(5, score))]!;
      bars.hidden = false;
      bars.dataset['score'] = String(score);
      bars.dataset['level'] = level;
      bars.setAttribute('aria-label', `Connection to ${p.info.name}: ${level}`);
      bars.title = `Connection: ${level}`;
    };
    const avatar = h('div', { class: 'avatar' });
    const hostActions = h('div', { class: 'host-actions' });
    const el = h(
      'div',
      { class: 'tile', 'data-testid': 'remote-tile' },
      video,
      audio,
      avatar,
      h('div', { class: 'label' }, bars, name, mic, conn),
      hostActions,
    );
    const update = () => {
      name.textContent = p.info.name;
      avatar.textContent = initials(p.info.name);
      mic.hidden = !p.info.audioMuted;
      el.dataset['muted'] = String(p.info.audioMuted);
      const showVideo = p.info.videoEnabled && p.stream.getVideoTracks().length > 0;
      el.classList.toggle('no-video', !showVideo);
      conn.textContent = p.connection === 'connected' ? '' : p.connection;
      const act = (label: string, aria: string, fn: () => Promise<void>) =>
        h(
          'button',
          {
            class: 'secondary small',
            'aria-label': aria,
            onclick: () => void fn().catch((e: unknown) => toast(e instanceof SignalingError ? e.message : String(e))),
          },
          label,
        );
      replaceChildren(
        hostActions,
        this.room.isHost &&
          !p.info.host &&
          !p.info.audioMuted &&
          act('Ask to mute', `Ask ${p.info.name} to mute`, async () => {
            await this.room.requestMute(p.id);
            toast(`Asked ${p.info.name} to mute`);
          }),
        this.room.isHost && !p.info.host && act('Remove', `Remove ${p.info.name}`, () => this.room.remove(p.id)),
      );
      this.#renderStatus();
    };
    const playAudio = () =>
      audio.play().catch(() => {
        this.#showBanner('Sound is blocked by the browser.', [['Play sound', () => void audio.play()]]);
      });
    p.on('updated', update);
    p.on('media', () => {
      update();
      void playAudio();
    });
    p.on('connection', update);
    update();
    // Group calls: receive the simulcast layer that fits the tile, not more.
    const resize = new ResizeObserver(() => this.room.setPreferredVideoSize(p.id, video.clientHeight * devicePixelRatio));
    resize.observe(video);
    this.#resizers.set(p.id, resize);
    this.#tiles.set(p.id, { el, update, signal, audio });
    const known = this.room.quality?.scores.get(p.id);
    if (known !== undefined) signal(known);
    this.#stage.classList.toggle('many', this.#tiles.size > 4);
    this.#stage.append(el);
  }

  #removeTile(id: string): void {
    this.#tiles.get(id)?.el.remove();
    this.#tiles.delete(id);
    this.#resizers.get(id)?.disconnect();
    this.#resizers.delete(id);
    this.#stage.classList.toggle('many', this.#tiles.size > 4);
    this.#samplers.delete(id);
    this.#renderStatus();
  }

  #renderHealth(health: ConnectionHealth): void {
    this.#poor.hidden = !health.poor;
    this.#poor.dataset['cause'] = health.cause ?? '';
    if (!health.poor) return;
    const why =
      health.cause === 'loss'
        ? `${Math.round(health.loss * 100)} % of packets are being lost`
        : health.cause === 'bandwidth'
          ? `too little bandwidth (${Math.round(health.availableKbps ?? 0)} kbit/s)`
          : `a long delay (${Math.round(health.rttMs ?? 0)} ms round trip)`;
    this.#poor.textContent = `Your connection is poor: ${why}. The call continues at lower quality.`;
  }

  #renderLobby(): void {
    const waiting = this.room.lobby;
    replaceChildren(
      this.#lobby,
      h('h2', {}, waiting.length === 1 ? 'Someone wants to join' : `${waiting.length} people want to join`),
      ...waiting.map((e) =>
        h(
          'div',
          { class: 'lobby-entry', 'data-testid': 'lobby-entry' },
          h('span', { class: 'name' }, e.name),
          verifiedHandle(e.handle),
          h('button', { 'aria-label': `Admit ${e.name}`, onclick: () => void this.room.admit(e.id, true).catch((err) => toast(String(err))) }, 'Admit'),
          h(
            'button',
            { class: 'secondary', 'aria-label': `Deny ${e.name}`, onclick: () => void this.room.admit(e.id, false).catch((err) => toast(String(err))) },
            'Deny',
          ),
        ),
      ),
    );
    this.#lobby.hidden = waiting.length === 0;
  }

  #askVideo(requestId: string, who: string): void {
    this.#showBanner(`${who} wants to switch to video`, [
      ['Accept video', () => void this.room.respondVideo(requestId, true).catch((e) => toast(String(e)))],
      ['Not now', () => void this.room.respondVideo(requestId, false).catch(() => {})],
    ]);
  }

  #showBanner(text: string, actions: [string, () => void][]): void {
    replaceChildren(
      this.#banner,
      h('span', {}, text),
      ...actions.map(([label, fn]) =>
        h(
          'button',
          {
            onclick: () => {
              this.#banner.hidden = true;
              fn();
            },
          },
          label,
        ),
      ),
    );
    this.#banner.hidden = false;
  }

  /** Plays every remote person (now and later) on this output. */
  async #chooseSpeaker(deviceId: string): Promise<void> {
    this.#speakerId = deviceId;
    const results = await Promise.allSettled([...this.#tiles.values()].map((t) => playOn(t.audio, deviceId)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) toast(`Could not switch the speaker: ${String(failed.reason)}`);
  }

  async #showDevices(): Promise<void> {
    const media = this.room.media;
    const { audio, video, speakers } = await media.devices();
    /** One labelled list of devices; `choose` gets the picked device id. */
    const select = (name: string, list: MediaDeviceInfo[], current: string | undefined, choose: (deviceId: string) => Promise<void>) =>
      h(
        'label',
        {},
        `${name} `,
        h(
          'select',
          {
            'aria-label': name,
            onchange: (e: Event) => void choose((e.target as HTMLSelectElement).value).catch((err: unknown) => toast(String(err))),
          },
          ...list.map((d, i) => h('option', { value: d.deviceId, selected: d.deviceId === current }, d.label || `${name} ${i + 1}`)),
        ),
      );
    const dialog = h(
      'dialog',
      { class: 'devices' },
      h('h2', {}, 'Devices'),
      select('Microphone', audio, media.audio?.getSettings().deviceId, (id) => media.switchDevice('audio', id)),
      select('Camera', video, media.video?.getSettings().deviceId, (id) => media.switchDevice('video', id)),
      // Only where the browser can route audio to a chosen output (setSinkId) and names its outputs;
      // elsewhere calls play on the system's default output, and no choice is offered.
      canChooseSpeaker() && speakers.length > 0 ? select('Speaker', speakers, this.#speakerId ?? 'default', (id) => this.#chooseSpeaker(id)) : null,
      h('button', { onclick: () => dialog.close() }, 'Done'),
    );
    dialog.addEventListener('close', () => dialog.remove());
    this.el.append(dialog);
    dialog.showModal();
  }

  #toggleStats(): void {
    this.#stats.hidden = !this.#stats.hidden;
    if (this.#stats.hidden) {
      if (this.#statsTimer) clearInterval(this.#statsTimer);
      this.#statsTimer = null;
    } else {
      void this.#renderStats();
      this.#statsTimer = setInterval(() => void this.#renderStats(), 1_000);
    }
    this.#renderControls();
  }

  async #renderStats(): Promise<void> {
    const rows: HTMLElement[] = [];
    for (const p of this.room.participants.values()) {
      if (!p.statsSource) continue;
      let sampler = this.#samplers.get(p.id);
      if (!sampler) this.#samplers.set(p.id, (sampler = new StatsSampler()));
      const s = await sampler.sample(p.statsSource);
      rows.push(statsTable(p.info.name, s));
    }
    replaceChildren(this.#stats, h('h2', {}, 'Stats'), ...(rows.length ? rows : [h('p', {}, 'No one connected yet.')]));
  }
}

function statsTable(name: string, s: LinkStats): HTMLElement {
  const kbps = (n: number) => `${Math.round(n)} kbps`;
  const pct = (n: number) => `${(n * 100).toFixed(1)} %`;
  const codec = (c: string | null) => c?.replace(/^(audio|video)\//, '') ?? '—';
  const row = (k: string, v: string) => h('tr', {}, h('th', {}, k), h('td', {}, v));
  return h(
    'table',
    { 'data-testid': 'stats-table' },
    h('caption', {}, name),
    row('Audio', `${codec(s.audio.out.codec)} ↑ ${kbps(s.audio.out.kbps)} · ↓ ${kbps(s.audio.in.kbps)}`),
    row('Video', `${codec(s.video.out.codec)} ↑ ${kbps(s.video.out.kbps)} · ↓ ${kbps(s.video.in.kbps)}`),
    row('Received video', s.video.width ? `${s.video.width}×${s.video.height} @ ${Math.round(s.video.fps ?? 0)} fps` : '—'),
    row('Round trip', s.rttMs === null ? '—' : `${Math.round(s.rttMs)} ms`),
    row('Packet loss', `audio ${pct(s.audio.in.loss)} · video ${pct(s.video.in.loss)}`),
    row('Path', s.path.local ? `${s.path.local} → ${s.path.remote} (${s.path.relayProtocol ?? s.path.protocol})` : '—'),
  );
}

/** Whether this browser can play a media element on a chosen output (`setSinkId`: Chromium, Firefox 116+). */
function canChooseSpeaker(): boolean {
  return typeof (HTMLMediaElement.prototype as { setSinkId?: unknown }).setSinkId === 'function';
}

function playOn(el: HTMLMediaElement, deviceId: string): Promise<void> {
  return (el as HTMLMediaElement & { setSinkId(id: string): Promise<void> }).setSinkId(deviceId);
}
