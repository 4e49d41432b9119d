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

export async function callE2ee(): Promise<CallE2ee | null> {
  if (!FrameTransforms.supported() || !globalThis.crypto?.subtle) return null;
  return { identity: await deviceIdentity(), frames: new FrameTransforms() };
}

/** What to tell a person whose browser cannot encrypt calls. */
export const E2EE_UNSUPPORTED = 'This browser cannot encrypt calls end to end (it has no encoded transforms). Use a current Chrome, Edge, Firefox or Safari.';
