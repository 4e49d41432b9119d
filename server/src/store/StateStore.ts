/**
 * What callwire must not forget when a process restarts, behind one small interface with two
 * implementations: `SqliteStore` (one node, an embedded file under DATA_DIR, the default) and
 * `RedisStore` (any number of nodes sharing one Redis). Both pass `StateStore.contract.ts`.
 *
 * Every method is asynchronous (Redis is remote) and either resolves or rejects with a
 * `StoreError`; callers turn that into the signaling error `unavailable`.
 */
import { z } from 'zod';
import { SignalingError, type MissedCall, type UserInfo } from '../protocol/index.ts';

export type ClaimResult = 'new' | 'same' | 'taken';

/** A 1:1 call that has not been answered yet: if its node dies it becomes a missed call. */
export interface PendingCall {
  id: string;
  caller: UserInfo;
  callee: string;
  video: boolean;
  /** Epoch ms when the call was placed. */
  at: number;
  /** The node that owns the call (rings, times out, files the missed call). */
  node: string;
}

export interface StoredPresence {
  name: string;
  /** Epoch ms of the last disconnect, or null if never seen offline. */
  lastSeen: number | null;
}

export interface StateStore {
  readonly kind: 'sqlite' | 'redis';

  /**
   * Binds a guest handle to a device key digest (sha256, hex), atomically: `new` the first time,
   * `same` when the digest matches, `taken` when another device owns the handle. Never stores the key.
   */
  claimHandle(handle: string, keyDigest: string, now: number): Promise<ClaimResult>;
  /** Whether the handle was ever bound (guest mode: only known handles can be called). */
  handleExists(handle: string): Promise<boolean>;
  /**
   * Releases handles whose owners were last seen before `olderThan` (never one seen since, and
   * never one online now, which `isOnline` says), with their contacts. Returns the handles released.
   */
  releaseIdleHandles(olderThan: number, limit: number, isOnline: (handle: string) => boolean | Promise<boolean>): Promise<string[]>;

  /**
   * Records that `owner` may follow the presence of each of `peers` (they have been in a call or
   * room together, or the peer called the owner). Keeps the most recent `maxPerUser`.
   */
  addContacts(owner: string, peers: readonly string[], now: number, maxPerUser: number): Promise<void>;
  /** Which of `candidates` are contacts of `owner`. */
  contactsAmong(owner: string, candidates: readonly string[]): Promise<string[]>;

  /** Remembers a user's display name and when they were last seen (null: online now). */
  touchUser(user: UserInfo, lastSeen: number | null): Promise<void>;
  presence(handle: string): Promise<StoredPresence | null>;

  /** Appends a missed call, keeping at most `maxPerUser` (the oldest go first). Durable on resolve. */
  addMissedCall(handle: string, record: MissedCall, maxPerUser: number): Promise<void>;
  missedCalls(handle: string): Promise<MissedCall[]>;
  /** Deletes acknowledged records (unknown ids ignored); resolves with how many remain. */
  ackMissedCalls(handle: string, ids: readonly string[]): Promise<number>;
  pendingMissedCalls(): Promise<number>;

  putPendingCall(call: PendingCall): Promise<void>;
  deletePendingCall(id: string): Promise<void>;
  /**
   * Removes and returns the pending calls owned by `node` (a node that restarted or died), so
   * exactly one caller turns each into a missed call.
   */
  takePendingCalls(node: string): Promise<PendingCall[]>;

  /**
   * A random secret by name, made once and then the same for every node and after restarts
   * (session tokens are signed with it).
   */
  sharedSecret(name: string): Promise<string>;

  /** True while the store can serve requests (health checks). */
  readonly healthy: boolean;
  close(): Promise<void>;
}

export type StoreErrorCode = 'unavailable' | 'corrupt' | 'incompatible';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Runs a store operation for a request: a store failure becomes the signaling error `unavailable`. */
export async function orUnavailable<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof SignalingError) throw err;
    throw new SignalingError('unavailable', `the service's store is not reachable; try again shortly (${(err as Error).message})`);
  }
}

// Rows are validated when read: a corrupt or old-format row is reported and skipped, never trusted.
const UserInfoRow = z.strictObject({ handle: z.string().min(1).max(64), name: z.string().max(200) });
export const MissedCallRow = z.strictObject({
  id: z.string().min(1).max(64),
  callId: z.string().min(1).max(64),
  from: UserInfoRow,
  video: z.boolean(),
  at: z.number().int().nonnegative(),
  reason: z.enum(['no-answer', 'cancelled', 'busy']),
});
export const PendingCallRow = z.strictObject({
  id: z.string().min(1).max(64),
  caller: UserInfoRow,
  callee: z.string().min(1).max(64),
  video: z.boolean(),
  at: z.number().int().nonnegative(),
  node: z.string().min(1).max(64),
});

/** Parses a stored JSON row; returns null (and reports) when it is corrupt or of an old format. */
export function parseRow<T>(schema: z.ZodType<T>, raw: string, where: string, report: (e: StoreError) => void): T | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    report(new StoreError('corrupt', `${where}: not JSON`));
    return null;
  }
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  report(new StoreError('corrupt', `${where}: ${issue?.path.join('.') || 'row'}: ${issue?.message ?? 'invalid'}`));
  return null;
}
