// One TCP or TLS client connection: STUN/ChannelData framing (RFC 5766 section 2.1),
// and the socket-like `send` node-turn uses to answer and to relay peer data back.
import type net from 'node:net';
import { EventEmitter } from 'node:events';
import { StreamFramer } from '../stun/StreamFramer.ts';
import { NodeTurnAddress, NodeTurnMessage, NodeTurnTransport, type NtAddress, type NtServer, type NtSocketLike, type NtTransport } from '../nodeTurn.ts';

/** Realtime media: beyond this much unsent data, relayed packets are dropped, not queued. */
const MAX_WRITE_BACKLOG = 1 << 20;

export interface StreamConnectionEvents {
  error: [Error];
  close: [];
}

export class StreamConnection extends EventEmitter<StreamConnectionEvents> implements NtSocketLike {
  private readonly socket: net.Socket;
  private readonly core: NtServer;
  private readonly framer = new StreamFramer();
  private readonly transport: NtTransport;
  private closed = false;

  constructor(core: NtServer, socket: net.Socket, protocol: number, local: NtAddress) {
    super();
    this.core = core;
    this.socket = socket;
    const src = new NodeTurnAddress(socket.remoteAddress ?? '0.0.0.0', socket.remotePort ?? 0);
    this.transport = new NodeTurnTransport(protocol, src, local, this);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.emit('error', err));
    socket.on('close', () => this.close());
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.framer.push(chunk);
    } catch (err) {
      // not STUN-framed: nothing sensible can follow on this stream
      this.emit('error', err as Error);
      this.close();
      return;
    }
    for (const frame of frames) {
      try {
        if (((frame[0] ?? 0) & 0xc0) === 0x40) {
          this.core.handleChannelData(this.transport, frame);
          continue;
        }
        const msg = new NodeTurnMessage(this.core, this.transport);
        if (msg.read(frame)) this.core.emit('message', msg);
      } catch (err) {
        this.emit('error', err as Error);
      }
    }
  }

  /** NtSocketLike: the address arguments are implied by the connection. */
  send(data: Buffer, _port: number, _address: string, callback?: (err: Error | null) => void): void {
    if (this.closed || this.socket.writableLength > MAX_WRITE_BACKLOG) {
      callback?.(null);
      return;
    }
    // STUN messages are 4-byte aligned already; node-turn pads ChannelData it writes
    this.socket.write(data, (err) => callback?.(err ?? null));
  }

  /** Closes the connection; an allocation made over it dies with it (RFC 5766 section 2.1). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.core.allocations[this.transport.get5Tuple()]?.close();
    this.socket.destroy();
    this.emit('close');
  }
}
