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

/**
 * Starts what a call's encryption needs (the server's policy, the device identity from IndexedDB)
 * when the page opens, so that pressing Join does not wait for it: made on the join path, it
 * cost ~0.8 s of the time to the first frame in a group call.
 */
export function warmUpE2ee(): void {
  if (!e2eeSupported()) return;
  void policy().then((p) => {
    if (p === 'off') return;
    void deviceIdentity().catch(() => null);
    // The worker, started ahead too: the first call takes it.
    spare ??= new FrameTransforms();
  });
}

let spare: FrameTransforms | null = null;

/** Whether this browser can encrypt calls (encoded transforms and WebCrypto). */
export function e2eeSupported(): boolean {
  return FrameTransforms.supported() && globalThis.crypto?.subtle !== undefined;
}

/** E2EE for a call, or null: the browser cannot, or the server turned it off (then there is nothing to encrypt for). */
export async function callE2ee(): Promise<CallE2ee | null> {
  if (!e2eeSupported() || (await policy()) === 'off') return null;
  const identity = await deviceIdentity();
  const frames = spare ?? new FrameTransforms();
  spare = null;
  return { identity, frames };
}

/** What to tell a person whose browser cannot encrypt calls. */
export const E2EE_UNSUPPORTED = 'This browser cannot encrypt calls end to end (it has no encoded transforms). Use a current Chrome, Edge, Firefox or Safari.';
