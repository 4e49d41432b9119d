import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from './SqliteStore.ts';
import { StoreError } from './StateStore.ts';
import { stateStoreContract, type StoreFixture } from './StateStore.contract.ts';

const dirs = new Map<StoreFixture, string>();

function fixture(dir: string): StoreFixture {
  const reported: StoreError[] = [];
  const store = new SqliteStore(dir, (e) => reported.push(e));
  const f: StoreFixture = { store, reported, insertRaw: (h, id, rec) => store.insertRawMissedCall(h, id, rec) };
  dirs.set(f, dir);
  return f;
}

stateStoreContract(
  'SqliteStore',
  async () => fixture(mkdtempSync(join(tmpdir(), 'callwire-sqlite-'))),
  async (f) => {
    await f.store.close();
    return fixture(dirs.get(f)!);
  },
  async (f) => {
    await f.store.close();
    rmSync(dirs.get(f)!, { recursive: true, force: true });
  },
);

describe('SqliteStore files', () => {
  it('refuses a file that is not a database, with a clear error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'callwire-sqlite-'));
    try {
      writeFileSync(join(dir, 'callwire.sqlite'), 'this is not a database, it is a text file that happens to be here');
      expect(() => new SqliteStore(dir)).toThrow(StoreError);
      expect(() => new SqliteStore(dir)).toThrow(/callwire\.sqlite: file is not a database/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a data file written by a newer callwire instead of misreading it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'callwire-sqlite-'));
    try {
      const s = new SqliteStore(dir);
      await s.close();
      const Database = (await import('better-sqlite3')).default;
      const db = new Database(join(dir, 'callwire.sqlite'));
      db.prepare(`UPDATE meta SET value = '99' WHERE key = 'schema'`).run();
      db.close();
      expect(() => new SqliteStore(dir)).toThrow(/schema 99/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
