// The credentials callwire hands out work unchanged on coturn (`use-auth-secret`), and both
// servers relay the same way: coturn is a config-only replacement.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TurnServer } from '../src/index.ts';
import { createTurnCredentials } from '../src/credentials.ts';
import { TurnClient, TurnRequestError, type TurnTransportKind } from '../src/client/index.ts';
import { CoturnProcess } from './CoturnProcess.ts';
import { nextData, REALM, SECRET, startEchoPeer, startServer, type EchoPeer } from './helpers.ts';

let coturn: CoturnProcess | undefined;
let ours: TurnServer;
let peer: EchoPeer;

beforeAll(async () => {
  // throws "coturn is not installed ... apt-get install coturn" when missing: never skipped
  coturn = await CoturnProcess.start({ secret: SECRET, realm: REALM });
  ours = await startServer();
  peer = await startEchoPeer();
}, 20_000);

afterAll(async () => {
  await coturn?.close();
  await ours?.close();
  await peer?.close();
});

type Target = 'callwire' | 'coturn';
const portOf = (target: Target, transport: TurnTransportKind) => (target === 'coturn' ? coturn!.port : ours.addresses()[transport]!.port);

/** A TURN client of `target` over `transport`, with these credentials. */
const connectTo = (target: Target, transport: TurnTransportKind, creds: { username: string; credential: string }) =>
  TurnClient.connect({
    transport,
    host: '127.0.0.1',
    port: portOf(target, transport),
    username: creds.username,
    credential: creds.credential,
    requestTimeoutMs: 3000,
  });

describe.each(['udp', 'tcp'] as const)('over %s', (transport) => {
  it('one createTurnCredentials output allocates and relays on both servers', async () => {
    const creds = createTurnCredentials({ secret: SECRET, userId: 'compat-user', ttlSeconds: 600 });
    for (const target of ['callwire', 'coturn'] as const) {
      const client = await connectTo(target, transport, creds);
      try {
        const { relayed } = await client.allocate();
        expect(relayed.address, target).toBe('127.0.0.1');
        await client.channelBind(0x4001, peer.address);
        const echoed = nextData(client);
        client.sendChannelData(0x4001, Buffer.from(`via ${target}`));
        expect((await echoed).data.toString(), target).toBe(`via ${target}`);
        await client.createPermission(peer.address.address);
        const echoed2 = nextData(client);
        client.sendIndication(peer.address, Buffer.from(`indication via ${target}`));
        expect((await echoed2).data.toString(), target).toBe(`indication via ${target}`);
        expect(await client.refresh(0), target).toBe(0);
      } finally {
        client.close();
      }
    }
  });

  it('both servers refuse expired and wrongly signed credentials with 401', async () => {
    const expired = createTurnCredentials({ secret: SECRET, userId: 'compat-user', ttlSeconds: 10, now: Date.now() - 60_000 });
    const forged = createTurnCredentials({ secret: 'not-the-shared-secret', userId: 'compat-user', ttlSeconds: 600 });
    for (const target of ['callwire', 'coturn'] as const) {
      for (const creds of [expired, forged]) {
        const client = await connectTo(target, transport, creds);
        try {
          const err = await client.allocate().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err, target).toBeInstanceOf(TurnRequestError);
          expect((err as TurnRequestError).code, target).toBe(401);
        } finally {
          client.close();
        }
      }
    }
  });
});
