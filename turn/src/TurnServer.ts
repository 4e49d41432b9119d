// The callwire TURN relay: node-turn's STUN/TURN core (patched) behind UDP, TCP and TLS
// listeners, with TURN REST credentials, peer policy, quotas and a bandwidth cap.
import os from 'node:os';
import type net from 'node:net';
import { EventEmitter } from 'node:events';
import { parseTurnConfig, type TurnConfig, type TurnConfigInput } from './config.ts';
import { lookupRestPassword, parseRestUsername } from './credentials.ts';
import { PeerPolicy } from './PeerPolicy.ts';
import { TokenBucket } from './TokenBucket.ts';
import { UdpListener } from './transports/UdpListener.ts';
import { StreamListener } from './transports/StreamListener.ts';
import { assertNodeTurnPatched, NodeTurnServer, NT_PROTOCOL, type NtAllocation, type NtServer } from './nodeTurn.ts';

export type TurnLogLevel = 'error' | 'warn' | 'info' | 'debug';
export type TurnLogger = (level: TurnLogLevel, message: string) => void;

export interface TurnServerOptions {
  /** Receives log lines at or above config.logLevel. Default: discard. */
  logger?: TurnLogger;
}

export interface TurnEndpoint {
  address: string;
  port: number;
}

export type TurnClientTransport = 'udp' | 'tcp' | 'tls';

export interface AllocationInfo {
  /** The allocation's 5-tuple, unique while it lives. */
  id: string;
  username: string;
  userId: string;
  transport: TurnClientTransport;
  client: TurnEndpoint;
  relayed: TurnEndpoint;
}

export interface TurnServerStats {
  allocations: number;
  /** Relay (UDP) sockets currently bound; equals allocations unless one is closing. */
  relaySockets: number;
  /** Open TCP and TLS client connections. */
  connections: number;
  packetsToPeers: number;
  packetsFromPeers: number;
  /** packetsToPeers + packetsFromPeers */
  packetsRelayed: number;
  bytesRelayed: number;
  /** Packets dropped by the bandwidth cap. */
  packetsDropped: number;
}

export interface TurnAddresses {
  udp?: net.AddressInfo;
  tcp?: net.AddressInfo;
  tls?: net.AddressInfo;
}

export interface TurnServerEvents {
  allocation: [info: AllocationInfo];
  allocationClosed: [info: AllocationInfo];
  close: [];
}

const LEVELS: Record<TurnLogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
// node-turn's levels mapped to ours; its TRACE/DEBUG chatter is per packet, so both are debug
const NT_LEVELS: Record<string, TurnLogLevel> = { TRACE: 'debug', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'warn', FATAL: 'error' };

function transportName(protocol: number): TurnClientTransport {
  return protocol === NT_PROTOCOL.tls ? 'tls' : protocol === NT_PROTOCOL.tcp ? 'tcp' : 'udp';
}

function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || /^(0+:){7}0+$/.test(address);
}

interface AllocationState {
  info: AllocationInfo;
  bucket: TokenBucket | undefined;
}

export class TurnServer extends EventEmitter<TurnServerEvents> {
  readonly config: TurnConfig;
  private readonly core: NtServer;
  private readonly policy: PeerPolicy;
  private readonly log: TurnLogger;
  private readonly allocationStates = new Map<NtAllocation, AllocationState>();
  private readonly userAllocations = new Map<string, number>();
  private udp: UdpListener | undefined;
  private tcp: StreamListener | undefined;
  private tls: StreamListener | undefined;
  private relaySocketsOpen = 0;
  private counters = { packetsToPeers: 0, packetsFromPeers: 0, bytesRelayed: 0, packetsDropped: 0 };
  private closed = false;

  /** Validates `config`, binds every configured listener and resolves once they all listen. */
  static async start(config: TurnConfigInput | TurnConfig, options: TurnServerOptions = {}): Promise<TurnServer> {
    assertNodeTurnPatched();
    const server = new TurnServer(parseTurnConfig(config), options);
    try {
      await server.listen();
    } catch (err) {
      await server.close();
      throw err;
    }
    return server;
  }

