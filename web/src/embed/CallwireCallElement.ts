/**
 * `<callwire-call room="…" name="…" video="false"></callwire-call>`: the widget as an HTML
 * element. Attributes are read when the element is connected; its `handle` is the same
 * CallwireHandle mount() returns, and events arrive as `callwire-<name>` DOM events on it.
 */
import { CallwireHandle } from './CallwireHandle.ts';

/** attribute → option. Booleans: "true"/"false", or present without a value for true. */
const BOOLEAN_ATTRS: Record<string, string> = { 'audio-muted': 'audioMuted', 'video-muted': 'videoMuted', 'voice-only': 'voiceOnly', 'auto-join': 'autoJoin' };
const STRING_ATTRS: Record<string, string> = { room: 'room', name: 'name', token: 'token', theme: 'theme', width: 'width', height: 'height', server: 'server' };

export function defineCallwireElement(defaultServer: string | null): void {
  if (customElements.get('callwire-call')) return;
  customElements.define(
    'callwire-call',
    class CallwireCallElement extends HTMLElement {
      handle: CallwireHandle | null = null;

      connectedCallback(): void {
        if (this.handle) return;
        this.style.display ||= 'block';
        this.handle = new CallwireHandle(this, optionsFrom(this), defaultServer);
      }

      disconnectedCallback(): void {
        const handle = this.handle;
        this.handle = null;
        void handle?.destroy();
      }
    },
  );
}

/** Reads options from attributes; values are checked by the same validation as mount(). */
function optionsFrom(el: HTMLElement): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [attr, key] of Object.entries(STRING_ATTRS)) {
    const v = el.getAttribute(attr);
    if (v !== null) o[key] = v;
  }
  for (const [attr, key] of Object.entries(BOOLEAN_ATTRS)) {
    const v = el.getAttribute(attr);
    if (v !== null) o[key] = bool(v);
  }
  // Shorthands people expect: audio="false" = start muted, video="false" = camera off.
  const audio = el.getAttribute('audio');
  if (audio !== null) o['audioMuted'] = negate(bool(audio));
  const video = el.getAttribute('video');
  if (video !== null) o['videoMuted'] = negate(bool(video));
  const controls = el.getAttribute('controls');
  if (controls !== null)
    o['controls'] = controls
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean);
  return o;
}

/** "true"/""/"false"; anything else is passed through so validation names it. */
function bool(v: string): unknown {
  return v === '' || v === 'true' ? true : v === 'false' ? false : v;
}

function negate(v: unknown): unknown {
  return typeof v === 'boolean' ? !v : v;
}
