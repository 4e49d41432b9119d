/**
 * Firefox people for mixed-browser tests. Playwright drives only its own Firefox builds (which
 * cannot be downloaded here); Debian's firefox-esr is driven over WebDriver BiDi with
 * puppeteer-core instead. One Firefox per spec file, one private browser context per person,
 * with a fake camera and microphone (Firefox's own test streams), exactly as the Chromium people
 * of media.ts. A `FirefoxPerson` offers the few things the specs do as a person would: open a
 * page, click a button by its name, type into a field by its label, read a test id's text.
 *
 * Firefox gathers no ICE candidates in a namespace with only loopback: scripts/netns.sh gives the
 * namespace a fenced veth pair (192.0.2.10), and the test server's SFU listens there.
 */
import { existsSync } from 'node:fs';
import { expect } from '@playwright/test';
import puppeteer, { type Browser, type BrowserContext, type Page } from 'puppeteer-core';
import { TRACK_PEER_CONNECTIONS } from './media.ts';

export const FIREFOX_PATH = process.env['FIREFOX_PATH'] ?? '/usr/bin/firefox-esr';

export const FIREFOX_PREFS: Record<string, unknown> = {
  // Firefox's own fake camera (moving colour frames) and microphone (a tone), no prompt.
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  // Stored camera/microphone permission: without it Firefox hides host candidates (mDNS) and, in
  // a namespace without a routed interface, gathers none at all.
  'permissions.default.camera': 1,
  'permissions.default.microphone': 1,
  // Loopback candidates (the bundled TURN relay and Chromium peers on 127.0.0.1).
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  // A mock sound card (this machine has none): without it Firefox's AudioContext never starts,
  // and no speaker is listed for setSinkId. Real machines have one.
  'media.cubeb.force_mock_context': true,
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  // Nothing of its own on the network: no updates, telemetry, captive-portal or plugin downloads.
  'app.update.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'media.gmp-manager.url': '',
  'media.gmp-gmpopenh264.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
};

/** Starts Debian's Firefox ESR, headless, over WebDriver BiDi. */
export async function launchFirefox(): Promise<Browser> {
  if (!existsSync(FIREFOX_PATH)) {
    throw new Error(`no Firefox at ${FIREFOX_PATH}: scripts/system-deps.sh installs Debian's firefox-esr (or set FIREFOX_PATH)`);
  }
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    extraPrefsFirefox: FIREFOX_PREFS,
    // A busy 2-core machine: Firefox's first start can take several seconds.
    timeout: 60_000,
    protocolTimeout: 60_000,
  });
}

/** One person in Firefox: their own browser context (no shared storage with anyone else). */
export class FirefoxPerson {
  private constructor(
    readonly page: Page,
    private readonly context: BrowserContext,
    private readonly baseURL: string,
  ) {}

  static async open(browser: Browser, baseURL: string): Promise<FirefoxPerson> {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.evaluateOnNewDocument(TRACK_PEER_CONNECTIONS);
    page.setDefaultTimeout(30_000);
    return new FirefoxPerson(page, context, baseURL);
  }

  async goto(path: string): Promise<void> {
    await this.page.goto(new URL(path, this.baseURL).href, { waitUntil: 'load' });
  }

  /** Runs `fn` in the page (the same signature as Playwright's, for the media.ts helpers). */
  evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R> {
    return this.page.evaluate(fn as (arg: unknown) => R | Promise<R>, arg) as Promise<R>;
  }

  async waitForTimeout(ms: number): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
  }

  /** Clicks the visible, enabled button whose accessible name (aria-label, else text) is `name`. */
  async clickButton(name: string, within?: string): Promise<void> {
    await this.#front();
    await expect
      .poll(
        () =>
          this.page.evaluate(
            (name, within) => {
              const root = within ? document.querySelector(within) : document;
              const buttons = [...(root?.querySelectorAll('button') ?? [])] as HTMLButtonElement[];
              const b = buttons.find((b) => (b.getAttribute('aria-label') ?? b.textContent ?? '').trim() === name && !b.disabled && b.offsetParent !== null);
              if (!b) return false;
              b.setAttribute('data-fx-target', '1');
              return true;
            },
            name,
            within ?? null,
          ),
        { timeout: 30_000, message: `a button "${name}"` },
      )
      .toBe(true);
    // A real click (pointer events at the button's centre), as a person makes it.
    const target = await this.page.$('[data-fx-target="1"]');
    await target!.evaluate((b) => b.removeAttribute('data-fx-target'));
    await target!.click();
  }

  /** Types into the field whose aria-label is `label`. */
  async fill(label: string, text: string): Promise<void> {
    await this.#front();
    const field = this.page.locator(`input[aria-label="${label}"]`);
    await field.fill(text);
  }

  /** The trimmed text of the element with this test id ('' when there is none). */
  text(testId: string): Promise<string> {
    return this.page.evaluate((id) => document.querySelector(`[data-testid="${id}"]`)?.textContent?.trim() ?? '', testId);
  }

  /** Waits until the element with this test id says `text` (exactly). */
  async expectText(testId: string, text: string, timeout = 30_000): Promise<void> {
    await expect.poll(() => this.text(testId), { timeout, message: `${testId} says "${text}" (Firefox)` }).toBe(text);
  }

  /**
   * Puts this person's tab in front, as a person looks at the window they act in. Firefox
   * throttles animation frames in background tabs, and puppeteer waits for frames before it
   * clicks or types (seconds per action otherwise, with two people in one Firefox).
   */
  async #front(): Promise<void> {
    await this.page.bringToFront();
  }

  async close(): Promise<void> {
    await this.context.close().catch(() => {});
  }
}
