import { h } from './dom.ts';

/**
 * A person's handle as the server verified it (bound to their device key or their site's token),
 * set apart from the display name they typed, so a name like "Alice (alice)" cannot pass for
 * someone else's handle.
 */
export function verifiedHandle(handle: string): HTMLElement {
  return h('span', { class: 'handle', 'data-testid': 'verified-handle', title: 'Handle verified by the server' }, `✓ @${handle}`);
}
