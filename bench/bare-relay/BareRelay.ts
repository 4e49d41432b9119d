/**
 * A bare mediasoup relay that speaks the subset of callwire's signaling protocol the load-test
 * bots (bench/bots) use, so the same bots can load it and callwire in turn and callwire's own
 * overhead shows as a ratio (bench/sfu-overhead.ts).
 *
 * What it does, and no more: the guest handshake (checked against callwire's schema) and the
 * `session` event; `room.join` (a room is created on first join and is on the SFU from the start:
 * there is no P2P phase), `room.leave`, `room.participantJoined` / `room.participantLeft`; and the
 * `sfu.*` requests (capabilities, createTransport, connectTransport, ready, produce,
 * closeProducer, resumeConsumer, setPreferredLayers, restartIce, sync) with their events
 * (newConsumer, consumerClosed, consumerPaused, consumerResumed). Every request is validated with
 * callwire's zod schemas and answered with callwire's `Ack` shape; anything else is answered with
 * `unknown-event`. One mediasoup worker with one WebRtcServer (one UDP+TCP port), one router per
 * room with callwire's codecs (server/src/sfu/mediaCodecs.ts).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { types } from 'mediasoup';
import { Server, type Socket } from 'socket.io';
import {
  HandshakeAuth,
  SignalingError,
  requestSchemas,
  type Ack,
  type ClientToServerEvents,
  type RequestName,
  type RequestOf,
  type ResponseMap,
  type RoomInfo,
  type ServerToClientEvents,
  type UserInfo,
} from '../../server/src/protocol/index.ts';
import { MEDIA_CODECS } from '../../server/src/sfu/mediaCodecs.ts';
import { BarePeer } from './BarePeer.ts';
import { BareRoom, type Send } from './BareRoom.ts';
import { loadMediasoup } from './loadMediasoup.ts';

export interface BareRelayOptions {
  /** Loopback address for HTTP/socket.io and media (default 127.0.0.1). */
  host?: string;
  /** HTTP port; 0 (default) picks a free one. */
  port?: number;
  /** The WebRtcServer's UDP and TCP port. */
  rtcPort: number;
  /**
   * Cap on what each send transport asks its sender for (bits/s), as callwire's SFU sets
   * (SFU_MAX_INCOMING_BITRATE, 1.5 Mbit/s by default); null: none. Without it libwebrtc keeps
   * probing for bandwidth with padding the server must receive and drop, which costs the worker
   * more than callwire pays for the same streams (bench/sfu-overhead.ts compares like with like).
   */
  maxIncomingBitrate?: number | null;
}

type RelaySocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, { user: UserInfo }>;
type Handler<E extends RequestName> = (socket: RelaySocket, req: RequestOf<E>) => Promise<ResponseMap[E]> | ResponseMap[E];
type Handled =
  | 'room.join'
  | 'room.leave'
  | 'sfu.capabilities'
  | 'sfu.createTransport'
  | 'sfu.connectTransport'
  | 'sfu.ready'
  | 'sfu.produce'
  | 'sfu.closeProducer'
  | 'sfu.resumeConsumer'
  | 'sfu.setPreferredLayers'
  | 'sfu.restartIce'
  | 'sfu.sync';

/** callwire's SFU_MAX_INCOMING_BITRATE default. */
const DEFAULT_MAX_INCOMING_BITRATE = 1_500_000;

/** Rooms admit anyone: the bench bounds the load itself. Reported to clients only. */
const MAX_PARTICIPANTS = 1_000;

export class BareRelay {
  /** Creation is asynchronous (a router on the worker): concurrent first joins share one promise. */
  readonly #rooms = new Map<string, Promise<BareRoom>>();
  readonly #settled = new Map<string, BareRoom>();
  readonly #handlers: { [E in Handled]: Handler<E> };
  #closed = false;

