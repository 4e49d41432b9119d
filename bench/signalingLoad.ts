/**
 * Shared pieces of the signaling benchmarks (bench/signaling.ts, bench/cluster.ts): guest
 * clients over WebSocket, typed-enough requests, and the full 1:1 call set-up loop; plus CPU and
 * memory of a process read from /proc.
 */
import { readFileSync } from 'node:fs';
import { io, type Socket } from 'socket.io-client';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
/** utime + stime in clock ticks (100 per second). */
export const cpuTicks = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]);
};

export function connect(url: string, handle: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = io(url, {
      auth: { guest: { handle, name: handle, key: `${handle}-key-0123456789` } },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    s.once('session', () => resolve(s));
    s.once('connect_error', reject);
  });
}

type AckBody = { ok: boolean; data?: Record<string, unknown>; error?: { code: string } };
export const req = async (s: Socket, event: string, payload: unknown): Promise<Record<string, unknown>> => {
  const res = (await s.timeout(10_000).emitWithAck(event, payload)) as AckBody;
  if (!res.ok) throw new Error(`${event}: ${res.error?.code}`);
  return res.data ?? {};
};
export const next = (s: Socket, event: string) => new Promise<Record<string, unknown>>((resolve) => s.once(event, resolve));

/** Signaling requests one set-up sends: invite, join, accept, join, offer, answer, leave. */
export const REQUESTS_PER_SETUP = 7;

/**
 * Each pair runs full set-ups until `deadline`: invite → ring → accept → both join →
 * offer/answer → hang-up. Resolves with the number of completed set-ups.
 */
export async function callSetupLoop(pairs: (readonly [Socket, Socket, string])[], deadline: number): Promise<number> {
  let calls = 0;
  await Promise.all(
    pairs.map(async ([caller, callee, calleeHandle]) => {
      while (Date.now() < deadline) {
        const ringing = next(callee, 'call.incoming');
        const { callId, roomId } = await req(caller, 'call.invite', { to: calleeHandle, video: true });
        await req(caller, 'room.join', { roomId, media: { audioMuted: false, videoEnabled: true } });
        await ringing;
        const accepted = next(caller, 'call.accepted');
        await req(callee, 'call.accept', { callId });
        await accepted;
        const joined = next(caller, 'room.participantJoined');
        const b = await req(callee, 'room.join', { roomId, media: { audioMuted: false, videoEnabled: true } });
        const j = await joined;
        const offered = next(caller, 'rtc.signal');
        await req(callee, 'rtc.signal', { roomId, to: (b['participants'] as { id: string }[])[0]!.id, description: { type: 'offer', sdp: 'v=0' } });
        await offered;
        await req(caller, 'rtc.signal', { roomId, to: (j['participant'] as { id: string }).id, description: { type: 'answer', sdp: 'v=0' } });
        const ended = next(callee, 'call.ended');
        await req(caller, 'room.leave', { roomId });
        await ended;
        calls++;
      }
    }),
  );
  return calls;
}