  private constructor(config: TurnConfig, options: TurnServerOptions) {
    super();
    this.config = config;
    const threshold = LEVELS[config.logLevel];
    const sink = options.logger;
    this.log = (level, message) => {
      if (sink && LEVELS[level] >= threshold) sink(level, message);
    };
    this.policy = new PeerPolicy({
      allowedPeers: config.allowedPeers,
      ownAddresses: this.ownAddresses(),
      relayPortRange: { min: config.minPort, max: config.maxPort },
    });
    const secret = config.secret;
    this.core = new NodeTurnServer({
      listeningIps: [config.listenIp],
      relayIps: [config.relayIp],
      ...(config.externalIp ? { externalIps: config.externalIp } : {}),
      minPort: config.minPort,
      maxPort: config.maxPort,
      minAllocateLifetime: config.minLifetime,
      defaultAllocateLifetime: config.defaultLifetime,
      maxAllocateLifetime: config.maxLifetime,
      authMech: 'long-term',
      realm: config.realm,
      credentials: (username) => lookupRestPassword(secret, username),
      peerFilter: (peer, _allocation, check) => this.policy.isAllowed(peer.address, check === 'permission' ? undefined : peer.port),
      quotaFilter: (username) => this.hasQuota(username),
      relayFilter: (allocation, direction, bytes) => this.account(allocation, direction, bytes),
      debugLevel: config.logLevel === 'debug' ? 'DEBUG' : 'INFO',
      log: () => undefined,
    });
    // node-turn calls debug(level, message) everywhere; route it through our logger
    (this.core as unknown as { debug: (level: string, msg: unknown) => void }).debug = (level, msg) => {
      const mapped = NT_LEVELS[level] ?? 'debug';
      if (LEVELS[mapped] >= threshold && sink) this.log(mapped, `node-turn: ${msg instanceof Error ? msg.message : String(msg)}`);
    };
    this.core.software = config.software;
    this.core.on('allocation-created', (allocation: NtAllocation) => this.onAllocationCreated(allocation));
    this.core.on('allocation-closed', (allocation: NtAllocation) => this.onAllocationClosed(allocation));
  }

  private ownAddresses(): string[] {
    const { listenIp, relayIp, externalIp } = this.config;
    const own = [listenIp, relayIp, ...(externalIp ? [externalIp] : [])].filter((a) => !isUnspecified(a));
    if (isUnspecified(listenIp) || isUnspecified(relayIp)) {
      for (const list of Object.values(os.networkInterfaces())) for (const iface of list ?? []) own.push(iface.address);
    }
    return own;
  }

  private async listen(): Promise<void> {
    const { listenIp, udpPort, tcpPort, tlsPort, tlsCert, tlsKey } = this.config;
    // A client that vanishes mid-connection (reset, broken pipe) is routine, not the operator's concern.
    const onError = (kind: string) => (err: NodeJS.ErrnoException) =>
      this.log(err.code === 'ECONNRESET' || err.code === 'EPIPE' ? 'debug' : 'warn', `${kind}: ${err.message}`);
    if (udpPort !== null) {
      this.udp = await UdpListener.listen(this.core, listenIp, udpPort);
      this.udp.on('error', onError('udp'));
    }
    if (tcpPort !== null) {
      this.tcp = await StreamListener.listen(this.core, { ip: listenIp, port: tcpPort });
      this.tcp.on('error', onError('tcp'));
    }
    if (tlsCert !== undefined && tlsKey !== undefined) {
      this.tls = await StreamListener.listen(this.core, { ip: listenIp, port: tlsPort, tls: { cert: tlsCert, key: tlsKey } });
      this.tls.on('error', onError('tls'));
    }
    const a = this.addresses();
    for (const bound of [a.udp, a.tcp, a.tls]) if (bound) this.policy.protectPort(bound.port);
    this.log(
      'info',
      `listening${a.udp ? ` udp ${a.udp.address}:${a.udp.port}` : ''}${a.tcp ? ` tcp ${a.tcp.address}:${a.tcp.port}` : ''}${a.tls ? ` tls ${a.tls.address}:${a.tls.port}` : ''}, realm "${this.config.realm}"`,
    );
  }

