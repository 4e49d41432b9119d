/**
 * A room as the cluster keeps it (multi-node only): enough for a surviving node to take over
 * a room whose node died, with every participant's seat and resume secret, so people resume
 * instead of joining afresh and peer-to-peer links never notice.
 */
import { z } from 'zod';

export const ParticipantSnapshot = z.strictObject({
  id: z.string().min(1).max(64),
  handle: z.string().min(1).max(64),
  name: z.string().max(200),
  socketId: z.string().max(64).nullable(),
  /** The node that holds the participant's socket. */
  node: z.string().max(64).nullable(),
  audioMuted: z.boolean(),
  videoEnabled: z.boolean(),
  joinedAt: z.number().int(),
  resumeSecret: z.string().max(64),
  host: z.boolean().default(false),
  publicKey: z.string().max(128).nullable().default(null),
});
export type ParticipantSnapshot = z.infer<typeof ParticipantSnapshot>;

export const RoomSnapshot = z.strictObject({
  id: z.string().min(1).max(64),
  kind: z.enum(['link', 'call', 'echo']),
  media: z.enum(['audio', 'video']),
  mode: z.enum(['p2p', 'sfu']),
  limits: z.strictObject({ maxVoice: z.number().int(), maxVideo: z.number().int() }).nullable(),
  /** 1:1 call rooms: the only two handles that may enter. */
  allowed: z.array(z.string().max(64)).max(2).nullable(),
  participants: z.array(ParticipantSnapshot).max(1000),
  /** Call links: the host secret, whether the host locked it, and whom the hosts removed. */
  hostSecret: z.string().max(64).nullable().default(null),
  locked: z.boolean().default(false),
  removed: z.array(z.string().max(64)).max(1000).default([]),
  pendingOffers: z.array(z.string().max(140)),
  described: z.array(z.string().max(140)),
});
export type RoomSnapshot = z.infer<typeof RoomSnapshot>;
