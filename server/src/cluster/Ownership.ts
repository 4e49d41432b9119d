/**
 * Which node runs a room or a call, and taking over from a node that died.
 *
 * `run(key, …)` executes a request on the owner: here, or forwarded through the Cluster. A room
 * that does not exist yet is claimed by the node its first joiner reached. When the owner stops
 * heartbeating, the first node that needs the room (or the one that reaps the dead node) claims
 * it and rebuilds it from its snapshot: same participants, seats and resume secrets. People whose
 * socket died with the node resume on reconnecting; SFU rooms set their media up again here.
 */
import type { Logger } from '../logger.ts';
import { SignalingError } from '../protocol/index.ts';
import type { RoomManager } from '../rooms/RoomManager.ts';
import type { CallManager } from '../calls/CallManager.ts';
import type { Cluster, OwnedKey } from './Cluster.ts';

const ATTEMPTS = 3;

export class Ownership {
  constructor(
    private readonly cluster: Cluster,
    private readonly rooms: RoomManager,
    private readonly calls: CallManager,
    private readonly logger: Logger,
  ) {}

  /**
   * Runs `local` on the owner of `key` (claiming it first when `create` and nobody owns it), or
   * forwards `forward` to the owner node. An owner that stopped answering is waited out until its
   * heartbeat lapses, then taken over.
   */
  async run<T>(key: OwnedKey, create: boolean, local: () => Promise<T>, forward: (node: string) => Promise<T>): Promise<T> {
    if (!this.cluster.shared) return local();
    for (let attempt = 1; ; attempt++) {
      const { node, claimed } = await this.#resolve(key, create);
      if (node === this.cluster.nodeId) return claimed ? this.#runClaimed(key, local) : local();
      try {
        return await forward(node);
      } catch (err) {
        if (!(err instanceof SignalingError) || err.code !== 'unavailable' || attempt >= ATTEMPTS || !this.cluster.healthy) throw err;
        // The owner may have just died: once its heartbeat lapses the next resolve takes over.
        await new Promise((r) => setTimeout(r, this.cluster.deadAfterMs));
      }
    }
  }

  async #resolve(key: OwnedKey, create: boolean): Promise<{ node: string; claimed: boolean }> {
    const owner = await this.cluster.ownerOf(key);
    if (owner?.alive) return { node: owner.node, claimed: false };
    // Taken over on the spot: if that rebuilt nothing and the request creates nothing, the claim goes back.
    if (owner) {
      const node = await this.adopt(key, owner.node, true);
      return { node, claimed: node === this.cluster.nodeId };
    }
    // Nobody runs it: a join creates it here; anything else gets the local "unknown" answer.
    if (!create) return { node: this.cluster.nodeId, claimed: false };
    const node = await this.cluster.claim(key);
    return { node, claimed: node === this.cluster.nodeId };
  }

  /** A join that claimed a room but created nothing (refused, unknown call room) gives the claim back. */
  async #runClaimed<T>(key: OwnedKey, local: () => Promise<T>): Promise<T> {
    try {
      return await local();
    } catch (err) {
      const exists = key.startsWith('room:')
        ? this.rooms.get(key.slice('room:'.length)) !== undefined
        : this.calls.get(key.slice('call:'.length)) !== undefined;
      if (!exists) await this.cluster.release(key).catch(() => {});
      throw err;
    }
  }

  /**
   * Claims `key` from a dead node; rebuilds the room from its snapshot. Resolves with the owner.
   * With nothing to rebuild the claim is given back, unless `forRequest` (a request is about to
   * run here and may create the room: it keeps the claim, and gives it back if it creates nothing).
   */
  async adopt(key: OwnedKey, deadNode: string, forRequest = false): Promise<string> {
    const owner = await this.cluster.claim(key, deadNode);
    if (owner !== this.cluster.nodeId) return owner;
    if (key.startsWith('room:')) {
      const roomId = key.slice('room:'.length);
      const snapshot = await this.cluster.loadRoom(roomId);
      if (!snapshot || snapshot.participants.length === 0) {
        await this.cluster.deleteRoom(roomId);
        if (!forRequest) await this.cluster.release(key);
        return this.cluster.nodeId;
      }
      const live = new Set<string>();
      for (const p of snapshot.participants) {
        if (p.socketId && p.node !== deadNode && (await this.cluster.hasSocket(p.handle, p.socketId))) live.add(p.id);
      }
      this.rooms.restore(snapshot, (p) => live.has(p.id));
      this.logger.warn(`took over room ${roomId} from node ${deadNode} (${snapshot.participants.length} participants, ${live.size} still connected)`);
    } else if (!forRequest) {
      // A call's ringing state died with its node (recoverPending files it as missed); an
      // answered call lives on as its room.
      await this.cluster.release(key);
    }
    return this.cluster.nodeId;
  }

  /** A node died and this one reaps it: its ringing calls become missed calls, its rooms move here. */
  async takeOver(deadNode: string): Promise<void> {
    const started = Date.now();
    await this.calls.recoverPending(deadNode);
    const keys = await this.cluster.ownedBy(deadNode);
    for (const key of keys) {
      await this.adopt(key, deadNode).catch((err: unknown) => this.logger.error(`taking over ${key} failed: ${(err as Error).message}`));
    }
    this.logger.warn(`node ${deadNode}: ${keys.length} rooms/calls taken over in ${Date.now() - started} ms`);
  }
}
