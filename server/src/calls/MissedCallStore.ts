/**
 * Store-and-forward queue of missed calls: a record waits here until the callee's client
 * acknowledges it, and is then deleted. In memory; the interface is small so a persistent
 * store can replace it.
 */
import type { MissedCall } from '../protocol/index.ts';

export class MissedCallStore {
  readonly #byUser = new Map<string, MissedCall[]>();

  constructor(private readonly maxPerUser: number) {}

  add(handle: string, record: MissedCall): void {
    const list = this.#byUser.get(handle) ?? [];
    list.push(record);
    // Bounded per user: the oldest records go first.
    if (list.length > this.maxPerUser) list.splice(0, list.length - this.maxPerUser);
    this.#byUser.set(handle, list);
  }

  list(handle: string): MissedCall[] {
    return [...(this.#byUser.get(handle) ?? [])];
  }

  /** Deletes acknowledged records; unknown ids are ignored (acks may repeat). Returns how many remain. */
  ack(handle: string, ids: readonly string[]): number {
    const list = this.#byUser.get(handle);
    if (!list) return 0;
    const drop = new Set(ids);
    const kept = list.filter((m) => !drop.has(m.id));
    if (kept.length === 0) this.#byUser.delete(handle);
    else this.#byUser.set(handle, kept);
    return kept.length;
  }

  get size(): number {
    let n = 0;
    for (const l of this.#byUser.values()) n += l.length;
    return n;
  }

  close(): void {
    this.#byUser.clear();
  }
}
