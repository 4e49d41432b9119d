// Decides which peer addresses an allocation may relay to: the server must not be an
// open relay into private networks, its own host, or multicast (RFC 5766 section 17).
import net from 'node:net';
import { ipv6ToBuffer } from './stun/attributes.ts';

/** Ranges refused unless allow-listed (loopback, private, CGNAT, link-local, multicast, ...). */
export const DEFAULT_DENIED_PEERS: readonly string[] = [
  '0.0.0.0/8', // "this" network, unspecified
  '10.0.0.0/8', // RFC 1918
  '100.64.0.0/10', // CGNAT (RFC 6598)
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local
  '172.16.0.0/12', // RFC 1918
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // TEST-NET-1
  '192.168.0.0/16', // RFC 1918
  '192.88.99.0/24', // 6to4 relay anycast (deprecated, RFC 7526)
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // TEST-NET-2
  '203.0.113.0/24', // TEST-NET-3
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, includes 255.255.255.255 broadcast
  '::/128', // unspecified
  '::1/128', // loopback
  '64:ff9b:1::/48', // local-use NAT64
  '100::/64', // discard-only
  '2001:db8::/32', // documentation
  'fc00::/7', // ULA
  'fe80::/10', // link-local
  'fec0::/10', // deprecated site-local
  'ff00::/8', // multicast
];

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses "a.b.c.d/n", "x::/n" or a bare address (host route). Throws on invalid input. */
export function parseCidr(text: string): Cidr {
  const [address = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) throw new Error(`invalid CIDR "${text}"`);
  const version = net.isIP(address);
  if (!version) throw new Error(`invalid CIDR "${text}": not an IP address`);
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!/^\d+$/.test(prefixText ?? String(max)) || prefix > max) throw new Error(`invalid CIDR "${text}": prefix must be 0-${max}`);
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** An IPv4-mapped (::ffff:a.b.c.d) or IPv4-compatible IPv6 address as IPv4, else null. */
function embeddedIpv4(address: string): string | null {
  const b = ipv6ToBuffer(address);
  const zeroPrefix = b.subarray(0, 10).every((x) => x === 0);
  const mapped = zeroPrefix && b[10] === 0xff && b[11] === 0xff;
  const compatible = zeroPrefix && b[10] === 0 && b[11] === 0 && b.readUInt32BE(12) > 1;
  return mapped || compatible ? [...b.subarray(12)].join('.') : null;
}

/**
 * IPv4 addresses carried inside other IPv6 forms, which reach the IPv4 network through a
 * translator or tunnel: SIIT `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`, and
 * Teredo `2001::/32` (its server and its obfuscated client address). A denied IPv4 address must
 * not become reachable by writing it in one of these.
 */
function tunnelledIpv4s(address: string): string[] {
  const b = ipv6ToBuffer(address);
  const v4 = (x: Buffer | number[]) => [...x].join('.');
  const zero = (from: number, to: number) => b.subarray(from, to).every((x) => x === 0);
  const out: string[] = [];
  if (zero(0, 8) && b[8] === 0xff && b[9] === 0xff && b[10] === 0 && b[11] === 0) out.push(v4(b.subarray(12)));
  if (b.readUInt32BE(0) === 0x0064ff9b && zero(4, 12)) out.push(v4(b.subarray(12)));
  if (b.readUInt16BE(0) === 0x2002) out.push(v4(b.subarray(2, 6)));
  if (b.readUInt32BE(0) === 0x20010000) out.push(v4(b.subarray(4, 8)), v4([...b.subarray(12)].map((x) => x ^ 0xff)));
  return out;
}

export interface PeerPolicyOptions {
  /** CIDRs allowed even though they fall in a denied range. */
  allowedPeers: readonly string[];
  /** Addresses of this server (listening, relay, external, interfaces). */
  ownAddresses: readonly string[];
  /** Relay port range: on the server's own addresses only these ports are reachable. */
  relayPortRange: { min: number; max: number };
}

export class PeerPolicy {
  private readonly denied = new net.BlockList();
  private readonly allowed = new net.BlockList();
  private readonly own = new Set<string>();
  private readonly relayPortRange: { min: number; max: number };
  private readonly listeningPorts = new Set<number>();

  constructor({ allowedPeers, ownAddresses, relayPortRange }: PeerPolicyOptions) {
    for (const cidr of DEFAULT_DENIED_PEERS.map(parseCidr)) this.denied.addSubnet(cidr.address, cidr.prefix, cidr.family);
    for (const cidr of allowedPeers.map(parseCidr)) this.allowed.addSubnet(cidr.address, cidr.prefix, cidr.family);
    for (const address of ownAddresses) {
      const key = PeerPolicy.canonical(address);
      if (key) this.own.add(key);
    }
    this.relayPortRange = relayPortRange;
  }

  /** Never relay to `port` on the server's own addresses, even inside the relay range (its listeners). */
  protectPort(port: number): void {
    this.listeningPorts.add(port);
  }

  /** Canonical text of an IP (IPv4-mapped IPv6 folded to IPv4), or null if not an IP. */
  static canonical(address: string): string | null {
    const version = net.isIP(address);
    if (version === 4) return address;
    if (version !== 6) return null;
    return embeddedIpv4(address) ?? new URL(`http://[${address}]`).hostname.slice(1, -1);
  }

  /**
   * May the server relay to `address` (and `port`, when known)?
   * - denied ranges are refused unless allow-listed;
   * - the server's own addresses only expose the relay port range (TURN-to-TURN calls
   *   through one server work, its listening ports and other local services do not).
   *   CreatePermission carries no port, so it is checked again per datagram/ChannelBind.
   */
  isAllowed(address: string, port?: number): boolean {
    const ip = PeerPolicy.canonical(address);
    if (ip === null) return false;
    const family = net.isIPv4(ip) ? 'ipv4' : 'ipv6';
    // The server's own addresses come first, even in a denied range (a LAN or loopback relay IP):
    // two clients of this server relaying to each other is the normal case, and on those
    // addresses only relay ports (other allocations, which check their own permissions) are reachable.
    if (this.own.has(ip)) {
      return port === undefined || (!this.listeningPorts.has(port) && port >= this.relayPortRange.min && port <= this.relayPortRange.max);
    }
    if (this.denied.check(ip, family) && !this.allowed.check(ip, family)) return false;
    if (family === 'ipv6') {
      for (const v4 of tunnelledIpv4s(ip)) if (this.denied.check(v4, 'ipv4') && !this.allowed.check(v4, 'ipv4')) return false;
    }
    return true;
  }
}
