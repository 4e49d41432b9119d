/**
 * Is the media server reachable at the addresses it announces? For each ICE candidate of an SFU
 * transport (UDP and TCP), send the STUN Binding request a browser's ICE agent would: USERNAME
 * `<server ufrag>:<ours>`, PRIORITY, ICE-CONTROLLING, MESSAGE-INTEGRITY keyed with the
 * transport's ICE password, FINGERPRINT. Only that transport's ICE agent can answer with a valid
 * MESSAGE-INTEGRITY, so a verified answer proves the announced address and port lead to it.
 * ICE-TCP frames STUN with a 2-byte length (RFC 4571), as mediasoup expects.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { StunAttr, StunClass, StunMessage, StunMethod } from '../../turn/src/client/index.ts';

export interface IceCandidateLike {
  address?: string;
  ip?: string;
  port: number;
  protocol: 'udp' | 'tcp';
  type?: string;
  tcpType?: string;
}

export interface IceParametersLike {
  usernameFragment: string;
  password: string;
}

export interface CandidateProbeResult {
  candidate: string;
  ok: boolean;
  rttMs: number | null;
  error: string | null;
}

/** ICE attributes the TURN client's constants do not name (RFC 8445 §16.1). */
const PRIORITY = 0x0024;
const ICE_CONTROLLING = 0x802a;

export class IceAddressProbe {
  readonly #closers = new Set<() => void>();

  constructor(
    private readonly ice: IceParametersLike,
    private readonly timeoutMs: number,
  ) {}

  async probe(candidate: IceCandidateLike): Promise<CandidateProbeResult> {
    const host = candidate.address ?? candidate.ip ?? '';
    const label = `${candidate.protocol}/${host}:${candidate.port}`;
    if (!host) return { candidate: label, ok: false, rttMs: null, error: 'the candidate has no address' };
    const key = Buffer.from(this.ice.password, 'utf8');
    const msg = new StunMessage(StunMethod.Binding, StunClass.Request);
    msg.add(StunAttr.Username, Buffer.from(`${this.ice.usernameFragment}:${randomBytes(4).toString('hex')}`, 'utf8'));
    const priority = Buffer.alloc(4);
    priority.writeUInt32BE(0x6e0001ff, 0); // a peer-reflexive priority, as browsers send
    msg.add(PRIORITY, priority);
    msg.add(ICE_CONTROLLING, randomBytes(8));
    const wire = msg.encode({ integrityKey: key, fingerprint: true });
    const t0 = performance.now();
    try {
      const answer = candidate.protocol === 'udp' ? await this.#udp(host, candidate.port, wire) : await this.#tcp(host, candidate.port, wire);
      const res = StunMessage.decode(answer);
      if (!res || !res.transactionId.equals(msg.transactionId)) throw new Error('the answer is not STUN for our request');
      if (res.cls !== StunClass.SuccessResponse) throw new Error('the media server refused the binding request');
      if (!res.verifyIntegrity(key)) throw new Error("the answer is not signed with this transport's ICE password (another service answered)");
      return { candidate: label, ok: true, rttMs: performance.now() - t0, error: null };
    } catch (err) {
      return { candidate: label, ok: false, rttMs: null, error: (err as Error).message };
    }
  }

  close(): void {
    for (const c of [...this.#closers]) c();
  }

  #udp(host: string, port: number, wire: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
      const timers: NodeJS.Timeout[] = [];
      const done = () => {
        timers.forEach(clearTimeout);
        this.#closers.delete(done);
        socket.close();
      };
      this.#closers.add(done);
      socket.on('error', (err) => {
        done();
        reject(err);
      });
      socket.on('message', (data) => {
        done();
        resolve(data);
      });
      // Retransmit like an ICE agent (RFC 5389 7.2.1), bounded by the deadline.
      for (let at = 0, step = 250; at < this.timeoutMs; at += step, step *= 2) timers.push(setTimeout(() => socket.send(wire, port, host), at));
      timers.push(
        setTimeout(() => {
          done();
          reject(new Error(`no answer over UDP within ${this.timeoutMs} ms`));
        }, this.timeoutMs),
      );
    });
  }

  #tcp(host: string, port: number, wire: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      let buffered = Buffer.alloc(0);
      const done = () => {
        clearTimeout(timer);
        this.#closers.delete(done);
        socket.destroy();
      };
      this.#closers.add(done);
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no answer over TCP within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      socket.on('error', (err) => {
        done();
        reject(err);
      });
      socket.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(wire.length, 0);
        socket.write(Buffer.concat([len, wire]));
      });
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length < 2) return;
        const n = buffered.readUInt16BE(0);
        if (buffered.length < 2 + n) return;
        done();
        resolve(buffered.subarray(2, 2 + n));
      });
    });
  }
}
