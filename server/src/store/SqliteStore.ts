/**
 * The default store: one SQLite file under DATA_DIR (better-sqlite3). Why SQLite and this
 * library: docs/storage.md. Two connections to the one file, in WAL mode:
 * - `synchronous=FULL` for what must survive a power cut: handle bindings and missed calls are
 *   fsynced before the call returns, so a missed call is on disk before anyone is told;
 * - `synchronous=NORMAL` for the hot bookkeeping of every call (pending calls, last seen):
 *   committed to the WAL in the OS before returning, so it survives the process dying (SIGKILL),
 *   and is fsynced with the next FULL commit or checkpoint.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { MissedCall, UserInfo } from '../protocol/index.ts';
import { MissedCallRow, PendingCallRow, StoreError, parseRow, type ClaimResult, type PendingCall, type StateStore, type StoredPresence } from './StateStore.ts';

/** Bumped when the tables change; a file from a newer callwire is refused, not misread. */
/** 2: contacts. */
const SCHEMA_VERSION = 2;

export class SqliteStore implements StateStore {
  readonly kind = 'sqlite';
  readonly #db: Database.Database;
  /** Same file, synchronous=NORMAL (see above); null in memory. */
  readonly #fast: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #report: (e: StoreError) => void;
  #closed = false;

  /** `dir` is DATA_DIR; `:memory:` keeps everything in memory (tests). */
  constructor(dir: string, report: (e: StoreError) => void = () => {}) {
    this.#report = report;
    let file = ':memory:';
    if (dir !== ':memory:') {
      try {
        mkdirSync(dir, { recursive: true });
      } catch (err) {
        throw new StoreError('unavailable', `DATA_DIR ${dir}: ${(err as Error).message}`);
      }
      file = join(dir, 'callwire.sqlite');
    }
    try {
      this.#db = new Database(file);
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = FULL');
      this.#db.pragma('busy_timeout = 5000');
      this.#migrate();
      if (file === ':memory:') {
        this.#fast = this.#db;
      } else {
        this.#fast = new Database(file);
        this.#fast.pragma('synchronous = NORMAL');
        this.#fast.pragma('busy_timeout = 5000');
      }
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreError('corrupt', `${file}: ${(err as Error).message}`);
    }
  }

  get healthy(): boolean {
    return !this.#closed;
  }

