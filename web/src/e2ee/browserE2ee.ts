/**
 * End-to-end encryption for one call in this browser: the device identity and a frame-transform
 * worker, or null where the browser has no encoded transforms (the call then joins without an
 * identity key; a server with E2EE=required refuses it with a message that says why).
 */
import type { KeyAgreement } from '../model/ports.ts';
import { FrameTransforms } from './FrameTransforms.ts';
import { deviceIdentity } from './identityStore.ts';

export interface CallE2ee {
  identity: KeyAgreement;
  frames: FrameTransforms;
}

let serverPolicy: Promise<string> | null = null;

/** The server's E2EE policy (`/api/config`), asked once per page. */
function policy(): Promise<string> {
  serverPolicy ??= fetch('/api/config', { cache: 'no-store' })
    .then((r) => r.json() as Promise<{ e2ee?: string }>)
    .then((c) => c.e2ee ?? 'required')
    .catch(() => 'required');
  return serverPolicy;
}

/** Whether this browser can encrypt calls (encoded transforms and WebCrypto). */
export function e2eeSupported(): boolean {
  return FrameTransforms.supported() && globalThis.crypto?.subtle !== undefined;
}

/** E2EE for a call, or null: the browser cannot, or the server turned it off (then there is nothing to encrypt for). */
export async function callE2ee(): Promise<CallE2ee | null> {
  if (!e2eeSupported() || (await policy()) === 'off') return null;
  return { identity: await deviceIdentity(), frames: new FrameTransforms() };
}

/** What to tell a person whose browser cannot encrypt calls. */
export const E2EE_UNSUPPORTED = 'This browser cannot encrypt calls end to end (it has no encoded transforms). Use a current Chrome, Edge, Firefox or Safari.';
