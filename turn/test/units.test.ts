// Unit tests: REST credentials, config parsing, peer policy, stream framing, STUN codec, token bucket.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTurnCredentials, parseRestUsername, restPassword, lookupRestPassword } from '../src/credentials.ts';
import { parseTurnConfig, parseTurnEnv, TurnConfigError } from '../src/config.ts';
import { PeerPolicy } from '../src/PeerPolicy.ts';
import { StreamFramer } from '../src/stun/StreamFramer.ts';
import { StunMessage, longTermKey } from '../src/stun/StunMessage.ts';
import { StunAttr, StunClass, StunMethod } from '../src/stun/constants.ts';
import { decodeXorAddress, encodeXorAddress } from '../src/stun/attributes.ts';
import { TokenBucket } from '../src/TokenBucket.ts';

describe('createTurnCredentials', () => {
  it('follows the coturn use-auth-secret scheme', () => {
    const creds = createTurnCredentials({ secret: 'a-shared-secret-value', userId: 'alice', ttlSeconds: 100, now: 1_699_999_900_000 });
    expect(creds).toEqual({
      username: '1700000000:alice',
      // printf '1700000000:alice' | openssl dgst -sha1 -hmac a-shared-secret-value -binary | base64
      credential: 'xTdKKOBgcJl7JTnRSuZfDg2AJ5E=',
      expiresAt: 1_700_000_000,
    });
    expect(restPassword('a-shared-secret-value', '1700000000:alice')).toBe(creds.credential);
  });

  it('accepts a Date for now and rejects bad input', () => {
    expect(createTurnCredentials({ secret: 's', userId: 'u', ttlSeconds: 1, now: new Date(5000) }).expiresAt).toBe(6);
    expect(() => createTurnCredentials({ secret: '', userId: 'u', ttlSeconds: 1 })).toThrow(/secret/);
    expect(() => createTurnCredentials({ secret: 's', userId: '', ttlSeconds: 1 })).toThrow(/userId/);
    expect(() => createTurnCredentials({ secret: 's', userId: 'u', ttlSeconds: 0 })).toThrow(/ttlSeconds/);
  });

  it('parses and checks REST usernames', () => {
    expect(parseRestUsername('1700000000:alice:with:colons')).toEqual({ expiresAt: 1_700_000_000, userId: 'alice:with:colons' });
    expect(parseRestUsername('1700000000')).toEqual({ expiresAt: 1_700_000_000, userId: '' });
    expect(parseRestUsername('alice:1700000000')).toBeNull();
    expect(lookupRestPassword('k', '1700000000:a', 1_699_999_999_000)).toBe(restPassword('k', '1700000000:a'));
    expect(lookupRestPassword('k', '1700000000:a', 1_700_000_000_000)).toBeUndefined();
    expect(lookupRestPassword('k', '__proto__')).toBeUndefined();
  });
});

