/**
 * The callwire signaling contract: zod schemas for everything a client sends, and the types of
 * everything the server sends back. Server and web both import this file; docs/protocol.md
 * describes it for people.
 */
import type { types as ms } from 'mediasoup-client';
import { z } from 'zod';
import type { ErrorCode } from './errors.ts';

export const LIMITS = {
  /** Largest SDP accepted. Chromium's audio+video offers are ~6–10 KB. */
  sdpBytes: 100_000,
  candidateBytes: 1_024,
  /** Largest serialized payload of any single message (the transport hard limit is larger). */
  messageBytes: 128_000,
  nameLength: 64,
  presenceWatch: 50,
  missedAckBatch: 100,
} as const;

const noControlChars = /^[^\u0000-\u001f\u007f]*$/;

export const Handle = z.string().regex(/^[a-z0-9][a-z0-9._-]{1,31}$/, 'handle: 2–32 of a-z 0-9 . _ -, starting with a letter or digit');
export const DisplayName = z
  .string()
  .trim()
  .min(1, 'name must not be empty')
  .max(LIMITS.nameLength)
  .regex(noControlChars, 'name must not contain control characters');
/** Call-link rooms: letters, digits, '-' and '_'. Ids starting with `call-` belong to 1:1 calls. */
export const RoomId = z.string().regex(/^[A-Za-z0-9_-]{3,64}$/, 'room id: 3–64 of A-Z a-z 0-9 _ -');
export const Id = z.string().regex(/^[A-Za-z0-9_-]{6,64}$/, 'id: 6–64 of A-Z a-z 0-9 _ -');
export const CALL_ROOM_PREFIX = 'call-';
/** Host secrets and admission tickets. */
const Secret = z.string().min(16).max(128);
/**
 * Ids starting with `echo-` are echo rooms, for the connectivity test: one participant, on the
 * SFU from the start, who receives their own streams back (docs/protocol.md, Echo rooms).
 */
export const ECHO_ROOM_PREFIX = 'echo-';
/**
 * A device's end-to-end encryption identity key: an uncompressed P-256 public key (65 bytes),
 * base64url without padding. The private half never leaves the browser (docs/e2ee.md).
 */
export const E2eePublicKey = z.string().regex(/^[A-Za-z0-9_-]{87}$/, 'publicKey: a P-256 public key, 65 bytes in base64url');
/** A sender's media key for one participant, encrypted to that participant's identity key: IV + ciphertext + tag. */
export const WrappedKey = z.string().regex(/^[A-Za-z0-9_-]{40,128}$/, 'wrapped: 30–96 bytes in base64url');

// ---------------------------------------------------------------------------------------------
// Handshake (socket.io `auth` payload)

export const GuestAuth = z.strictObject({
  handle: Handle,
  name: DisplayName,
  /** A random per-device secret that keeps the handle this device's while the server runs. */
  key: z.string().min(16).max(128),
});
export const HandshakeAuth = z.union([z.strictObject({ token: z.string().min(1).max(8_192) }), z.strictObject({ guest: GuestAuth })]);
export type HandshakeAuth = z.infer<typeof HandshakeAuth>;

// ---------------------------------------------------------------------------------------------
// Client → server requests. Each is emitted with an acknowledgement callback and answered
// with `Ack<Response>`.

export const MediaState = z.strictObject({
  audioMuted: z.boolean(),
  videoEnabled: z.boolean(),
});

export const SessionDescription = z.strictObject({
  type: z.enum(['offer', 'answer']),
  sdp: z.string().min(1).max(LIMITS.sdpBytes, `sdp larger than ${LIMITS.sdpBytes} bytes`),
});
export const IceCandidate = z.strictObject({
  candidate: z.string().max(LIMITS.candidateBytes),
  sdpMid: z.string().max(32).nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(64).nullable().optional(),
  usernameFragment: z.string().max(256).nullable().optional(),
});

