/**
 * Gathers this browser's ICE candidates for a given configuration (no remote peer needed): what
 * addresses WebRTC can use, what a STUN server says our public address is, and the errors the
 * browser reports per server URL (`icecandidateerror`: 701 = no answer, 401 = bad credentials…).
 */
export interface GatheredCandidate {
  type: string;
  protocol: string;
  address: string;
  port: number;
  relatedAddress: string | null;
  url: string | null;
}

export interface GatherResult {
  candidates: GatheredCandidate[];
  errors: { url: string; errorCode: number; errorText: string }[];
  /** False when the deadline came before gathering completed. */
  complete: boolean;
  ms: number;
}

export class IceGatherProbe {
  readonly #pc: RTCPeerConnection;

  constructor(config: RTCConfiguration) {
    this.#pc = new RTCPeerConnection(config);
  }

  async gather(timeoutMs: number, signal: AbortSignal): Promise<GatherResult> {
    const pc = this.#pc;
    const t0 = performance.now();
    const candidates: GatheredCandidate[] = [];
    const errors: GatherResult['errors'] = [];
    pc.addEventListener('icecandidate', (e) => {
      const c = e.candidate;
      if (!c || !c.candidate) return;
      candidates.push({
        type: c.type ?? parse(c.candidate, 'typ') ?? 'unknown',
        protocol: (c.protocol ?? '').toLowerCase(),
        address: c.address ?? '',
        port: c.port ?? 0,
        relatedAddress: c.relatedAddress ?? null,
        url: (e as RTCPeerConnectionIceEvent & { url?: string | null }).url ?? null,
      });
    });
    pc.addEventListener('icecandidateerror', (e) => {
      const ev = e as RTCPeerConnectionIceErrorEvent;
      errors.push({ url: ev.url, errorCode: ev.errorCode, errorText: ev.errorText });
    });
    // A data channel is enough to make the browser gather (no camera needed).
    pc.createDataChannel('probe');
    await pc.setLocalDescription(await pc.createOffer());
    const complete = await new Promise<boolean>((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve(true);
      const timer = setTimeout(() => resolve(false), timeoutMs);
      const abort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      signal.addEventListener('abort', abort, { once: true });
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState !== 'complete') return;
        clearTimeout(timer);
        signal.removeEventListener('abort', abort);
        resolve(true);
      });
    });
    return { candidates, errors, complete, ms: performance.now() - t0 };
  }

  close(): void {
    this.#pc.close();
  }
}

function parse(candidate: string, key: string): string | null {
  const parts = candidate.split(' ');
  const i = parts.indexOf(key);
  return i >= 0 ? (parts[i + 1] ?? null) : null;
}
