/**
 * Test fixture: a whole callwire deployment in-process on loopback for the connectivity tests
 * (vitest for the CLI, Playwright for the page): HTTP + signaling on an ephemeral port, the
 * SFU on `sfuRtcPort`, and the bundled TURN relay over UDP, TCP and TLS on ephemeral ports with
 * a self-signed certificate for localhost/127.0.0.1. Not shipped.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CallwireServer } from '../../../server/src/CallwireServer.ts';
import { loadConfig } from '../../../server/src/config.ts';
import { makeSelfSignedCert } from '../../../turn/test/helpers.ts';

export interface ConnectivityStackOptions {
  /** Worker 0's media port (UDP and TCP); distinct per test file. */
  sfuRtcPort: number;
  /** false: the relay has no UDP listener (TURN_UDP_PORT=off), so no turn:…?transport=udp URL. */
  turnUdp?: boolean;
  env?: Record<string, string>;
}

export class ConnectivityStack {
  private constructor(
    readonly server: CallwireServer,
    /** PEM of the relay's self-signed certificate (what `--ca` trusts). */
    readonly caPem: string,
    readonly caPath: string,
    private readonly certDir: string,
  ) {}

  static async start(o: ConnectivityStackOptions): Promise<ConnectivityStack> {
    const cert = makeSelfSignedCert();
    const server = new CallwireServer(
      loadConfig({
        DATA_DIR: ':memory:',
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'error',
        SFU_ENABLED: 'true',
        SFU_WORKERS: '1',
        SFU_RTC_PORT: String(o.sfuRtcPort),
        TURN_UDP_PORT: o.turnUdp === false ? 'off' : '0',
        TURN_TCP_PORT: '0',
        TURN_TLS_PORT: '0',
        TURN_TLS_CERT: join(cert.dir, 'cert.pem'),
        TURN_TLS_KEY: join(cert.dir, 'key.pem'),
        ...o.env,
      }),
    );
    try {
      await server.start();
    } catch (err) {
      await server.close().catch(() => {});
      rmSync(cert.dir, { recursive: true, force: true });
      throw err;
    }
    return new ConnectivityStack(server, cert.cert, join(cert.dir, 'cert.pem'), cert.dir);
  }

  get url(): string {
    return this.server.url;
  }

  async close(): Promise<void> {
    await this.server.close();
    rmSync(this.certDir, { recursive: true, force: true });
  }
}
