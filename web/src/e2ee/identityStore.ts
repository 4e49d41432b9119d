/**
 * Keeps this device's identity key pair in IndexedDB (CryptoKeys are stored as they are, so the
 * non-extractable private key stays non-extractable). Browser only. If IndexedDB is unavailable
 * (a private window that refuses it), the identity lives for this page only.
 */
import { Identity } from './Identity.ts';

const DB = 'callwire-e2ee';
const STORE = 'identity';
const KEY = 'device';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB refused'));
  });
}

function run<T>(db: IDBDatabase, mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = fn(db.transaction(STORE, mode).objectStore(STORE));
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB failed'));
  });
}

let loading: Promise<Identity> | null = null;

/** This device's identity, made on first use. */
export function deviceIdentity(): Promise<Identity> {
  loading ??= (async () => {
    try {
      const db = await open();
      const stored = await run<CryptoKeyPair | undefined>(db, 'readonly', (s) => s.get(KEY) as IDBRequest<CryptoKeyPair | undefined>);
      if (stored?.privateKey && stored.publicKey) return Identity.from(stored);
      const made = await Identity.generate();
      await run(db, 'readwrite', (s) => s.put(made.keyPair, KEY));
      return made;
    } catch (err) {
      console.warn('no IndexedDB: the encryption identity lasts for this page only', err);
      return Identity.generate();
    }
  })();
  return loading;
}
