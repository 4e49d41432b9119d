// A small TURN client (RFC 5766) over UDP, TCP or TLS: long-term credential auth,
// Allocate, Refresh, CreatePermission, ChannelBind, Send/Data indications and ChannelData.
import { EventEmitter } from 'node:events';
import { StunMessage, longTermKey, type StunAttribute } from '../stun/StunMessage.ts';
import { FAMILY_IPV4, FAMILY_IPV6, MAX_CHANNEL, MIN_CHANNEL, StunAttr, StunClass, StunMethod, TRANSPORT_UDP } from '../stun/constants.ts';
import {
  decodeErrorCode,
  decodeUnknownAttributes,
  decodeXorAddress,
  encodeByteAndReserved,
  encodeChannelNumber,
  encodeUInt32,
  encodeXorAddress,
  type TransportAddress,
} from '../stun/attributes.ts';
import type { ClientChannel } from './ClientChannel.ts';
import { UdpClientChannel } from './UdpClientChannel.ts';
import { StreamClientChannel, type StreamClientTlsOptions } from './StreamClientChannel.ts';
import { TurnRequestError } from './TurnRequestError.ts';

export type TurnTransportKind = 'udp' | 'tcp' | 'tls';

export interface TurnClientOptions {
  transport: TurnTransportKind;
  host: string;
  port: number;
  username?: string;
  /** Password (for TURN REST: the `credential` of createTurnCredentials). */
  credential?: string;
  /** TLS options for transport 'tls'. */
  tls?: StreamClientTlsOptions;
  /** Per-request deadline (ms), retransmissions included. Default 5000. */
  requestTimeoutMs?: number;
  /** Local address to bind (UDP). */
  localAddress?: string;
}

export interface AllocateOptions {
  /** Requested lifetime in seconds (LIFETIME attribute). */
  lifetime?: number;
  /** EVEN-PORT with the given R bit. */
  evenPort?: boolean;
  /** REQUESTED-ADDRESS-FAMILY (RFC 6156). */
  addressFamily?: 'ipv4' | 'ipv6';
  /** Raw extra attributes (e.g. to probe unknown-attribute handling). */
  extraAttributes?: StunAttribute[];
}

export interface AllocateResult {
  relayed: TransportAddress;
  mapped: TransportAddress;
  lifetime: number;
}

export interface TurnClientEvents {
  /** Data relayed from a peer (Data indication, or ChannelData when `channel` is set). */
  data: [peer: TransportAddress, data: Buffer, channel: number | undefined];
  error: [err: Error];
  close: [];
}

interface Pending {
  resolve: (msg: StunMessage) => void;
  reject: (err: Error) => void;
  timers: NodeJS.Timeout[];
  authenticated: boolean;
}

export class TurnClient extends EventEmitter<TurnClientEvents> {
  private readonly channel: ClientChannel;
  private readonly options: TurnClientOptions;
  private readonly pending = new Map<string, Pending>();
  private readonly channels = new Map<number, TransportAddress>();
  private realm: string | undefined;
  private nonce: string | undefined;
  private key: Buffer | undefined;
  private closed = false;

