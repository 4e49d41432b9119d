/**
 * The start page: who you are, start a call link, call someone by handle, missed calls and
 * the presence of people you called before.
 */
import { Handle, type MissedCall, type PresenceInfo } from '@protocol';
import type { Phone } from '../model/Phone.ts';
import { ago, h, replaceChildren } from './dom.ts';
import { verifiedHandle } from './verifiedHandle.ts';

export interface HomeActions {
  newCall: (video: boolean) => void;
  call: (handle: string, video: boolean) => void;
  rename: () => void;
}

const RECENTS_KEY = 'callwire.recents';

export function rememberRecent(handle: string): void {
  const list = loadRecents().filter((x) => x !== handle);
  list.unshift(handle);
  localStorage.setItem(RECENTS_KEY, JSON.stringify(list.slice(0, 20)));
}

function loadRecents(): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(RECENTS_KEY) ?? '[]') as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && Handle.safeParse(x).success) : [];
  } catch {
    return [];
  }
}

export class HomeView {
  readonly el: HTMLElement;
  readonly #missed = h('ul', { class: 'list', 'data-testid': 'missed-calls' });
  readonly #recents = h('ul', { class: 'list', 'data-testid': 'recents' });
  readonly #off: (() => void)[] = [];

  constructor(
    private readonly me: { handle: string; name: string },
    private readonly phone: Phone,
    private readonly actions: HomeActions,
  ) {
    const handleInput = h('input', {
      name: 'handle',
      placeholder: 'their handle, e.g. ada-k3f9',
      'aria-label': 'Handle to call',
      autocomplete: 'off',
      required: true,
      pattern: '[a-z0-9][a-z0-9._\\-]{1,31}',
    });
    const callForm = h(
      'form',
      { class: 'row', onsubmit: (e: Event) => e.preventDefault() },
      handleInput,
      h('button', { type: 'submit', onclick: () => this.#dial(handleInput, true) }, 'Video call'),
      h('button', { type: 'button', class: 'secondary', onclick: () => this.#dial(handleInput, false) }, 'Voice call'),
    );
    this.el = h(
      'section',
      { class: 'home' },
      h(
        'header',
        { class: 'me' },
        h('h1', {}, 'callwire'),
        h(
          'p',
          {},
          'You are ',
          h('strong', { 'data-testid': 'my-name' }, me.name),
          ' · your handle is ',
          h('code', { 'data-testid': 'my-handle' }, me.handle),
          ' ',
          h('button', { class: 'link', onclick: () => actions.rename() }, 'change'),
        ),
      ),
      h(
        'div',
        { class: 'card' },
        h('h2', {}, 'Start a call'),
        h('p', { class: 'hint' }, 'Get a link and send it to anyone.'),
        h(
          'div',
          { class: 'row' },
          h('button', { onclick: () => actions.newCall(true) }, 'New call'),
          h('button', { class: 'secondary', onclick: () => actions.newCall(false) }, 'New voice call'),
        ),
      ),
      h('div', { class: 'card' }, h('h2', {}, 'Call someone'), callForm),
      h('div', { class: 'card' }, h('h2', {}, 'Missed calls'), this.#missed),
      h('div', { class: 'card' }, h('h2', {}, 'Recent'), this.#recents),
      h('p', { class: 'hint' }, h('a', { href: '/connectivity' }, 'Test your connection')),
    );
    this.#off.push(
      phone.on('missedCalls', () => this.#renderMissed()),
      phone.on('presence', () => this.#renderRecents()),
    );
    this.#renderMissed();
    this.#renderRecents();
    const recents = loadRecents();
    if (recents.length > 0) void phone.watch(recents).catch(() => {});
  }

  close(): void {
    for (const off of this.#off.splice(0)) off();
    this.el.remove();
  }

  #dial(input: HTMLInputElement, video: boolean): void {
    const handle = input.value.trim().toLowerCase();
    if (!Handle.safeParse(handle).success) {
      input.setCustomValidity('A handle is 2–32 of a-z, 0-9, ".", "_" or "-"');
      input.reportValidity();
      return;
    }
    input.setCustomValidity('');
    this.actions.call(handle, video);
  }

  #renderMissed(): void {
    const items = this.phone.missedCalls.map((m: MissedCall) =>
      h(
        'li',
        { 'data-testid': 'missed-call' },
        h('span', {}, `${m.from.name} `, verifiedHandle(m.from.handle), ` · ${m.video ? 'video' : 'voice'} · ${ago(m.at)}`),
        h('button', { class: 'secondary', onclick: () => this.actions.call(m.from.handle, m.video) }, 'Call back'),
        h('button', { class: 'link', onclick: () => void this.phone.acknowledgeMissed([m.id]) }, 'Dismiss'),
      ),
    );
    replaceChildren(this.#missed, ...(items.length ? items : [h('li', { class: 'empty' }, 'No missed calls')]));
  }

  #renderRecents(): void {
    const items = loadRecents().map((handle) => {
      const p: PresenceInfo | undefined = this.phone.presence.get(handle);
      // Presence is shared only between contacts (people who have been in a call together): for
      // anyone else the server says nothing, and so do we.
      const status = !p ? null : p.online ? 'online' : p.lastSeen ? `last seen ${ago(p.lastSeen)}` : 'offline';
      return h(
        'li',
        {},
        h('span', { class: `dot ${p?.online ? 'on' : ''}` }),
        h('span', {}, `${p?.name ?? handle} (${handle})${status ? ` · ${status}` : ''}`),
        h('button', { class: 'secondary', onclick: () => this.actions.call(handle, true) }, 'Call'),
      );
    });
    replaceChildren(this.#recents, ...(items.length ? items : [h('li', { class: 'empty' }, 'People you call appear here')]));
  }
}