  #migrate(): void {
    const db = this.#db;
    db.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    const row = db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).get() as { value: string } | undefined;
    const version = row ? Number(row.value) : 0;
    if (!Number.isInteger(version) || version > SCHEMA_VERSION) {
      throw new StoreError(
        'incompatible',
        `the data file has schema ${row?.value}, this callwire knows up to ${SCHEMA_VERSION}: use a newer callwire or another DATA_DIR`,
      );
    }
    db.exec(`
      CREATE TABLE IF NOT EXISTS users (
        handle TEXT PRIMARY KEY,
        key_digest TEXT,
        bound_at INTEGER,
        name TEXT,
        last_seen INTEGER
      );
      CREATE TABLE IF NOT EXISTS missed_calls (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        handle TEXT NOT NULL,
        id TEXT NOT NULL,
        record TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS missed_calls_handle ON missed_calls (handle, seq);
      CREATE TABLE IF NOT EXISTS pending_calls (id TEXT PRIMARY KEY, node TEXT NOT NULL, record TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS pending_calls_node ON pending_calls (node);
      CREATE TABLE IF NOT EXISTS contacts (owner TEXT NOT NULL, peer TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (owner, peer));
      CREATE INDEX IF NOT EXISTS contacts_peer ON contacts (peer);
    `);
    db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)`).run(String(SCHEMA_VERSION));
  }

  /** Prepared once, reused: preparing costs more than running most of these statements. */
  #stmt(sql: string, db = this.#db): Database.Statement {
    const key = `${db === this.#db ? 'full' : 'fast'}:${sql}`;
    let st = this.#statements.get(key);
    if (!st) this.#statements.set(key, (st = db.prepare(sql)));
    return st;
  }

  /** Runs one statement group; a SQLite failure becomes a typed StoreError. */
  #run<T>(what: string, fn: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreError('unavailable', 'the store is closed'));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(new StoreError('unavailable', `${what}: ${(err as Error).message}`));
    }
  }

  claimHandle(handle: string, keyDigest: string, now: number): Promise<ClaimResult> {
    return this.#run('claimHandle', () =>
      this.#db.transaction((): ClaimResult => {
        const row = this.#stmt(`SELECT key_digest FROM users WHERE handle = ?`).get(handle) as { key_digest: string | null } | undefined;
        if (row?.key_digest && row.key_digest !== keyDigest) return 'taken';
        this.#stmt(
          `INSERT INTO users (handle, key_digest, bound_at) VALUES (?, ?, ?) ON CONFLICT (handle) DO UPDATE SET key_digest = excluded.key_digest, bound_at = excluded.bound_at`,
        ).run(handle, keyDigest, now);
        return row?.key_digest ? 'same' : 'new';
      })(),
    );
  }

  handleExists(handle: string): Promise<boolean> {
    return this.#run('handleExists', () => this.#stmt(`SELECT 1 FROM users WHERE handle = ? AND key_digest IS NOT NULL`).get(handle) !== undefined);
  }

  async releaseIdleHandles(olderThan: number, limit: number, isOnline: (handle: string) => boolean | Promise<boolean>): Promise<string[]> {
    const idle = await this.#run('releaseIdleHandles', () =>
      (
        this.#stmt(
          `SELECT handle FROM users WHERE key_digest IS NOT NULL AND COALESCE(last_seen, bound_at) < ? ORDER BY COALESCE(last_seen, bound_at) LIMIT ?`,
        ).all(olderThan, limit) as { handle: string }[]
      ).map((r) => r.handle),
    );
    const gone: string[] = [];
    for (const h of idle) if (!(await isOnline(h))) gone.push(h);
    // Seen again while we looked: keep it (the condition is checked again as it is deleted).
    return this.#run('releaseIdleHandles', () =>
      this.#db.transaction(() =>
        gone.filter((h) => {
          if (this.#stmt(`DELETE FROM users WHERE handle = ? AND COALESCE(last_seen, bound_at) < ?`).run(h, olderThan).changes === 0) return false;
          // Whoever binds the handle next is someone else: nobody follows them from before.
          this.#stmt(`DELETE FROM contacts WHERE owner = ? OR peer = ?`).run(h, h);
          return true;
        }),
      )(),
    );
  }

  addContacts(owner: string, peers: readonly string[], now: number, maxPerUser: number): Promise<void> {
    return this.#run('addContacts', () =>
      this.#db
        .transaction(() => {
          const put = this.#stmt(
            `INSERT INTO contacts (owner, peer, at) VALUES (?, ?, ?) ON CONFLICT (owner, peer) DO UPDATE SET at = excluded.at`,
            this.#fast,
          );
          for (const peer of peers) if (peer !== owner) put.run(owner, peer, now);
          this.#stmt(
            `DELETE FROM contacts WHERE owner = ? AND peer NOT IN (SELECT peer FROM contacts WHERE owner = ? ORDER BY at DESC, peer LIMIT ?)`,
            this.#fast,
          ).run(owner, owner, maxPerUser);
        })
        .call(null),
    );
  }

  contactsAmong(owner: string, candidates: readonly string[]): Promise<string[]> {
    return this.#run('contactsAmong', () => {
      const has = this.#stmt(`SELECT 1 FROM contacts WHERE owner = ? AND peer = ?`);
      return candidates.filter((c) => has.get(owner, c) !== undefined);
    });
  }

  touchUser(user: UserInfo, lastSeen: number | null): Promise<void> {
    return this.#run('touchUser', () => {
      this.#stmt(
        `INSERT INTO users (handle, name, last_seen) VALUES (?, ?, ?) ON CONFLICT (handle) DO UPDATE SET name = excluded.name, last_seen = excluded.last_seen`,
        this.#fast,
      ).run(user.handle, user.name, lastSeen);
    });
  }

  presence(handle: string): Promise<StoredPresence | null> {
    return this.#run('presence', () => {
      const row = this.#stmt(`SELECT name, last_seen FROM users WHERE handle = ?`).get(handle) as { name: string | null; last_seen: number | null } | undefined;
      return row ? { name: row.name ?? handle, lastSeen: row.last_seen } : null;
    });
  }

  addMissedCall(handle: string, record: MissedCall, maxPerUser: number): Promise<void> {
    return this.#run('addMissedCall', () =>
      this.#db.transaction(() => {
        this.#stmt(`INSERT INTO missed_calls (handle, id, record) VALUES (?, ?, ?)`).run(handle, record.id, JSON.stringify(record));
        this.#stmt(`DELETE FROM missed_calls WHERE handle = ? AND seq NOT IN (SELECT seq FROM missed_calls WHERE handle = ? ORDER BY seq DESC LIMIT ?)`).run(
          handle,
          handle,
          maxPerUser,
        );
      })(),
    );
  }

  missedCalls(handle: string): Promise<MissedCall[]> {
    return this.#run('missedCalls', () => {
      const rows = this.#stmt(`SELECT seq, record FROM missed_calls WHERE handle = ? ORDER BY seq`).all(handle) as { seq: number; record: string }[];
      return rows.flatMap((r) => parseRow(MissedCallRow, r.record, `missed call row ${r.seq}`, this.#report) ?? []);
    });
  }

  ackMissedCalls(handle: string, ids: readonly string[]): Promise<number> {
    return this.#run('ackMissedCalls', () =>
      this.#db.transaction(() => {
        const del = this.#stmt(`DELETE FROM missed_calls WHERE handle = ? AND id = ?`);
        for (const id of ids) del.run(handle, id);
        return (this.#stmt(`SELECT COUNT(*) AS n FROM missed_calls WHERE handle = ?`).get(handle) as { n: number }).n;
      })(),
    );
  }

  pendingMissedCalls(): Promise<number> {
    return this.#run('pendingMissedCalls', () => (this.#stmt(`SELECT COUNT(*) AS n FROM missed_calls`).get() as { n: number }).n);
  }

  putPendingCall(call: PendingCall): Promise<void> {
    return this.#run('putPendingCall', () => {
      this.#stmt(`INSERT OR REPLACE INTO pending_calls (id, node, record) VALUES (?, ?, ?)`, this.#fast).run(call.id, call.node, JSON.stringify(call));
    });
  }

  deletePendingCall(id: string): Promise<void> {
    return this.#run('deletePendingCall', () => {
      this.#stmt(`DELETE FROM pending_calls WHERE id = ?`, this.#fast).run(id);
    });
  }

  takePendingCalls(node: string): Promise<PendingCall[]> {
    return this.#run('takePendingCalls', () =>
      this.#db.transaction(() => {
        const rows = this.#stmt(`SELECT id, record FROM pending_calls WHERE node = ?`).all(node) as { id: string; record: string }[];
        this.#stmt(`DELETE FROM pending_calls WHERE node = ?`).run(node);
        return rows.flatMap((r) => parseRow(PendingCallRow, r.record, `pending call ${r.id}`, this.#report) ?? []);
      })(),
    );
  }

  sharedSecret(name: string): Promise<string> {
    return this.#run('sharedSecret', () =>
      this.#db.transaction(() => {
        this.#stmt(`INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)`).run(`secret:${name}`, randomBytes(32).toString('base64url'));
        return (this.#stmt(`SELECT value FROM meta WHERE key = ?`).get(`secret:${name}`) as { value: string }).value;
      })(),
    );
  }

  /** Tests: writes a raw row, as an older or broken version might have left it. */
  insertRawMissedCall(handle: string, id: string, record: string): void {
    this.#db.prepare(`INSERT INTO missed_calls (handle, id, record) VALUES (?, ?, ?)`).run(handle, id, record);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      if (this.#fast !== this.#db) this.#fast.close();
      this.#db.close();
    }
    return Promise.resolve();
  }
}