  private constructor(
    readonly worker: types.Worker,
    readonly webRtcServer: types.WebRtcServer,
    readonly rtcPort: number,
    readonly maxIncomingBitrate: number | null,
    private readonly http: HttpServer,
    private readonly io: Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, { user: UserInfo }>,
  ) {
    this.#handlers = {
      'room.join': (s, req) => this.#join(s, req),
      'room.leave': (s, { roomId }) => (this.#leave(s.id, roomId, 'left'), {}),
      'sfu.capabilities': async (s, { roomId }) => {
        const { room } = await this.#find(s, roomId);
        return { routerRtpCapabilities: room.router.rtpCapabilities, routerId: room.router.id };
      },
      'sfu.createTransport': async (s, { roomId, direction }) => {
        const { room, peer } = await this.#find(s, roomId);
        return room.createTransport(peer, direction, this.maxIncomingBitrate);
      },
      'sfu.connectTransport': async (s, { roomId, transportId, dtlsParameters }) => {
        const { peer } = await this.#find(s, roomId);
        await peer.transport(transportId).connect({ dtlsParameters: dtlsParameters as unknown as types.DtlsParameters });
        return {};
      },
      'sfu.ready': async (s, { roomId, rtpCapabilities }) => {
        const { room, peer } = await this.#find(s, roomId);
        await room.ready(peer, rtpCapabilities as unknown as types.RtpCapabilities);
        // The bare relay has no codec rule: its bots send Opus and VP8.
        return { codecs: { audio: 'audio/opus', video: 'video/VP8' } as const };
      },
      'sfu.produce': async (s, { roomId, transportId, kind, rtpParameters, source }) => {
        const { room, peer } = await this.#find(s, roomId);
        return { producerId: await room.produce(peer, transportId, kind, rtpParameters as unknown as types.RtpParameters, source) };
      },
      'sfu.closeProducer': async (s, { roomId, producerId }) => {
        const { peer } = await this.#find(s, roomId);
        const p = peer.producers.get(producerId);
        if (!p) throw new SignalingError('unknown-producer', `no producer ${producerId} of yours`);
        p.producer.close();
        return {};
      },
      'sfu.resumeConsumer': async (s, { roomId, consumerId }) => {
        const { peer } = await this.#find(s, roomId);
        await peer.consumer(consumerId).resume();
        return {};
      },
      'sfu.setPreferredLayers': async (s, { roomId, consumerId, spatialLayer }) => {
        const { peer } = await this.#find(s, roomId);
        const consumer = peer.consumer(consumerId);
        if (consumer.type === 'simulcast') await consumer.setPreferredLayers({ spatialLayer });
        return {};
      },
      'sfu.restartIce': async (s, { roomId, transportId }) => {
        const { peer } = await this.#find(s, roomId);
        return { iceParameters: await peer.transport(transportId).restartIce() };
      },
      'sfu.sync': async (s, { roomId }) => {
        const { room, peer } = await this.#find(s, roomId);
        return { consumers: [...peer.consumers.values()].map((c) => BareRoom.info(c)), routerId: room.router.id };
      },
    };
    io.use((socket, next) => {
      // Guests only: the bots' handshake. Tokens belong to callwire's real identity system.
      const auth = HandshakeAuth.safeParse(socket.handshake.auth);
      if (!auth.success || !('guest' in auth.data)) {
        return next(Object.assign(new Error('a guest handshake is required'), { data: { code: 'unauthorized', message: 'a guest handshake is required' } }));
      }
      socket.data.user = { handle: auth.data.guest.handle, name: auth.data.guest.name };
      next();
    });
    io.on('connection', (socket) => this.#onConnection(socket));
  }

  static async start(options: BareRelayOptions): Promise<BareRelay> {
    const host = options.host ?? '127.0.0.1';
    const mediasoup = await loadMediasoup();
    const worker = await mediasoup.createWorker({ logLevel: 'warn', disableLiburing: true });
    let http: HttpServer | null = null;
    try {
      const webRtcServer = await worker.createWebRtcServer({
        listenInfos: [
          { protocol: 'udp', ip: host, port: options.rtcPort },
          { protocol: 'tcp', ip: host, port: options.rtcPort },
        ],
      });
      http = createServer((_req, res) => res.writeHead(404).end());
      const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, { user: UserInfo }>(http, { serveClient: false });
      const relay = new BareRelay(
        worker,
        webRtcServer,
        options.rtcPort,
        options.maxIncomingBitrate === undefined ? DEFAULT_MAX_INCOMING_BITRATE : options.maxIncomingBitrate,
        http,
        io,
      );
      await new Promise<void>((resolve, reject) => {
        http!.once('error', reject);
        http!.listen(options.port ?? 0, host, () => {
          http!.off('error', reject);
          resolve();
        });
      });
      return relay;
    } catch (err) {
      http?.close();
      worker.close();
      throw err;
    }
  }

  get url(): string {
    const a = this.http.address() as AddressInfo;
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /** Live rooms, for tests and the bench. */
  get rooms(): BareRoom[] {
    return [...this.#settled.values()];
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const room of this.#settled.values()) room.close();
    this.#settled.clear();
    this.#rooms.clear();
    this.io.disconnectSockets(true);
    await new Promise<void>((resolve) => this.io.close(() => resolve()));
    this.worker.close();
  }

  #onConnection(socket: RelaySocket): void {
    // No HTTP API here, so no bearer token to hand out.
    socket.emit('session', { user: socket.data.user, iceServers: [], serverTime: Date.now(), token: '' });
    for (const event of Object.keys(this.#handlers) as Handled[]) {
      socket.on(event, (...args: unknown[]) => void this.#dispatch(socket, event, args));
    }
    socket.onAny((event: unknown, ...args: unknown[]) => {
      if (typeof event === 'string' && Object.hasOwn(this.#handlers, event)) return;
      reply(socket, args, new SignalingError('unknown-event', `the bare relay does not handle "${String(event).slice(0, 64)}"`));
    });
    socket.on('disconnect', () => {
      // `room.join` refuses a second seat per socket and room: one leave per room.
      for (const room of this.#roomsOf(socket.id)) this.#leave(socket.id, room.id, 'disconnected');
    });
  }

  async #dispatch<E extends Handled>(socket: RelaySocket, event: E, args: unknown[]): Promise<void> {
    try {
      const payloads = typeof args.at(-1) === 'function' ? args.slice(0, -1) : args;
      if (payloads.length !== 1) throw new SignalingError('invalid-message', `${event} takes exactly one payload object`);
      const parsed = requestSchemas[event].safeParse(payloads[0]);
      if (!parsed.success) throw new SignalingError('invalid-message', `${event}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      reply(socket, args, await this.#handlers[event](socket, parsed.data as RequestOf<E>));
    } catch (err) {
      // mediasoup rejects bad parameters with TypeError; like callwire, that is the client's fault.
      const e = err as Error;
      const typed =
        err instanceof SignalingError
          ? err
          : e instanceof TypeError || e.name === 'UnsupportedError'
            ? new SignalingError('invalid-message', `rejected by the media server: ${e.message}`)
            : new SignalingError('internal', e.message);
      reply(socket, args, typed);
    }
  }

  async #join(socket: RelaySocket, req: RequestOf<'room.join'>): Promise<ResponseMap['room.join']> {
    if (req.resume) throw new SignalingError('invalid-state', 'the bare relay does not resume participants');
    const room = await this.#room(req.roomId);
    for (const p of room.peers.values()) if (p.socketId === socket.id) throw new SignalingError('invalid-state', 'already in this room');
    const user = socket.data.user;
    const peer = new BarePeer(
      {
        id: randomUUID(),
        handle: user.handle,
        name: req.name ?? user.name,
        audioMuted: req.media.audioMuted,
        videoEnabled: req.media.videoEnabled,
        joinedAt: Date.now(),
        host: false,
        publicKey: null,
      },
      socket.id,
    );
    const participants = [...room.peers.values()].map((p) => p.info);
    room.add(peer);
    for (const other of room.peers.values()) {
      if (other !== peer) this.io.to(other.socketId).emit('room.participantJoined', { roomId: room.id, participant: peer.info });
    }
    return { room: roomInfo(room.id), self: peer.info, participants, resumeSecret: randomBytes(16).toString('hex'), iceServers: [] };
  }

  #leave(socketId: string, roomId: string, reason: 'left' | 'disconnected'): void {
    const room = this.#roomsOf(socketId).find((r) => r.id === roomId);
    const peer = room && [...room.peers.values()].find((p) => p.socketId === socketId);
    if (!room || !peer) throw new SignalingError('not-in-room', `you are not in room ${roomId}`);
    room.remove(peer.id);
    for (const other of room.peers.values()) this.io.to(other.socketId).emit('room.participantLeft', { roomId, participantId: peer.id, reason });
    if (room.peers.size === 0) {
      this.#rooms.delete(roomId);
      this.#settled.delete(roomId);
      room.close();
    }
  }

  /** The room, created (router on the worker) by its first join; concurrent first joins share it. */
  #room(roomId: string): Promise<BareRoom> {
    if (this.#closed) return Promise.reject(new SignalingError('sfu-unavailable', 'the relay is closing'));
    const existing = this.#rooms.get(roomId);
    if (existing) return existing;
    const send: Send = (socketId, event, payload) => this.io.to(socketId).emit(event, ...([payload] as Parameters<ServerToClientEvents[typeof event]>));
    const created: Promise<BareRoom> = this.worker.createRouter({ mediaCodecs: MEDIA_CODECS }).then(
      (router) => {
        const room = new BareRoom(roomId, router, this.webRtcServer, send);
        // The relay may have closed, or the room emptied, while the router was being made.
        if (this.#rooms.get(roomId) !== created) {
          room.close();
          throw new SignalingError('unknown-room', `room ${roomId} closed`);
        }
        this.#settled.set(roomId, room);
        return room;
      },
      (err: unknown) => {
        this.#rooms.delete(roomId);
        throw new SignalingError('sfu-unavailable', `cannot create a router: ${(err as Error).message}`);
      },
    );
    this.#rooms.set(roomId, created);
    return created;
  }

  #roomsOf(socketId: string): BareRoom[] {
    // Few rooms per relay: a scan is cheaper than keeping a second index in step.
    return [...this.#settled.values()].filter((room) => [...room.peers.values()].some((peer) => peer.socketId === socketId));
  }

  async #find(socket: RelaySocket, roomId: string): Promise<{ room: BareRoom; peer: BarePeer }> {
    const pending = this.#rooms.get(roomId);
    if (!pending) throw new SignalingError('unknown-room', `no room ${roomId}`);
    const room = await pending;
    for (const peer of room.peers.values()) if (peer.socketId === socket.id) return { room, peer };
    throw new SignalingError('not-in-room', `you are not in room ${roomId}`);
  }
}

function roomInfo(id: string): RoomInfo {
  return { id, kind: 'link', media: 'video', mode: 'sfu', maxParticipants: MAX_PARTICIPANTS, locked: false, e2ee: false };
}

function reply(socket: RelaySocket, args: unknown[], result: unknown): void {
  const ack = args.at(-1);
  const body: Ack<unknown> = result instanceof SignalingError ? { ok: false, error: result.toJSON() } : { ok: true, data: result };
  if (typeof ack === 'function') (ack as (r: Ack<unknown>) => void)(body);
  else if (!body.ok) socket.emit('signaling.error', { event: 'unknown', error: body.error });
}