  private constructor(channel: ClientChannel, options: TurnClientOptions) {
    super();
    this.channel = channel;
    this.options = options;
    channel.on('packet', (data) => this.onPacket(data));
    channel.on('error', (err) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
    channel.on('close', () => this.close());
  }

  static async connect(options: TurnClientOptions): Promise<TurnClient> {
    const channel =
      options.transport === 'udp'
        ? await UdpClientChannel.connect(options.host, options.port, options.localAddress)
        : await StreamClientChannel.connect(
            options.host,
            options.port,
            options.transport === 'tls' ? (options.tls ?? {}) : undefined,
            options.requestTimeoutMs,
          );
    return new TurnClient(channel, options);
  }

  get transport(): TurnTransportKind {
    return this.options.transport;
  }

  localAddress(): TransportAddress {
    return this.channel.localAddress();
  }

  /** STUN Binding: this client's address as seen by the server. */
  async binding(): Promise<TransportAddress> {
    const res = await this.request(StunMethod.Binding, [], { authenticate: false });
    return this.xorAddress(res, StunAttr.XorMappedAddress);
  }

  async allocate(options: AllocateOptions = {}): Promise<AllocateResult> {
    const attrs: StunAttribute[] = [{ type: StunAttr.RequestedTransport, value: encodeByteAndReserved(TRANSPORT_UDP) }];
    if (options.lifetime !== undefined) attrs.push({ type: StunAttr.Lifetime, value: encodeUInt32(options.lifetime) });
    if (options.evenPort !== undefined) attrs.push({ type: StunAttr.EvenPort, value: Buffer.from([options.evenPort ? 0x80 : 0]) });
    if (options.addressFamily)
      attrs.push({ type: StunAttr.RequestedAddressFamily, value: encodeByteAndReserved(options.addressFamily === 'ipv6' ? FAMILY_IPV6 : FAMILY_IPV4) });
    attrs.push(...(options.extraAttributes ?? []));
    const res = await this.request(StunMethod.Allocate, attrs);
    return {
      relayed: this.xorAddress(res, StunAttr.XorRelayedAddress),
      mapped: this.xorAddress(res, StunAttr.XorMappedAddress),
      lifetime: res.get(StunAttr.Lifetime)?.readUInt32BE(0) ?? 0,
    };
  }

  /** Refreshes the allocation; returns the granted lifetime. `0` deletes the allocation. */
  async refresh(lifetime?: number): Promise<number> {
    const attrs = lifetime === undefined ? [] : [{ type: StunAttr.Lifetime, value: encodeUInt32(lifetime) }];
    const res = await this.request(StunMethod.Refresh, attrs);
    return res.get(StunAttr.Lifetime)?.readUInt32BE(0) ?? 0;
  }

  /** Installs permissions for the given peer IPs (ports are irrelevant for permissions). */
  async createPermission(...addresses: string[]): Promise<void> {
    await this.request(
      StunMethod.CreatePermission,
      addresses.map((address) => ({ type: StunAttr.XorPeerAddress, value: Buffer.alloc(0), address })),
    );
  }

  /** Binds `channel` (0x4000-0x7FFE) to `peer`; also installs a permission for it. */
  async channelBind(channel: number, peer: TransportAddress): Promise<void> {
    if (channel < MIN_CHANNEL || channel > MAX_CHANNEL) throw new RangeError(`channel number must be 0x4000-0x7FFE, got 0x${channel.toString(16)}`);
    await this.request(StunMethod.ChannelBind, [
      { type: StunAttr.ChannelNumber, value: encodeChannelNumber(channel) },
      { type: StunAttr.XorPeerAddress, value: Buffer.alloc(0), address: `${peer.address}`, port: peer.port },
    ]);
    this.channels.set(channel, { ...peer });
  }

  /** Send indication: relays `data` to `peer` (a permission must exist). */
  sendIndication(peer: TransportAddress, data: Buffer): void {
    const msg = new StunMessage(StunMethod.Send, StunClass.Indication);
    msg.add(StunAttr.XorPeerAddress, encodeXorAddress(peer, msg.transactionId));
    msg.add(StunAttr.Data, data);
    this.channel.send(msg.encode());
  }

  /** ChannelData: relays `data` to the peer bound to `channel`. */
  sendChannelData(channel: number, data: Buffer): void {
    // over streams ChannelData is padded to a multiple of 4 (RFC 5766 section 11.5)
    const padding = this.channel.reliable ? (4 - (data.length % 4)) % 4 : 0;
    const out = Buffer.alloc(4 + data.length + padding);
    out.writeUInt16BE(channel, 0);
    out.writeUInt16BE(data.length, 2);
    data.copy(out, 4);
    this.channel.send(out);
  }

  /**
   * Sends a request and resolves with its success response; error responses reject with
   * TurnRequestError. Handles the 401 challenge and 438 stale nonce of the long-term mechanism.
   * Attributes may carry `address`/`port` to be XOR-encoded with the transaction id.
   */
  async request(method: number, attributes: RequestAttribute[], { authenticate = true }: { authenticate?: boolean } = {}): Promise<StunMessage> {
    let staleRetries = 1;
    let challenged = false;
    for (;;) {
      const withAuth = authenticate && this.key !== undefined;
      const res = await this.transact(method, attributes, withAuth);
      if (res.cls === StunClass.SuccessResponse) return res;
      const error = decodeErrorCode(res.get(StunAttr.ErrorCode) ?? Buffer.alloc(4));
      const realm = res.get(StunAttr.Realm)?.toString('utf8');
      const nonce = res.get(StunAttr.Nonce)?.toString('utf8');
      if (
        authenticate &&
        error.code === 401 &&
        !withAuth &&
        !challenged &&
        realm &&
        nonce &&
        this.options.username !== undefined &&
        this.options.credential !== undefined
      ) {
        challenged = true;
        this.realm = realm;
        this.nonce = nonce;
        this.key = longTermKey(this.options.username, realm, this.options.credential);
        continue;
      }
      if (authenticate && error.code === 438 && nonce && staleRetries-- > 0) {
        this.nonce = nonce;
        if (realm) this.realm = realm;
        continue;
      }
      const unknown = error.code === 420 ? decodeUnknownAttributes(res.get(StunAttr.UnknownAttributes) ?? Buffer.alloc(0)) : [];
      throw new TurnRequestError(error.code, error.reason, res, unknown);
    }
  }

  private transact(method: number, attributes: RequestAttribute[], withAuth: boolean): Promise<StunMessage> {
    if (this.closed) return Promise.reject(new TurnRequestError(0, 'client closed'));
    const msg = new StunMessage(method, StunClass.Request);
    for (const attr of attributes) {
      const value = attr.address !== undefined ? encodeXorAddress({ address: attr.address, port: attr.port ?? 0 }, msg.transactionId) : attr.value;
      msg.add(attr.type, value);
    }
    if (withAuth) {
      msg.add(StunAttr.Username, Buffer.from(this.options.username ?? '', 'utf8'));
      msg.add(StunAttr.Realm, Buffer.from(this.realm ?? '', 'utf8'));
      msg.add(StunAttr.Nonce, Buffer.from(this.nonce ?? '', 'utf8'));
    }
    const wire = msg.encode({ ...(withAuth && this.key ? { integrityKey: this.key } : {}), fingerprint: true });
    const id = msg.transactionId.toString('hex');
    const deadline = this.options.requestTimeoutMs ?? 5000;
    return new Promise<StunMessage>((resolve, reject) => {
      const timers: NodeJS.Timeout[] = [];
      const finish = () => {
        timers.forEach(clearTimeout);
        this.pending.delete(id);
      };
      this.pending.set(id, {
        resolve: (res) => {
          finish();
          resolve(res);
        },
        reject: (err) => {
          finish();
          reject(err);
        },
        timers,
        authenticated: withAuth,
      });
      timers.push(
        setTimeout(() => {
          finish();
          reject(new TurnRequestError(0, `request 0x${method.toString(16)} timed out after ${deadline} ms`));
        }, deadline),
      );
      this.channel.send(wire);
      if (!this.channel.reliable) {
        // RFC 5389 7.2.1 retransmissions, doubling from 250 ms, bounded by the deadline
        for (let at = 250, step = 500; at < deadline; at += step, step *= 2) {
          timers.push(setTimeout(() => this.channel.send(wire), at));
        }
      }
    });
  }

  private onPacket(data: Buffer): void {
    if (data.length >= 4 && ((data[0] ?? 0) & 0xc0) === 0x40) {
      const channel = data.readUInt16BE(0);
      const length = data.readUInt16BE(2);
      const peer = this.channels.get(channel);
      if (peer && 4 + length <= data.length) this.emit('data', peer, Buffer.from(data.subarray(4, 4 + length)), channel);
      return;
    }
    const msg = StunMessage.decode(data);
    if (!msg) return;
    if (msg.cls === StunClass.Indication && msg.method === StunMethod.Data) {
      const peerAttr = msg.get(StunAttr.XorPeerAddress);
      const payload = msg.get(StunAttr.Data);
      if (peerAttr && payload) this.emit('data', decodeXorAddress(peerAttr, msg.transactionId), payload, undefined);
      return;
    }
    if (msg.cls !== StunClass.SuccessResponse && msg.cls !== StunClass.ErrorResponse) return;
    const pending = this.pending.get(msg.transactionId.toString('hex'));
    if (!pending) return;
    // responses to authenticated requests must prove the server knows the key
    // (401/438 challenges carry no MESSAGE-INTEGRITY by design)
    if (pending.authenticated && this.key) {
      const hasIntegrity = msg.get(StunAttr.MessageIntegrity) !== undefined;
      const challenge = msg.cls === StunClass.ErrorResponse && !hasIntegrity;
      if (!challenge && !msg.verifyIntegrity(this.key)) return;
    }
    pending.resolve(msg);
  }

  private xorAddress(msg: StunMessage, type: number): TransportAddress {
    const value = msg.get(type);
    if (!value) throw new TurnRequestError(0, `response lacks attribute 0x${type.toString(16)}`, msg);
    return decodeXorAddress(value, msg.transactionId);
  }

  /** Closes the transport (the server keeps an UDP allocation until it expires; use refresh(0) first to delete it). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const pending of [...this.pending.values()]) pending.reject(new TurnRequestError(0, 'client closed'));
    this.channel.close();
    this.emit('close');
  }
}

/** A request attribute: raw `value`, or an address to XOR-encode with the transaction id. */
export interface RequestAttribute {
  type: number;
  value: Buffer;
  address?: string;
  port?: number;
}