  private userIdOf(username: string | undefined): string {
    if (username === undefined) return '';
    return parseRestUsername(username)?.userId ?? username;
  }

  private hasQuota(username: string | undefined): boolean {
    const { userQuota, totalQuota } = this.config;
    if (totalQuota > 0 && this.allocationStates.size >= totalQuota) return false;
    if (userQuota > 0 && (this.userAllocations.get(this.userIdOf(username)) ?? 0) >= userQuota) return false;
    return true;
  }

  private account(allocation: NtAllocation, direction: 'to-peer' | 'from-peer', bytes: number): boolean {
    const bucket = this.allocationStates.get(allocation)?.bucket;
    if (bucket && !bucket.take(bytes)) {
      this.counters.packetsDropped++;
      return false;
    }
    if (direction === 'to-peer') this.counters.packetsToPeers++;
    else this.counters.packetsFromPeers++;
    this.counters.bytesRelayed += bytes;
    return true;
  }

  private onAllocationCreated(allocation: NtAllocation): void {
    const username = allocation.user?.username ?? '';
    const userId = this.userIdOf(username);
    const info: AllocationInfo = {
      id: allocation.fiveTuple,
      username,
      userId,
      transport: transportName(allocation.transport.protocol),
      client: { address: allocation.mappedAddress.address, port: allocation.mappedAddress.port },
      relayed: { address: allocation.relayedTransportAddress.address, port: allocation.relayedTransportAddress.port },
    };
    const rate = this.config.bandwidthBps;
    // burst: one second of traffic, but never less than two full-size packets
    const bucket = rate > 0 ? new TokenBucket(rate, Math.max(rate, 3000)) : undefined;
    this.allocationStates.set(allocation, { info, bucket });
    this.userAllocations.set(userId, (this.userAllocations.get(userId) ?? 0) + 1);
    for (const socket of allocation.sockets) {
      this.relaySocketsOpen++;
      socket.once('close', () => this.relaySocketsOpen--);
    }
    this.log(
      'info',
      `allocation ${info.relayed.address}:${info.relayed.port} for "${userId}" over ${info.transport} from ${info.client.address}:${info.client.port}`,
    );
    this.emit('allocation', info);
  }

  private onAllocationClosed(allocation: NtAllocation): void {
    const state = this.allocationStates.get(allocation);
    if (!state) return;
    this.allocationStates.delete(allocation);
    const left = (this.userAllocations.get(state.info.userId) ?? 1) - 1;
    if (left > 0) this.userAllocations.set(state.info.userId, left);
    else this.userAllocations.delete(state.info.userId);
    this.log('info', `allocation ${state.info.relayed.address}:${state.info.relayed.port} closed`);
    this.emit('allocationClosed', state.info);
  }

  addresses(): TurnAddresses {
    return {
      ...(this.udp ? { udp: this.udp.address() } : {}),
      ...(this.tcp ? { tcp: this.tcp.address() } : {}),
      ...(this.tls ? { tls: this.tls.address() } : {}),
    };
  }

  /** Live allocations. */
  allocations(): AllocationInfo[] {
    return [...this.allocationStates.values()].map((s) => s.info);
  }

  stats(): TurnServerStats {
    return {
      allocations: this.allocationStates.size,
      relaySockets: this.relaySocketsOpen,
      connections: (this.tcp?.connectionCount ?? 0) + (this.tls?.connectionCount ?? 0),
      packetsToPeers: this.counters.packetsToPeers,
      packetsFromPeers: this.counters.packetsFromPeers,
      packetsRelayed: this.counters.packetsToPeers + this.counters.packetsFromPeers,
      bytesRelayed: this.counters.bytesRelayed,
      packetsDropped: this.counters.packetsDropped,
    };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Stops all listeners, deletes every allocation and waits for the relay sockets to close. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.udp?.close(), this.tcp?.close(), this.tls?.close()]);
    this.core.stop();
    // dgram close is asynchronous: wait (bounded) until relay sockets report closed
    for (let i = 0; i < 100 && this.relaySocketsOpen > 0; i++) await new Promise((r) => setTimeout(r, 10));
    this.core.removeAllListeners();
    this.log('info', 'closed');
    this.emit('close');
  }
}
