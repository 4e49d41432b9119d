// UDP listener feeding STUN/TURN messages and ChannelData into the node-turn core.
import dgram from 'node:dgram';
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { NodeTurnAddress, NodeTurnMessage, NodeTurnTransport, NT_PROTOCOL, type NtServer } from '../nodeTurn.ts';

export interface UdpListenerEvents {
  error: [Error];
}

export class UdpListener extends EventEmitter<UdpListenerEvents> {
  private readonly socket: dgram.Socket;
  private readonly core: NtServer;
  private closed = false;

  private constructor(core: NtServer, socket: dgram.Socket) {
    super();
    this.core = core;
    this.socket = socket;
    const local = socket.address();
    const dst = new NodeTurnAddress(local.address, local.port);
    socket.on('message', (data, rinfo) => {
      try {
        const transport = new NodeTurnTransport(NT_PROTOCOL.udp, new NodeTurnAddress(rinfo.address, rinfo.port), dst, socket);
        // ChannelData starts with 0b01, STUN with 0b00 (RFC 5766 section 11)
        if (data.length >= 4 && ((data[0] ?? 0) & 0xc0) === 0x40) {
          this.core.handleChannelData(transport, data);
          return;
        }
        const msg = new NodeTurnMessage(this.core, transport);
        if (msg.read(data)) this.core.emit('message', msg);
      } catch (err) {
        // malformed datagrams are dropped; one bad packet must not affect others
        this.emit('error', err as Error);
      }
    });
    // after binding, socket errors are per-send (e.g. ICMP unreachable): report, keep serving
    socket.on('error', (err) => this.emit('error', err));
  }

  static async listen(core: NtServer, ip: string, port: number): Promise<UdpListener> {
    const socket = dgram.createSocket(net.isIPv6(ip) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: ip, port, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new UdpListener(core, socket);
  }

  address(): net.AddressInfo {
    return this.socket.address();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
