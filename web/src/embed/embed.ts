/**
 * embed.js — the script a host page includes: `<script src="https://<callwire-host>/embed.js">`.
 * Defines `window.Callwire` (`mount`, `version`) and the `<callwire-call>` element. It loads
 * nothing else until mount(); the call itself runs in an iframe served by callwire.
 * Built separately (web/vite.embed.config.ts) into web/dist/embed.js with a gzipped size budget.
 */
import { CallwireHandle } from './CallwireHandle.ts';
import { defineCallwireElement } from './CallwireCallElement.ts';
import type { EmbedOptions } from './contract.ts';

export interface CallwireGlobal {
  version: string;
  mount(element: HTMLElement, options: EmbedOptions): CallwireHandle;
}

// The script's own origin is the default callwire server (currentScript only exists right now).
const script = document.currentScript as HTMLScriptElement | null;
const defaultServer = script?.src ? new URL(script.src).origin : null;

const Callwire: CallwireGlobal = {
  version: '1',
  mount(element, options) {
    if (!(element instanceof HTMLElement)) throw new TypeError('Callwire.mount(element, options): element must be an HTML element');
    return new CallwireHandle(element, options, defaultServer);
  },
};

const w = window as unknown as { Callwire?: CallwireGlobal };
w.Callwire ??= Callwire;
defineCallwireElement(defaultServer);
