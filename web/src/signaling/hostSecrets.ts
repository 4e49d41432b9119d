/**
 * Host secrets of the call links this browser created or opened, so that a reload (or a new tab)
 * comes back as host. Kept in localStorage, the most recent 50 only.
 */
const STORAGE_KEY = 'callwire.hostSecrets';
const KEEP = 50;

type Stored = [roomId: string, secret: string][];

function read(): Stored {
  try {
    const raw: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '[]');
    return Array.isArray(raw) ? raw.filter((e): e is [string, string] => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'string') : [];
  } catch {
    return [];
  }
}

export function loadHostSecret(roomId: string): string | undefined {
  return read().find(([id]) => id === roomId)?.[1];
}

export function saveHostSecret(roomId: string, secret: string): void {
  const rest = read().filter(([id]) => id !== roomId);
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify([[roomId, secret], ...rest].slice(0, KEEP)));
  } catch {
    /* storage full or blocked: host for this page only */
  }
}