// mediasoup parameters are validated for shape and size here and in depth by mediasoup itself
// (which throws TypeError, answered as invalid-message). Their TypeScript types are
// mediasoup-client's (type-only), so clients pass a Device's objects without casts.
const MsObject = z.looseObject({});
const MsArray = (max: number) => z.array(MsObject).max(max);
const CodecCapability = z.looseObject({
  kind: z.enum(['audio', 'video']),
  mimeType: z
    .string()
    .regex(/^(audio|video)\/[\w.-]+$/)
    .max(64),
  clockRate: z.number().int().positive(),
});
/** The runtime check is `schema`; the static type is mediasoup-client's `T`. */
const typedAs = <T>(schema: z.ZodType) => schema as unknown as z.ZodType<T>;
export const RtpCapabilities = typedAs<ms.RtpCapabilities>(
  z.looseObject({ codecs: z.array(CodecCapability).min(1).max(64), headerExtensions: MsArray(64).optional() }),
);
export const RtpParameters = typedAs<ms.RtpParameters>(
  z.looseObject({
    mid: z.string().max(32).optional(),
    codecs: MsArray(16),
    headerExtensions: MsArray(32).optional(),
    encodings: MsArray(8).optional(),
    rtcp: MsObject.optional(),
  }),
);
export const DtlsParameters = typedAs<ms.DtlsParameters>(
  z.looseObject({ role: z.enum(['auto', 'client', 'server']).optional(), fingerprints: MsArray(8).min(1) }),
);
export const MediaSource = z.enum(['mic', 'camera']);

const percent = z.number().min(0).max(100);
const millis = z.number().min(0).max(600_000);

/** What a client received from one participant over the last reporting period (`quality.report`). */
export const QualityStream = z.strictObject({
  from: Id,
  kind: z.enum(['audio', 'video']),
  /** Packets the network lost, % of those sent (counting those retransmission repaired). */
  lossPct: percent,
  jitterMs: millis.nullable(),
  kbps: z.number().min(0).max(1_000_000),
  /** Audio: share of played samples the receiver had to conceal, %. */
  concealedPct: percent.nullable(),
  /** Video: share of the period the picture was frozen, %. */
  frozenPct: percent.nullable(),
  fps: z.number().min(0).max(1_000).nullable(),
});

