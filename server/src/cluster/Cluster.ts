/**
 * What one callwire node needs to know about the others. A deployment is one node (the default,
 * `LocalCluster`: all of this is in memory) or many nodes sharing Redis (`RedisCluster`):
 *
 * - the routing table: which devices (sockets) each person has online, on any node;
 * - busy markers: a person is busy while any node holds a marker for them (a live call, a seat);
 * - ownership: every room and every 1:1 call lives on exactly one node, which runs it (its state
 *   machine, its timers, its SFU media); the others forward requests about it there;
 * - room snapshots, so a surviving node can take over the rooms of a node that died;
 * - requests to one node and broadcasts to all of them.
 *
 * socket.io's Redis adapter carries events to sockets on other nodes; this carries the rest.
 */
import type { EventEmitter } from 'node:events';
import type { UserInfo } from '../protocol/index.ts';
import type { RoomSnapshot } from '../rooms/RoomSnapshot.ts';

/** `room:<id>` or `call:<id>`. */
export type OwnedKey = `room:${string}` | `call:${string}`;

export interface Owner {
  node: string;
  /** False when the owner's heartbeat stopped: the key may be taken over. */
  alive: boolean;
}

export type ClusterEvents = {
  /** A node stopped heartbeating and this node won the right to clean up after it. */
  nodeDown: [nodeId: string];
  /** Handles that went offline because their node died (for presence and last seen). */
  wentOffline: [handles: string[]];
};

export type RequestHandler = (payload: unknown, from: string) => Promise<unknown>;
export type BroadcastHandler = (payload: unknown, from: string) => void;

export interface Cluster extends EventEmitter<ClusterEvents> {
  readonly nodeId: string;
  /** True when other nodes may exist (work must be forwarded and snapshots kept). */
  readonly shared: boolean;
  /** How long a node that died still looks alive (its heartbeat's expiry). */
  readonly deadAfterMs: number;

  /** Registers a device; resolves true when it is the person's first online device anywhere. */
  addSocket(user: UserInfo, socketId: string): Promise<boolean>;
  /** Resolves true when it was the person's last online device anywhere. */
  removeSocket(handle: string, socketId: string): Promise<boolean>;
  isOnline(handle: string): Promise<boolean>;
  /** Whether this socket is still registered (on a live node). */
  hasSocket(handle: string, socketId: string): Promise<boolean>;
  onlineCount(): Promise<number>;

  setBusy(handle: string, marker: string, on: boolean): Promise<void>;
  isBusy(handle: string): Promise<boolean>;

  ownerOf(key: OwnedKey): Promise<Owner | null>;
  /**
   * Takes ownership of `key` if nobody has it (or, with `replacing`, if that dead node has it).
   * Resolves with the owner afterwards: this node if the claim won.
   */
  claim(key: OwnedKey, replacing?: string): Promise<string>;
  release(key: OwnedKey): Promise<void>;
  /** Keys a node owns (to take over after it died). */
  ownedBy(node: string): Promise<OwnedKey[]>;

  saveRoom(snapshot: RoomSnapshot): Promise<void>;
  loadRoom(roomId: string): Promise<RoomSnapshot | null>;
  deleteRoom(roomId: string): Promise<void>;

  /** Asks one node; rejects with a SignalingError `unavailable` when it does not answer in time. */
  request(node: string, method: string, payload: unknown, timeoutMs?: number): Promise<unknown>;
  serve(method: string, handler: RequestHandler): void;
  /** Tells every other node. */
  broadcast(topic: string, payload: unknown): Promise<void>;
  onBroadcast(topic: string, handler: BroadcastHandler): void;

  readonly healthy: boolean;
  close(): Promise<void>;
}
