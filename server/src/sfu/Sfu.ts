/**
 * The SFU service: maps callwire rooms in `sfu` mode to SfuRooms on the worker pool, answers the
 * `sfu.*` requests, and follows participants and rooms as they come and go. When a worker dies,
 * its rooms are dropped and their participants told to set up again (`sfu.reset`); the next
 * request lands them on a healthy worker.
 */
import type { Logger } from '../logger.ts';
import { SignalingError, type RequestName, type RequestOf, type ResponseMap, type ServerEventMap } from '../protocol/index.ts';
import type { Participant } from '../rooms/Participant.ts';
import type { Room } from '../rooms/Room.ts';
import type { RoomManager } from '../rooms/RoomManager.ts';
import type { Notifier } from '../signaling/Notifier.ts';
import { SfuRoom, type SfuRoomOptions } from './SfuRoom.ts';
import type { WorkerPool, WorkerSlot } from './WorkerPool.ts';

export type SfuRequest = Extract<RequestName, `sfu.${string}`>;

export class Sfu {
  /** Creation is asynchronous: concurrent first requests share one promise. */
  readonly #rooms = new Map<string, Promise<SfuRoom>>();
  readonly #settled = new Map<string, SfuRoom>();

  constructor(
    readonly pool: WorkerPool,
    private readonly rooms: RoomManager,
    private readonly notifier: Notifier,
    private readonly options: SfuRoomOptions & { maxRooms: number },
    private readonly logger: Logger,
  ) {
    rooms.on('participantLeft', (room, p) => this.#settled.get(room.id)?.removePeer(p.id));
    rooms.on('roomClosed', (room) => this.#drop(room.id));
    // Taken over from a node that died: its media went with it; everyone still connected sets up here.
    rooms.on('restored', (room) => {
      if (room.mode !== 'sfu') return;
      for (const p of room.participants.values()) {
        if (p.socketId) this.notifier.toSocket(p.socketId, 'sfu.reset', { roomId: room.id, reason: 'the media server moved to another node' });
      }
    });
    pool.on('workerDied', (slot) => this.#onWorkerDied(slot));
  }

  /** Live SFU rooms (for health checks and tests). */
  get sfuRooms(): SfuRoom[] {
    return [...this.#settled.values()];
  }

  async handle<E extends SfuRequest>(socketId: string, event: E, req: RequestOf<E>): Promise<ResponseMap[E]> {
    const { room, participant } = this.rooms.find(socketId, req.roomId);
    if (room.mode !== 'sfu') throw new SignalingError('invalid-state', 'this call is peer to peer; the SFU joins in with the third person');
    const sfu = await this.#room(room);
    const pid = participant.id;
    const r = req as RequestOf<SfuRequest>;
    let result: unknown;
    switch (event) {
      case 'sfu.capabilities':
        result = { routerRtpCapabilities: sfu.router.rtpCapabilities, routerId: sfu.router.id };
        break;
      case 'sfu.createTransport':
        result = await sfu.createTransport(pid, (r as RequestOf<'sfu.createTransport'>).direction);
        break;
      case 'sfu.connectTransport': {
        const q = r as RequestOf<'sfu.connectTransport'>;
        await sfu.connectTransport(pid, q.transportId, q.dtlsParameters);
        result = {};
        break;
      }
      case 'sfu.ready':
        result = { codecs: await sfu.ready(pid, (r as RequestOf<'sfu.ready'>).rtpCapabilities) };
        break;
      case 'sfu.produce': {
        const q = r as RequestOf<'sfu.produce'>;
        result = { producerId: await sfu.produce(pid, q.transportId, q.kind, q.rtpParameters, q.source) };
        break;
      }
      case 'sfu.closeProducer':
        sfu.closeProducer(pid, (r as RequestOf<'sfu.closeProducer'>).producerId);
        result = {};
        break;
      case 'sfu.resumeConsumer':
        await sfu.resumeConsumer(pid, (r as RequestOf<'sfu.resumeConsumer'>).consumerId);
        result = {};
        break;
      case 'sfu.setPreferredLayers': {
        const q = r as RequestOf<'sfu.setPreferredLayers'>;
        await sfu.setPreferredLayers(pid, q.consumerId, q.spatialLayer);
        result = {};
        break;
      }
      case 'sfu.restartIce':
        result = { iceParameters: await sfu.restartIce(pid, (r as RequestOf<'sfu.restartIce'>).transportId) };
        break;
      case 'sfu.sync':
        result = { consumers: sfu.sync(pid), routerId: sfu.router.id };
        break;
      default:
        throw new SignalingError('unknown-event', `unknown event ${String(event)}`);
    }
    return result as ResponseMap[E];
  }

  close(): void {
    for (const r of this.#settled.values()) r.close();
    this.#settled.clear();
    this.#rooms.clear();
    this.pool.close();
  }

  #room(room: Room): Promise<SfuRoom> {
    const existing = this.#rooms.get(room.id);
    if (existing) return existing;
    if (this.#rooms.size >= this.options.maxRooms) {
      return Promise.reject(
        new SignalingError('limit-reached', `this server runs as many group calls as it may (SFU_MAX_ROOMS=${this.options.maxRooms}); try again later`),
      );
    }
    const hooks = {
      logger: this.logger,
      send: <E extends keyof ServerEventMap>(participantId: string, event: E, payload: ServerEventMap[E]) => {
        const socketId = room.participants.get(participantId)?.socketId;
        if (socketId) this.notifier.toSocket(socketId, event, payload);
      },
      broadcast: <E extends keyof ServerEventMap>(event: E, payload: ServerEventMap[E]) => {
        for (const p of room.participants.values()) if (p.socketId) this.notifier.toSocket(p.socketId, event, payload);
      },
      checkVideoAllowed: () => room.checkVideoAllowed(),
    };
    const created = SfuRoom.create(room.id, this.pool, hooks, { ...this.options, echo: room.kind === 'echo' }).then(
      (sfuRoom) => {
        // The room may have closed while the router was being created.
        if (this.#rooms.get(room.id) !== created) {
          sfuRoom.close();
          throw new SignalingError('unknown-room', `room ${room.id} closed`);
        }
        this.#settled.set(room.id, sfuRoom);
        return sfuRoom;
      },
      (err: unknown) => {
        this.#rooms.delete(room.id);
        this.logger.error(`cannot create SFU room ${room.id}: ${(err as Error).message}`);
        throw new SignalingError('sfu-unavailable', 'the media server is not available; try again shortly');
      },
    );
    this.#rooms.set(room.id, created);
    return created;
  }

  #drop(roomId: string): void {
    this.#rooms.delete(roomId);
    this.#settled.get(roomId)?.close();
    this.#settled.delete(roomId);
  }

  #onWorkerDied(slot: WorkerSlot): void {
    for (const [roomId, sfuRoom] of [...this.#settled]) {
      if (sfuRoom.slot !== slot) continue;
      this.#drop(roomId);
      const room = this.rooms.get(roomId);
      if (!room) continue;
      this.logger.warn(`room ${roomId} lost its media server; ${room.participants.size} participants reconnect`);
      for (const p of room.participants.values() as Iterable<Participant>) {
        if (p.socketId) this.notifier.toSocket(p.socketId, 'sfu.reset', { roomId, reason: 'the media server restarted' });
      }
    }
  }
}