export const requestSchemas = {
  /** Round-trip probe; also used by the connectivity test. */
  ping: z.strictObject({ t: z.number() }),
  /**
   * Replace the set of handles whose presence this connection follows. Only contacts are
   * followed: people you have been in a call or room with, or who called you.
   */
  'presence.watch': z.strictObject({ handles: z.array(Handle).max(LIMITS.presenceWatch) }),
  'call.invite': z.strictObject({ to: Handle, video: z.boolean() }),
  'call.accept': z.strictObject({ callId: Id }),
  'call.decline': z.strictObject({ callId: Id }),
  'call.cancel': z.strictObject({ callId: Id }),
  'missedCalls.ack': z.strictObject({ ids: z.array(Id).min(1).max(LIMITS.missedAckBatch) }),
  'room.create': z.strictObject({ video: z.boolean() }),
  'room.join': z.strictObject({
    roomId: RoomId,
    media: MediaState,
    /** Display name for this room; defaults to the session's name. */
    name: DisplayName.optional(),
    /** Take over a participant whose connection dropped (within the grace period). */
    resume: z.strictObject({ participantId: Id, secret: z.string().min(16).max(128) }).optional(),
    /** Call links: the host secret (from `room.create`, or an earlier join as host) makes you host. */
    host: Secret.optional(),
    /** A locked call link: the ticket `room.admitted` gave you after the host let you in. */
    admission: Secret.optional(),
    /** This device's end-to-end encryption identity key; without one, `E2EE=required` refuses the join (`e2ee-required`). */
    publicKey: E2eePublicKey.optional(),
  }),
  /** Host of a call link: lock it (newcomers knock and wait in the lobby) or unlock it. */
  'room.lock': z.strictObject({ roomId: RoomId, locked: z.boolean() }),
  /** A locked call link: ask the host to let you in (you wait in its lobby). */
  'room.knock': z.strictObject({ roomId: RoomId, name: DisplayName.optional() }),
  /** Stop waiting in a call link's lobby. */
  'room.knockCancel': z.strictObject({ roomId: RoomId }),
  /** Host: let someone waiting in the lobby in, or turn them away. */
  'room.admit': z.strictObject({ roomId: RoomId, lobbyId: Id, admit: z.boolean() }),
  /** Host: remove a participant. They cannot come back on their own: they must knock, and not at all while the call is locked. */
  'room.remove': z.strictObject({ roomId: RoomId, participantId: Id }),
  /** Host: ask a participant to mute their microphone (they decide). */
  'participant.requestMute': z.strictObject({ roomId: RoomId, participantId: Id }),
  'room.leave': z.strictObject({ roomId: RoomId }),
  'participant.update': z
    .strictObject({
      roomId: RoomId,
      name: DisplayName.optional(),
      audioMuted: z.boolean().optional(),
      videoEnabled: z.boolean().optional(),
    })
    .refine((u) => u.name !== undefined || u.audioMuted !== undefined || u.videoEnabled !== undefined, {
      message: 'nothing to update',
    }),
  'video.request': z.strictObject({ roomId: RoomId }),
  'video.respond': z.strictObject({ roomId: RoomId, requestId: Id, accept: z.boolean() }),
  /** SFU (group calls): the router's codecs, to load a mediasoup-client Device. */
  'sfu.capabilities': z.strictObject({ roomId: RoomId }),
  'sfu.createTransport': z.strictObject({ roomId: RoomId, direction: z.enum(['send', 'recv']) }),
  'sfu.connectTransport': z.strictObject({ roomId: RoomId, transportId: z.uuid(), dtlsParameters: DtlsParameters }),
  /** After the recv transport exists: the device's capabilities; the server then sends consumers. */
  'sfu.ready': z.strictObject({ roomId: RoomId, rtpCapabilities: RtpCapabilities }),
  'sfu.produce': z.strictObject({
    roomId: RoomId,
    transportId: z.uuid(),
    kind: z.enum(['audio', 'video']),
    rtpParameters: RtpParameters,
    source: MediaSource,
  }),
  'sfu.closeProducer': z.strictObject({ roomId: RoomId, producerId: z.uuid() }),
  'sfu.resumeConsumer': z.strictObject({ roomId: RoomId, consumerId: z.uuid() }),
  /** The size a consumer's video is shown at picks its simulcast layer. */
  'sfu.setPreferredLayers': z.strictObject({ roomId: RoomId, consumerId: z.uuid(), spatialLayer: z.number().int().min(0).max(2) }),
  'sfu.restartIce': z.strictObject({ roomId: RoomId, transportId: z.uuid() }),
  /** After a reconnection: every consumer this participant should have. */
  'sfu.sync': z.strictObject({ roomId: RoomId }),
  'rtc.signal': z
    .strictObject({
      roomId: RoomId,
      to: Id,
      description: SessionDescription.optional(),
      /** `null` means end-of-candidates. */
      candidate: IceCandidate.nullable().optional(),
    })
    .refine((s) => (s.description === undefined) !== (s.candidate === undefined), {
      message: 'exactly one of description or candidate',
    }),
  /** End-to-end encryption: our media key `keyId`, encrypted to participant `to`'s identity key. Relayed as is. */
  'e2ee.key': z.strictObject({ roomId: RoomId, to: Id, keyId: z.number().int().min(0).max(0xffff), wrapped: WrappedKey }),
  /**
   * Call-quality telemetry, every few seconds while in a call: what we receive from each
   * participant, our round trip and path. `setupMs` (join → first remote media) comes once.
   */
  'quality.report': z.strictObject({
    roomId: RoomId,
    path: z.enum(['p2p', 'sfu']),
    rttMs: millis.nullable(),
    setupMs: millis.optional(),
    streams: z.array(QualityStream).max(2 * 64),
  }),
} as const;

export type RequestName = keyof typeof requestSchemas;
export type RequestOf<E extends RequestName> = z.infer<(typeof requestSchemas)[E]>;

// ---------------------------------------------------------------------------------------------
// Shapes the server sends

