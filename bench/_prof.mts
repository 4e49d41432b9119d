import { io } from 'socket.io-client';
const URL = 'http://127.0.0.1:3399';
let seq = 0;
const connect = (handle = `u${seq++}`) => new Promise<any>((res, rej) => { const s = io(URL, { auth: { guest: { handle, name: handle, key: `${handle}-key-0123456789` } }, transports: ['websocket'], reconnection: false, forceNew: true }); s.once('session', () => res(s)); s.once('connect_error', rej); });
const req = async (s: any, e: string, p: unknown) => { const r = await s.timeout(10000).emitWithAck(e, p); if (!r.ok) throw new Error(e + r.error.code); return r.data; };
const next = (s: any, e: string) => new Promise<any>((r) => s.once(e, r));
const pairs = await Promise.all(Array.from({ length: 40 }, async (_, i) => [await connect(), await connect(`callee${i}`), `callee${i}`] as const));
const deadline = Date.now() + 8000; let calls = 0;
await Promise.all(pairs.map(async ([caller, callee, h]) => { while (Date.now() < deadline) {
  const ringing = next(callee, 'call.incoming'); const { callId, roomId } = await req(caller, 'call.invite', { to: h, video: true });
  await req(caller, 'room.join', { roomId, media: { audioMuted: false, videoEnabled: true } }); await ringing;
  const acc = next(caller, 'call.accepted'); await req(callee, 'call.accept', { callId }); await acc;
  const joined = next(caller, 'room.participantJoined'); const b = await req(callee, 'room.join', { roomId, media: { audioMuted: false, videoEnabled: true } }); const j = await joined;
  const off = next(caller, 'rtc.signal'); await req(callee, 'rtc.signal', { roomId, to: b.participants[0].id, description: { type: 'offer', sdp: 'v=0' } }); await off;
  await req(caller, 'rtc.signal', { roomId, to: j.participant.id, description: { type: 'answer', sdp: 'v=0' } });
  const ended = next(callee, 'call.ended'); await req(caller, 'room.leave', { roomId }); await ended; calls++; } }));
console.log('calls/s', calls / 8); process.exit(0);
