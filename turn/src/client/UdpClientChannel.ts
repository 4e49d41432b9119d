// Datagram transport of the TURN client: one connected UDP socket.
import dgram from 'node:dgram';
import net from 'node:net';
import { EventEmitter } from 'node:events';
import type { ClientChannel, ClientChannelEvents } from './ClientChannel.ts';

export class UdpClientChannel extends EventEmitter<ClientChannelEvents> implements ClientChannel {
  readonly reliable = false;
  private readonly socket: dgram.Socket;
  private closed = false;

  private constructor(socket: dgram.Socket) {
    super();
    this.socket = socket;
    socket.on('message', (data) => this.emit('packet', data));
    socket.on('error', (err) => this.emit('error', err));
  }

  static async connect(host: string, port: number, localAddress?: string): Promise<UdpClientChannel> {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: 0, ...(localAddress ? { address: localAddress } : {}) }, () => {
        socket.connect(port, host, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    });
    return new UdpClientChannel(socket);
  }

  send(data: Buffer): void {
    if (!this.closed) this.socket.send(data);
  }

  localAddress(): { address: string; port: number } {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
    this.emit('close');
  }
}