export interface UserInfo {
  handle: string;
  name: string;
}
export interface PresenceInfo extends UserInfo {
  online: boolean;
  /** Epoch ms of the last disconnect; null while online or if never seen. */
  lastSeen: number | null;
}
export interface IceServerInfo {
  urls: string | string[];
  username?: string;
  credential?: string;
}
export type MissedCallReason = 'no-answer' | 'cancelled' | 'busy';
export interface MissedCall {
  id: string;
  callId: string;
  from: UserInfo;
  video: boolean;
  /** Epoch ms when the call was placed. */
  at: number;
  reason: MissedCallReason;
}
export type CallEndReason = 'declined' | 'busy' | 'cancelled' | 'no-answer' | 'answered-elsewhere' | 'declined-elsewhere' | 'hangup';
export interface RoomInfo {
  id: string;
  /** `link`: anyone with the link may join. `call`: a 1:1 call placed by handle. `echo`: a connectivity-test room of one person. */
  kind: 'link' | 'call' | 'echo';
  /** `audio` rooms are voice calls: cameras stay off until everyone agreed to upgrade. */
  media: 'audio' | 'video';
  /** `p2p`: one peer connection between two people. `sfu`: everyone sends to and receives from the SFU. */
  mode: 'p2p' | 'sfu';
  /** How many people the room admits now (voice calls admit more than calls with cameras on). */
  maxParticipants: number;
  /** Call links: the host locked it; newcomers knock and wait for the host. */
  locked: boolean;
  /** Media is end-to-end encrypted: every participant has an identity key and the server allows it (E2EE). */
  e2ee: boolean;
}
/** Someone waiting in a locked call link's lobby (shown to its hosts). */
export interface LobbyEntryInfo {
  id: string;
  /** The server-verified handle, apart from the display name they typed. */
  handle: string;
  name: string;
  /** Epoch ms when they knocked. */
  at: number;
}
export interface TransportInfo {
  id: string;
  iceParameters: ms.IceParameters;
  iceCandidates: ms.IceCandidate[];
  dtlsParameters: ms.DtlsParameters;
}
export interface ConsumerInfo {
  consumerId: string;
  producerId: string;
  participantId: string;
  kind: 'audio' | 'video';
  source: 'mic' | 'camera';
  rtpParameters: ms.RtpParameters;
  /** Paused by the server (the sender paused, or their audio is not among the top speakers). */
  paused: boolean;
}
export interface ParticipantInfo {
  id: string;
  handle: string;
  name: string;
  audioMuted: boolean;
  videoEnabled: boolean;
  joinedAt: number;
  /** A host of this call link (joined with its host secret). */
  host: boolean;
  /** Their end-to-end encryption identity key (null: their browser cannot encrypt, or E2EE is off). */
  publicKey: string | null;
}
/** `removed`: a host removed them. */
export type LeaveReason = 'left' | 'disconnected' | 'removed';

export interface ResponseMap {
  ping: { t: number; serverTime: number };
  /** `hidden`: asked-for handles that are not your contacts (no shared call or room): not followed. */
  'presence.watch': { presence: PresenceInfo[]; hidden: string[] };
  'call.invite': { callId: string; roomId: string; state: 'calling' | 'ringing' };
  'call.accept': { roomId: string };
  'call.decline': Record<string, never>;
  'call.cancel': Record<string, never>;
  'missedCalls.ack': { remaining: number };
  /** `hostSecret`: join with it (`room.join` `host`) to be the call link's host; keep it to stay host after a reload. */
  'room.create': { roomId: string; hostSecret: string };
  'room.join': {
    room: RoomInfo;
    self: ParticipantInfo;
    participants: ParticipantInfo[];
    resumeSecret: string;
    iceServers: IceServerInfo[];
    /** Present when you are the host: the room's host secret (a room opened by joining makes its first person host). */
    hostSecret?: string;
  };
  'room.leave': Record<string, never>;
  'room.lock': { room: RoomInfo };
  'room.knock': { lobbyId: string };
  'room.knockCancel': Record<string, never>;
  'room.admit': Record<string, never>;
  'room.remove': Record<string, never>;
  'participant.requestMute': Record<string, never>;
  'participant.update': ParticipantInfo;
  'video.request': { requestId: string };
  'video.respond': { room: RoomInfo };
  'rtc.signal': Record<string, never>;
  'e2ee.key': Record<string, never>;
  /** The server's view of the period reported: estimated audio MOS (1–5) and video frozen %, null without such streams. */
  'quality.report': { audioMos: number | null; videoFrozenPct: number | null };
  /** `routerId` names this SFU session: a different one after a reconnection means set up again. */
  'sfu.capabilities': { routerRtpCapabilities: ms.RtpCapabilities; routerId: string };
  'sfu.createTransport': TransportInfo;
  'sfu.connectTransport': Record<string, never>;
  /** The codecs this room's senders use now (`sfu.codecs` tells of changes). */
  'sfu.ready': { codecs: RoomCodecs };
  'sfu.produce': { producerId: string };
  'sfu.closeProducer': Record<string, never>;
  'sfu.resumeConsumer': Record<string, never>;
  'sfu.setPreferredLayers': Record<string, never>;
  'sfu.restartIce': { iceParameters: ms.IceParameters };
  'sfu.sync': { consumers: ConsumerInfo[]; routerId: string };
}

