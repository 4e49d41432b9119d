// Stream transport of the TURN client: TCP or TLS with STUN/ChannelData framing.
import net from 'node:net';
import tls from 'node:tls';
import { EventEmitter } from 'node:events';
import { StreamFramer } from '../stun/StreamFramer.ts';
import type { ClientChannel, ClientChannelEvents } from './ClientChannel.ts';

export interface StreamClientTlsOptions {
  /** Trusted CA(s) in PEM; default: Node's bundled roots. */
  ca?: string | Buffer;
  /** SNI and certificate name to verify (default: host). */
  servername?: string;
  /** Default true. Only turn off in tests or diagnostics. */
  rejectUnauthorized?: boolean;
}

export class StreamClientChannel extends EventEmitter<ClientChannelEvents> implements ClientChannel {
  readonly reliable = true;
  private readonly socket: net.Socket;
  private readonly framer = new StreamFramer();
  private closed = false;

  private constructor(socket: net.Socket) {
    super();
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = this.framer.push(chunk);
      } catch (err) {
        this.emit('error', err as Error);
        this.close();
        return;
      }
      for (const frame of frames) this.emit('packet', frame);
    });
    socket.on('error', (err) => this.emit('error', err));
    socket.on('close', () => this.close());
  }

  static async connect(host: string, port: number, tlsOptions?: StreamClientTlsOptions, timeoutMs = 5000): Promise<StreamClientChannel> {
    const socket = tlsOptions
      ? tls.connect({
          host,
          port,
          ...(tlsOptions.ca ? { ca: tlsOptions.ca } : {}),
          servername: tlsOptions.servername ?? (net.isIP(host) ? undefined : host),
          rejectUnauthorized: tlsOptions.rejectUnauthorized ?? true,
        })
      : net.connect({ host, port });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once(tlsOptions ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve();
      });
    });
    return new StreamClientChannel(socket);
  }

  send(data: Buffer): void {
    if (!this.closed) this.socket.write(data);
  }

  localAddress(): { address: string; port: number } {
    return { address: this.socket.localAddress ?? '', port: this.socket.localPort ?? 0 };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.emit('close');
  }
}
