/**
 * /connectivity: "will my calls work?" — runs BrowserChecks with live progress, a pass / warn /
 * fail verdict per check in plain words with what to do about it, a summary, a JSON report to
 * download and a text report to paste into a support ticket. Needs no sign-in: it connects with
 * a throwaway guest identity (or the page's `?token=`).
 */
import { h, replaceChildren } from '../ui/dom.ts';
import { BrowserChecks } from './BrowserChecks.ts';
import { CHECK_SCOPE, CHECK_TITLES, formatText, type CheckName, type CheckResult, type ConnectivityReport } from './checks.ts';
import { ConnectivityRunner } from './ConnectivityRunner.ts';

const PAGE_CHECKS = (Object.keys(CHECK_TITLES) as CheckName[]).filter((n) => CHECK_SCOPE[n].includes('page'));
const STATUS_TEXT = { pending: 'Waiting', running: 'Running', pass: 'Pass', warn: 'Warning', fail: 'Fail' } as const;

interface Row {
  el: HTMLElement;
  badge: HTMLElement;
  details: HTMLElement;
  advice: HTMLElement;
}

export class ConnectivityView {
  readonly el: HTMLElement;
  readonly #rows = new Map<CheckName, Row>();
  readonly #start: HTMLButtonElement;
  readonly #summary = h(
    'p',
    { class: 'summary', 'data-testid': 'connectivity-summary', role: 'status', 'aria-live': 'polite' },
    'Press Start to check your browser, devices and network against this server.',
  );
  readonly #actions = h('div', { class: 'row', hidden: true });
  readonly #text = h('textarea', { class: 'report', readonly: true, rows: 12, 'aria-label': 'Text report', 'data-testid': 'text-report' });
  #runner: ConnectivityRunner | null = null;
  #checks: BrowserChecks | null = null;
  #audio: AudioContext | null = null;
  #report: ConnectivityReport | null = null;

  constructor(private readonly params: URLSearchParams) {
    this.#start = h('button', { 'data-testid': 'start-test', onclick: () => void this.run() }, 'Start');
    const list = h('ol', { class: 'checks' });
    for (const name of PAGE_CHECKS) {
      const row: Row = {
        badge: h('span', { class: 'badge' }, STATUS_TEXT.pending),
        details: h('p', { class: 'details' }),
        advice: h('p', { class: 'advice' }),
        el: h('li', { 'data-testid': `check-${name}`, 'data-status': 'pending' }),
      };
      row.el.append(h('div', { class: 'head' }, row.badge, h('strong', {}, CHECK_TITLES[name])), row.details, row.advice);
      this.#rows.set(name, row);
      list.append(row.el);
    }
    this.#actions.append(
      h('button', { class: 'secondary', 'data-testid': 'download-report', onclick: () => this.#download() }, 'Download JSON report'),
      h('button', { class: 'secondary', 'data-testid': 'copy-report', onclick: () => void this.#copy() }, 'Copy text report'),
    );
    this.el = h(
      'section',
      { class: 'connectivity' },
      h('h1', {}, 'Connection test'),
      h(
        'p',
        { class: 'hint' },
        'Finds out whether calls will work from here, and if not, why: browser, camera and microphone, the connection to the server, relays, and media through the media server. It takes about half a minute; the browser will ask for your camera and microphone.',
      ),
      h('div', { class: 'row' }, this.#start, h('a', { href: '/', class: 'hint' }, 'Back to callwire')),
      this.#summary,
      list,
      this.#actions,
      this.#text,
    );
    this.#text.hidden = true;
  }

  async run(): Promise<ConnectivityReport | null> {
    if (this.#runner) return null;
    this.#start.disabled = true;
    this.#start.textContent = 'Testing…';
    this.#actions.hidden = true;
    this.#text.hidden = true;
    for (const [, row] of this.#rows) this.#set(row, 'pending', '', '');
    this.#summary.textContent = 'Testing…';
    delete this.#summary.dataset['verdict'];
    // Created inside the click, so the browser lets it make sound (it is never played out loud).
    this.#audio ??= new AudioContext();
    const seconds = Number(this.params.get('mediaSeconds') ?? 5);
    const checks = (this.#checks = new BrowserChecks({
      origin: location.origin,
      token: this.params.get('token'),
      audioContext: this.#audio,
      mediaSeconds: Number.isInteger(seconds) && seconds >= 1 && seconds <= 30 ? seconds : 5,
    }));
    const runner = (this.#runner = new ConnectivityRunner(checks.definitions(), { client: 'page', server: location.origin, userAgent: navigator.userAgent }));
    runner.on('start', (name) => this.#set(this.#rows.get(name)!, 'running', 'Starting…', ''));
    runner.on('progress', (name, text) => (this.#rows.get(name)!.details.textContent = `${text[0]!.toUpperCase()}${text.slice(1)}…`));
    runner.on('result', (r) => this.#show(r));
    try {
      const report = await runner.run();
      this.#report = report;
      this.#summary.textContent = report.summary;
      this.#summary.dataset['verdict'] = report.verdict;
      this.#text.value = formatText(report);
      this.#text.hidden = false;
      this.#actions.hidden = false;
      return report;
    } finally {
      checks.close();
      runner.close();
      this.#runner = null;
      this.#checks = null;
      this.#start.disabled = false;
      this.#start.textContent = 'Run again';
    }
  }

  close(): void {
    this.#runner?.close();
    this.#checks?.close();
    void this.#audio?.close().catch(() => {});
    this.el.remove();
  }

  #show(r: CheckResult): void {
    this.#set(this.#rows.get(r.name)!, r.status, r.details, r.advice);
  }

  #set(row: Row, status: keyof typeof STATUS_TEXT, details: string, advice: string): void {
    row.el.dataset['status'] = status;
    row.badge.textContent = STATUS_TEXT[status];
    row.details.textContent = details;
    replaceChildren(row.advice, advice ? `What to do: ${advice}` : '');
  }

  #download(): void {
    if (!this.#report) return;
    const blob = new Blob([JSON.stringify(this.#report, null, 2)], { type: 'application/json' });
    const a = h('a', { href: URL.createObjectURL(blob), download: `callwire-connectivity-${this.#report.startedAt.replace(/[:.]/g, '-')}.json` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }

  async #copy(): Promise<void> {
    try {
      await navigator.clipboard.writeText(this.#text.value);
      this.#summary.dataset['copied'] = 'true';
    } catch {
      // No clipboard permission (or not a secure context): select it for Ctrl+C instead.
      this.#text.focus();
      this.#text.select();
    }
  }
}
