// Shared fixtures for the TURN tests. Everything binds loopback addresses only.
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { TurnServer, type TurnConfigInput } from '../src/index.ts';
import { TurnClient, type TurnTransportKind } from '../src/client/index.ts';
import { createTurnCredentials } from '../src/credentials.ts';
import type { TransportAddress } from '../src/stun/attributes.ts';

export const SECRET = 'test-secret-0123456789abcdef';
export const REALM = 'callwire.test';
/** Echo peers live on 127.0.0.2: not one of the server's own addresses (127.0.0.1). */
export const PEER_IP = '127.0.0.2';

export async function startServer(overrides: Partial<TurnConfigInput> = {}): Promise<TurnServer> {
  return TurnServer.start({
    secret: SECRET,
    realm: REALM,
    listenIp: '127.0.0.1',
    udpPort: 0,
    tcpPort: 0,
    allowedPeers: ['127.0.0.0/8'],
    ...overrides,
  });
}

export interface EchoPeer {
  address: TransportAddress;
  received: number;
  close(): Promise<void>;
}

/** UDP peer that echoes every datagram back to its sender. */
export async function startEchoPeer(ip = PEER_IP): Promise<EchoPeer> {
  const socket = dgram.createSocket('udp4');
  const peer: EchoPeer = {
    address: { address: ip, port: 0 },
    received: 0,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (msg, rinfo) => {
    peer.received++;
    socket.send(msg, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, ip, () => resolve()));
  peer.address.port = socket.address().port;
  return peer;
}

export interface ClientOptions {
  userId?: string;
  ttlSeconds?: number;
  username?: string;
  credential?: string;
  ca?: string;
}

export async function connectClient(server: TurnServer, transport: TurnTransportKind, opts: ClientOptions = {}): Promise<TurnClient> {
  const creds = createTurnCredentials({ secret: SECRET, userId: opts.userId ?? 'alice', ttlSeconds: opts.ttlSeconds ?? 3600 });
  const address = server.addresses()[transport];
  if (!address) throw new Error(`server has no ${transport} listener`);
  return TurnClient.connect({
    transport,
    host: '127.0.0.1',
    port: address.port,
    username: opts.username ?? creds.username,
    credential: opts.credential ?? creds.credential,
    requestTimeoutMs: 3000,
    ...(transport === 'tls' ? { tls: { ca: opts.ca ?? '', servername: 'localhost' } } : {}),
  });
}

/** Next 'data' event of `client`, or rejects after `ms`. */
export function nextData(client: TurnClient, ms = 2000): Promise<{ peer: TransportAddress; data: Buffer; channel: number | undefined }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('data', onData);
      reject(new Error(`no relayed data within ${ms} ms`));
    }, ms);
    const onData = (peer: TransportAddress, data: Buffer, channel: number | undefined) => {
      clearTimeout(timer);
      client.off('data', onData);
      resolve({ peer, data, channel });
    };
    client.on('data', onData);
  });
}

/** Polls `check` until it is true (bounded by `ms`). */
export async function waitFor(check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Self-signed certificate for "localhost", made with the openssl CLI in a temp dir. */
export function makeSelfSignedCert(): { cert: string; key: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'callwire-turn-tls-'));
  const certPath = path.join(dir, 'cert.pem');
  const keyPath = path.join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ],
    { stdio: 'ignore' },
  );
  return { cert: fs.readFileSync(certPath, 'utf8'), key: fs.readFileSync(keyPath, 'utf8'), dir };
}

/** Is a UDP port on `ip` free again (i.e. the relay socket was really closed)? */
export async function udpPortIsFree(ip: string, port: number): Promise<boolean> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve) => {
    socket.once('error', () => resolve(false));
    socket.bind({ address: ip, port, exclusive: true }, () => socket.close(() => resolve(true)));
  });
}
