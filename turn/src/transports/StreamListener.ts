// TCP or TLS listener (turn: ?transport=tcp, turns:) handing connections to StreamConnection.
import net from 'node:net';
import tls from 'node:tls';
import { EventEmitter } from 'node:events';
import { StreamConnection } from './StreamConnection.ts';
import { NodeTurnAddress, NT_PROTOCOL, type NtServer } from '../nodeTurn.ts';

export interface StreamListenerOptions {
  ip: string;
  port: number;
  /** PEM cert and key: TLS when given, plain TCP otherwise. */
  tls?: { cert: string; key: string };
}

export interface StreamListenerEvents {
  error: [Error];
}

export class StreamListener extends EventEmitter<StreamListenerEvents> {
  private readonly server: net.Server;
  private readonly connections = new Set<StreamConnection>();
  private closed = false;

  private constructor(server: net.Server) {
    super();
    this.server = server;
  }

  static async listen(core: NtServer, options: StreamListenerOptions): Promise<StreamListener> {
    const protocol = options.tls ? NT_PROTOCOL.tls : NT_PROTOCOL.tcp;
    const server = options.tls ? tls.createServer({ cert: options.tls.cert, key: options.tls.key, handshakeTimeout: 10_000 }) : net.createServer();
    const listener = new StreamListener(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.ip, port: options.port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address() as net.AddressInfo;
    const local = new NodeTurnAddress(bound.address, bound.port);
    server.on(options.tls ? 'secureConnection' : 'connection', (socket: net.Socket) => {
      if (listener.closed) {
        socket.destroy();
        return;
      }
      const connection = new StreamConnection(core, socket, protocol, local);
      listener.connections.add(connection);
      connection.on('error', (err) => listener.emit('error', err));
      connection.on('close', () => listener.connections.delete(connection));
    });
    // failed TLS handshakes (scanners, wrong certs) are reported, never fatal
    server.on('tlsClientError', (err: Error) => listener.emit('error', err));
    server.on('error', (err) => listener.emit('error', err));
    return listener;
  }

  address(): net.AddressInfo {
    return this.server.address() as net.AddressInfo;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const connection of this.connections) connection.close();
    this.connections.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