/**
 * What an SFU room's senders send, chosen so that everyone can decode it (the SFU forwards, it
 * does not transcode): the microphone as RED while everyone decodes RED, else plain Opus; the
 * camera as H.264 while everyone decodes it, else VP8. docs/browsers.md has the rule.
 */
export interface RoomCodecs {
  audio: 'audio/red' | 'audio/opus';
  video: 'video/H264' | 'video/VP8';
}

export type Ack<T> = { ok: true; data: T } | { ok: false; error: { code: ErrorCode; message: string } };

// ---------------------------------------------------------------------------------------------
// Server → client events

export interface ServerEventMap {
  /** Sent once after the handshake. */
  /** `token`: this session's bearer token for the HTTP API (`GET /api/ice-servers`). */
  session: { user: UserInfo; iceServers: IceServerInfo[]; serverTime: number; token: string };
  presence: PresenceInfo;
  /** The pending missed calls (all of them), on connect and whenever one is added. */
  missedCalls: { missedCalls: MissedCall[] };
  'call.incoming': { callId: string; from: UserInfo; video: boolean };
  /** The callee's device was reached (a call placed while they were offline starts ringing). */
  'call.ringing': { callId: string };
  'call.accepted': { callId: string; roomId: string };
  'call.ended': { callId: string; reason: CallEndReason };
  'room.participantJoined': { roomId: string; participant: ParticipantInfo };
  'room.participantLeft': { roomId: string; participantId: string; reason: LeaveReason };
  'room.participantUpdated': { roomId: string; participant: ParticipantInfo };
  'room.updated': { room: RoomInfo };
  /** To hosts: who waits in the lobby (the whole list, whenever it changes). */
  'room.lobby': { roomId: string; lobby: LobbyEntryInfo[] };
  /** To someone who knocked: the host let you in; join with this `admission` ticket (single use, 60 s). */
  'room.admitted': { roomId: string; ticket: string };
  /** To someone who knocked: the host turned you away (or left and the lobby closed). */
  'room.denied': { roomId: string };
  /** To the person removed: a host removed you from the call. */
  'room.removed': { roomId: string };
  /** A host asks you to mute; muting is still your choice. `from`: the host's participant id. */
  'room.muteRequested': { roomId: string; from: string };
  'video.requested': { roomId: string; requestId: string; from: string };
  'video.responded': { roomId: string; requestId: string; from: string; accept: boolean };
  'rtc.signal': {
    roomId: string;
    from: string;
    description?: z.infer<typeof SessionDescription>;
    candidate?: z.infer<typeof IceCandidate> | null;
  };
  /** A participant's media key, encrypted to our identity key (`e2ee.key`). */
  'e2ee.key': { roomId: string; from: string; keyId: number; wrapped: string };
  /** SFU: a new stream to receive (created paused: resume it once the consumer is set up). */
  'sfu.newConsumer': { roomId: string } & ConsumerInfo;
  'sfu.consumerClosed': { roomId: string; consumerId: string };
  'sfu.consumerPaused': { roomId: string; consumerId: string };
  'sfu.consumerResumed': { roomId: string; consumerId: string };
  /** The dominant speaker changed. */
  'sfu.activeSpeaker': { roomId: string; participantId: string | null };
  /** The media server behind this room restarted: set the SFU session up again. */
  'sfu.reset': { roomId: string; reason: string };
  /**
   * The room's codecs changed (someone who cannot decode H.264 or RED joined, or the last such
   * person left): send the microphone and camera in these from now on.
   */
  'sfu.codecs': { roomId: string; codecs: RoomCodecs };
  /** A message sent without an acknowledgement callback failed. */
  'signaling.error': { event: string; error: { code: ErrorCode; message: string } };
}

/** socket.io typings derived from the maps above. */
export type ClientToServerEvents = {
  [E in RequestName]: (payload: RequestOf<E>, ack: (res: Ack<ResponseMap[E]>) => void) => void;
};
export type ServerToClientEvents = {
  [E in keyof ServerEventMap]: (payload: ServerEventMap[E]) => void;
};
