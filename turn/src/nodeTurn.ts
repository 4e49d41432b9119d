// Typed access to the (patched) node-turn internals this package builds on.
// node-turn is CommonJS without type definitions; everything it exposes to us is declared here.
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';
import type dgram from 'node:dgram';

const require = createRequire(import.meta.url);

export interface NtAddress {
  address: string;
  port: number;
  /** 1 = IPv4, 2 = IPv6 */
  family: number;
}

export interface NtSocketLike {
  send(data: Buffer, port: number, address: string, callback?: (err: Error | null) => void): void;
}

export interface NtTransport {
  protocol: number;
  src: NtAddress;
  dst: NtAddress;
  socket: NtSocketLike;
  get5Tuple(): string;
}

export interface NtAllocation {
  fiveTuple: string;
  user: { username: string; password: string } | null;
  sockets: dgram.Socket[];
  relayedTransportAddress: NtAddress;
  mappedAddress: NtAddress;
  transport: NtTransport;
  closed: boolean;
  close(): void;
}

export type NtPeerCheck = 'permission' | 'channel' | 'send';

export interface NtServerConfig {
  listeningIps: string[];
  relayIps: string[];
  externalIps?: string | Record<string, string>;
  minPort: number;
  maxPort: number;
  minAllocateLifetime: number;
  defaultAllocateLifetime: number;
  maxAllocateLifetime: number;
  authMech: 'long-term';
  realm: string;
  credentials: (username: string) => string | undefined;
  peerFilter: (peer: NtAddress, allocation: NtAllocation, check: NtPeerCheck) => boolean;
  quotaFilter: (username: string | undefined) => boolean;
  relayFilter: (allocation: NtAllocation, direction: 'to-peer' | 'from-peer', bytes: number) => boolean;
  debugLevel: 'ALL' | 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'FATAL' | 'OFF';
  log: (message: unknown) => void;
}

export interface NtServer extends EventEmitter {
  software: string;
  allocations: Record<string, NtAllocation>;
  handleChannelData(transport: NtTransport, data: Buffer): boolean;
  stop(): void;
}

export interface NtMessage {
  read(data: Buffer): boolean;
}

interface NtServerCtor {
  new (config: NtServerConfig): NtServer;
  PATCH_LEVEL?: string;
}

export const NodeTurnServer = require('node-turn') as NtServerCtor;
export const NodeTurnMessage = require('node-turn/lib/message') as new (server: NtServer, transport: NtTransport) => NtMessage;
export const NodeTurnTransport = require('node-turn/lib/transport') as new (
  protocol: number,
  src: NtAddress,
  dst: NtAddress,
  socket: NtSocketLike,
) => NtTransport;
export const NodeTurnAddress = require('node-turn/lib/address') as new (address: string, port: number) => NtAddress;

/** node-turn's client transport codes (patched constants). */
export const NT_PROTOCOL = { udp: 0x11, tcp: 0x06, tls: 0x106 } as const;

/** The patch level this code was written against (patches/node-turn+0.0.6.patch). */
export const REQUIRED_PATCH_LEVEL = 'callwire-2';

export function assertNodeTurnPatched(): void {
  if (NodeTurnServer.PATCH_LEVEL !== REQUIRED_PATCH_LEVEL) {
    throw new Error(
      `node-turn is not patched (expected patch level ${REQUIRED_PATCH_LEVEL}, found ${NodeTurnServer.PATCH_LEVEL ?? 'none'}): ` +
        'run `npx patch-package` (the "postinstall" script) to apply patches/node-turn+0.0.6.patch',
    );
  }
}
