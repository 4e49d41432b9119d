/**
 * Guest identity kept in this browser: a display name, a handle people can call, and a device
 * key that keeps the handle ours on the server.
 */
import { DisplayName, Handle } from '@protocol';

export interface GuestIdentity {
  handle: string;
  name: string;
  key: string;
}

const STORAGE_KEY = 'callwire.identity';

export function loadIdentity(): GuestIdentity | null {
  try {
    const raw = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null') as GuestIdentity | null;
    if (raw && Handle.safeParse(raw.handle).success && DisplayName.safeParse(raw.name).success && typeof raw.key === 'string') return raw;
  } catch {
    /* corrupt storage: start over */
  }
  return null;
}

export function saveIdentity(identity: GuestIdentity): void {
  localStorage.setItem(STORAGE_KEY, JSON.stringify(identity));
}

/** A handle derived from the name plus a short random suffix: "Ada Lovelace" → "ada-lovelace-k3f9". */
export function suggestHandle(name: string): string {
  const base =
    name
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 24) || 'guest';
  const suffix = Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => 'abcdefghijkmnpqrstuvwxyz23456789'[b & 31]).join('');
  return `${/^[a-z0-9]/.test(base) ? base : 'g' + base}-${suffix}`;
}

export function createIdentity(name: string, handle = suggestHandle(name)): GuestIdentity {
  const key = Array.from(crypto.getRandomValues(new Uint8Array(24)), (b) => b.toString(16).padStart(2, '0')).join('');
  return { handle, name: name.trim(), key };
}