describe('parseTurnConfig', () => {
  const secret = '0123456789abcdef0123';

  it('applies defaults and is idempotent', () => {
    const config = parseTurnConfig({ secret, listenIp: '127.0.0.1' });
    expect(config).toMatchObject({
      realm: 'callwire',
      udpPort: 3478,
      tcpPort: 3478,
      tlsPort: 5349,
      relayIp: '127.0.0.1',
      userQuota: 10,
      totalQuota: 1000,
      defaultLifetime: 600,
      bandwidthBps: 750_000,
    });
    expect(parseTurnConfig(config)).toEqual(config);
  });

  it('reads TURN_* variables and reports problems by variable name', () => {
    const config = parseTurnEnv({
      TURN_SECRET: secret,
      TURN_LISTEN_IP: '0.0.0.0',
      TURN_EXTERNAL_IP: '203.0.113.7',
      TURN_UDP_PORT: 'off',
      TURN_TLS_PORT: '443',
      TURN_ALLOWED_PEERS: '10.0.0.0/8, 192.168.1.0/24',
      TURN_BANDWIDTH_BPS: '125000',
    });
    expect(config).toMatchObject({
      relayIp: '0.0.0.0',
      externalIp: '203.0.113.7',
      udpPort: null,
      tlsPort: 443,
      allowedPeers: ['10.0.0.0/8', '192.168.1.0/24'],
      bandwidthBps: 125000,
    });
    let error: unknown;
    try {
      parseTurnConfig({ TURN_SECRET: 'short', TURN_UDP_PORT: 'abc', TURN_ALLOWED_PEERS: '10.0.0.0/33', TURN_MIN_PORT: '60000', TURN_MAX_PORT: '50000' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TurnConfigError);
    const paths = (error as TurnConfigError).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['TURN_SECRET', 'TURN_UDP_PORT', 'TURN_ALLOWED_PEERS']));
    expect((error as TurnConfigError).message).toMatch(/TURN_SECRET: must be at least 16 characters/);
  });

  it('rejects incoherent settings', () => {
    const issues = (input: Parameters<typeof parseTurnConfig>[0]) => {
      try {
        parseTurnConfig(input);
        return [];
      } catch (err) {
        return (err as TurnConfigError).issues.map((i) => `${i.path}: ${i.message}`);
      }
    };
    expect(issues({ secret })).toEqual([expect.stringMatching(/^externalIp: required/)]);
    expect(issues({ secret, listenIp: '127.0.0.1', minPort: 2000, maxPort: 1000 })).toEqual([expect.stringMatching(/^minPort/)]);
    expect(issues({ secret, listenIp: '127.0.0.1', minLifetime: 700 })).toEqual([expect.stringMatching(/^defaultLifetime/)]);
    expect(issues({ secret, listenIp: '127.0.0.1', tlsCert: '-----BEGIN CERTIFICATE-----' })).toEqual([expect.stringMatching(/^tlsKey: .*together/)]);
    expect(issues({ secret, listenIp: '127.0.0.1', tlsCert: '/nonexistent/cert.pem', tlsKey: '/nonexistent/key.pem' })).toHaveLength(2);
    expect(issues({ secret, listenIp: '127.0.0.1', udpport: 1 } as never)).toEqual([expect.stringMatching(/udpport/)]);
  });

  it('loads PEM files given as paths', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turn-pem-'));
    try {
      fs.writeFileSync(path.join(dir, 'c.pem'), '-----BEGIN CERTIFICATE-----\nx\n');
      fs.writeFileSync(path.join(dir, 'k.pem'), '-----BEGIN PRIVATE KEY-----\ny\n');
      const config = parseTurnConfig({ secret, listenIp: '127.0.0.1', tlsCert: path.join(dir, 'c.pem'), tlsKey: path.join(dir, 'k.pem') });
      expect(config.tlsCert).toContain('BEGIN CERTIFICATE');
      expect(config.tlsKey).toContain('BEGIN PRIVATE KEY');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('PeerPolicy', () => {
  const policy = new PeerPolicy({
    allowedPeers: ['192.168.10.0/24', 'fd12::/16'],
    ownAddresses: ['198.51.100.9', '203.0.113.5'],
    relayPortRange: { min: 49152, max: 65535 },
  });

  it('denies special-purpose ranges and allows public addresses', () => {
    for (const ip of [
      '127.0.0.1',
      '10.1.1.1',
      '100.100.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.0.1',
      '224.0.0.1',
      '239.1.1.1',
      '255.255.255.255',
      '0.0.0.0',
      '::',
      '::1',
      'fc00::1',
      'fe80::abcd',
      'ff02::1',
      '::ffff:10.0.0.1',
      '::ffff:7f00:1',
    ]) {
      expect(policy.isAllowed(ip, 1000), ip).toBe(false);
    }
    for (const ip of ['8.8.8.8', '1.1.1.1', '2606:4700::1111', '::ffff:8.8.8.8']) expect(policy.isAllowed(ip, 1000), ip).toBe(true);
    expect(policy.isAllowed('not-an-ip')).toBe(false);
  });

  it('denies IPv4 ranges written inside IPv6 translation and tunnel forms, and the 6to4 relay anycast', () => {
    const denied = [
      '::ffff:0:127.0.0.1', // SIIT IPv4-translated
      '::ffff:0:10.1.2.3',
      '64:ff9b::10.0.0.1', // NAT64 well-known prefix
      '64:ff9b::7f00:1',
      '2002:7f00:0001::1', // 6to4 of 127.0.0.1
      '2002:c0a8:0101::', // 6to4 of 192.168.1.1
      '2001:0:7f00:1::1', // Teredo whose server is 127.0.0.1
      '2001:0:808:808::f5ff:fffe', // Teredo whose client is 10.0.0.1 (obfuscated)
      '192.88.99.1',
    ];
    for (const ip of denied) expect(policy.isAllowed(ip, 1000), ip).toBe(false);
    const allowed = ['::ffff:0:8.8.8.8', '64:ff9b::8.8.8.8', '2002:0808:0808::1', '2001:0:808:808::f7f7:f7f7'];
    for (const ip of allowed) expect(policy.isAllowed(ip, 1000), ip).toBe(true);
  });

  it('lets the allow-list override denied ranges', () => {
    expect(policy.isAllowed('192.168.10.20', 5000)).toBe(true);
    expect(policy.isAllowed('192.168.11.20', 5000)).toBe(false);
    expect(policy.isAllowed('fd12:3::1', 5000)).toBe(true);
  });

  it("only exposes the relay port range on the server's own addresses", () => {
    // own address outside denied ranges (TEST-NET-3 is denied, so allow-list check comes first)
    const own = new PeerPolicy({ allowedPeers: [], ownAddresses: ['8.8.4.4'], relayPortRange: { min: 50000, max: 50100 } });
    expect(own.isAllowed('8.8.4.4')).toBe(true); // CreatePermission: no port
    expect(own.isAllowed('8.8.4.4', 50050)).toBe(true); // TURN-to-TURN through this server
    expect(own.isAllowed('8.8.4.4', 3478)).toBe(false);
    expect(own.isAllowed('8.8.4.4', 22)).toBe(false);
    expect(own.isAllowed('::ffff:8.8.4.4', 22)).toBe(false);
    own.protectPort(50060); // a listener whose port falls inside the relay range
    expect(own.isAllowed('8.8.4.4', 50060)).toBe(false);
  });
});

describe('StreamFramer', () => {
  const stun = new StunMessage(StunMethod.Binding, StunClass.Request).add(StunAttr.Software, Buffer.from('abc')).encode();
  const channelData = (n: number) => {
    const out = Buffer.alloc(4 + n + ((4 - (n % 4)) % 4));
    out.writeUInt16BE(0x4001, 0);
    out.writeUInt16BE(n, 2);
    out.fill(7, 4, 4 + n);
    return out;
  };

  it('splits coalesced and fragmented frames and strips ChannelData padding', () => {
    const stream = Buffer.concat([stun, channelData(5), channelData(8), stun]);
    const framer = new StreamFramer();
    const frames: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 3) frames.push(...framer.push(stream.subarray(i, i + 3)));
    expect(frames.map((f) => f.length)).toEqual([stun.length, 9, 12, stun.length]);
    expect(frames[1]).toEqual(channelData(5).subarray(0, 9));
    expect(framer.pending).toBe(0);
  });

  it('rejects bytes that are neither STUN nor ChannelData', () => {
    // TLS ClientHello sent to the plain TCP port
    expect(() => new StreamFramer().push(Buffer.from('160301020001000103037f7f', 'hex'))).toThrow(/not a STUN/);
    expect(() => new StreamFramer().push(Buffer.from('ffffffff', 'hex'))).toThrow(/not a STUN/);
  });
});

describe('StunMessage', () => {
  it('round-trips attributes with MESSAGE-INTEGRITY and FINGERPRINT', () => {
    const key = longTermKey('user', 'realm', 'pass');
    const msg = new StunMessage(StunMethod.Allocate, StunClass.Request);
    msg.add(StunAttr.XorPeerAddress, encodeXorAddress({ address: '2001:db8::1', port: 5000 }, msg.transactionId));
    msg.add(StunAttr.Username, Buffer.from('user'));
    const decoded = StunMessage.decode(msg.encode({ integrityKey: key, fingerprint: true }))!;
    expect(decoded.method).toBe(StunMethod.Allocate);
    expect(decoded.cls).toBe(StunClass.Request);
    expect(decoded.transactionId).toEqual(msg.transactionId);
    expect(decodeXorAddress(decoded.get(StunAttr.XorPeerAddress)!, decoded.transactionId)).toEqual({ address: '2001:db8::1', port: 5000 });
    expect(decoded.verifyIntegrity(key)).toBe(true);
    expect(decoded.verifyIntegrity(longTermKey('user', 'realm', 'wrong'))).toBe(false);
    expect(StunMessage.decode(Buffer.from('not stun at all, definitely'))).toBeNull();
  });
});

describe('TokenBucket', () => {
  it('lets a burst through, then the configured rate', () => {
    const bucket = new TokenBucket(1000, 2000, 0);
    expect(bucket.take(1500, 0)).toBe(true);
    expect(bucket.take(1000, 0)).toBe(false);
    expect(bucket.take(1000, 500)).toBe(true); // 500 + 500 refilled
    expect(bucket.take(10, 500)).toBe(false);
    expect(bucket.take(2000, 10_000)).toBe(true); // capped at burst
  });
});
