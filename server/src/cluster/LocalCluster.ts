/**
 * The cluster of one: routing table, busy markers and ownership in memory, nothing to forward.
 * The default when REDIS_URL is not set.
 */
import { EventEmitter } from 'node:events';
import { SignalingError, type UserInfo } from '../protocol/index.ts';
import type { BroadcastHandler, Cluster, ClusterEvents, OwnedKey, Owner } from './Cluster.ts';
import type { RoomSnapshot } from '../rooms/RoomSnapshot.ts';

export class LocalCluster extends EventEmitter<ClusterEvents> implements Cluster {
  readonly nodeId = 'local';
  readonly shared = false;
  readonly deadAfterMs = 0;
  readonly healthy = true;
  readonly #sockets = new Map<string, Set<string>>();
  readonly #busy = new Map<string, Set<string>>();
  readonly #owned = new Set<OwnedKey>();

  addSocket(user: UserInfo, socketId: string): Promise<boolean> {
    const set = this.#sockets.get(user.handle) ?? new Set<string>();
    const first = set.size === 0;
    set.add(socketId);
    this.#sockets.set(user.handle, set);
    return Promise.resolve(first);
  }

  removeSocket(handle: string, socketId: string): Promise<boolean> {
    const set = this.#sockets.get(handle);
    if (!set || !set.delete(socketId)) return Promise.resolve(false);
    if (set.size > 0) return Promise.resolve(false);
    this.#sockets.delete(handle);
    return Promise.resolve(true);
  }

  isOnline(handle: string): Promise<boolean> {
    return Promise.resolve(this.#sockets.has(handle));
  }

  hasSocket(handle: string, socketId: string): Promise<boolean> {
    return Promise.resolve(this.#sockets.get(handle)?.has(socketId) ?? false);
  }

  onlineCount(): Promise<number> {
    return Promise.resolve(this.#sockets.size);
  }

  setBusy(handle: string, marker: string, on: boolean): Promise<void> {
    const set = this.#busy.get(handle) ?? new Set<string>();
    if (on) set.add(marker);
    else set.delete(marker);
    if (set.size > 0) this.#busy.set(handle, set);
    else this.#busy.delete(handle);
    return Promise.resolve();
  }

  isBusy(handle: string): Promise<boolean> {
    return Promise.resolve(this.#busy.has(handle));
  }

  ownerOf(key: OwnedKey): Promise<Owner | null> {
    return Promise.resolve(this.#owned.has(key) ? { node: this.nodeId, alive: true } : null);
  }

  claim(key: OwnedKey): Promise<string> {
    this.#owned.add(key);
    return Promise.resolve(this.nodeId);
  }

  release(key: OwnedKey): Promise<void> {
    this.#owned.delete(key);
    return Promise.resolve();
  }

  ownedBy(): Promise<OwnedKey[]> {
    return Promise.resolve([]);
  }

  // One node keeps no snapshots: a room cannot outlive the only process that runs it.
  saveRoom(_snapshot: RoomSnapshot): Promise<void> {
    return Promise.resolve();
  }

  loadRoom(): Promise<RoomSnapshot | null> {
    return Promise.resolve(null);
  }

  deleteRoom(): Promise<void> {
    return Promise.resolve();
  }

  request(node: string): Promise<unknown> {
    return Promise.reject(new SignalingError('unavailable', `no node ${node} in a single-node deployment`));
  }

  serve(): void {}

  broadcast(): Promise<void> {
    return Promise.resolve();
  }

  onBroadcast(_topic: string, _handler: BroadcastHandler): void {}

  close(): Promise<void> {
    this.#sockets.clear();
    this.#busy.clear();
    this.#owned.clear();
    this.removeAllListeners();
    return Promise.resolve();
  }
}
