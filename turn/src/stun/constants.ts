// STUN/TURN wire constants (RFC 5389, RFC 5766, RFC 6156).

export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_LENGTH = 20;

export const StunClass = {
  Request: 0b00,
  Indication: 0b01,
  SuccessResponse: 0b10,
  ErrorResponse: 0b11,
} as const;
export type StunClass = (typeof StunClass)[keyof typeof StunClass];

export const StunMethod = {
  Binding: 0x001,
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
  ChannelBind: 0x009,
} as const;
export type StunMethod = (typeof StunMethod)[keyof typeof StunMethod];

export const StunAttr = {
  MappedAddress: 0x0001,
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  UnknownAttributes: 0x000a,
  ChannelNumber: 0x000c,
  Lifetime: 0x000d,
  XorPeerAddress: 0x0012,
  Data: 0x0013,
  Realm: 0x0014,
  Nonce: 0x0015,
  XorRelayedAddress: 0x0016,
  RequestedAddressFamily: 0x0017,
  EvenPort: 0x0018,
  RequestedTransport: 0x0019,
  DontFragment: 0x001a,
  XorMappedAddress: 0x0020,
  ReservationToken: 0x0022,
  Software: 0x8022,
  Fingerprint: 0x8028,
} as const;

/** REQUESTED-TRANSPORT protocol number for UDP relays. */
export const TRANSPORT_UDP = 17;
/** Address family codes used in address attributes and REQUESTED-ADDRESS-FAMILY. */
export const FAMILY_IPV4 = 0x01;
export const FAMILY_IPV6 = 0x02;

/** Channel numbers usable for ChannelBind (RFC 5766 section 11). */
export const MIN_CHANNEL = 0x4000;
export const MAX_CHANNEL = 0x7ffe;
