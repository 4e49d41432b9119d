// Node TURN client: used by tests, the benchmark and connectivity checks.
export { TurnClient } from './TurnClient.ts';
export type { AllocateOptions, AllocateResult, RequestAttribute, TurnClientEvents, TurnClientOptions, TurnTransportKind } from './TurnClient.ts';
export { TurnRequestError } from './TurnRequestError.ts';
export type { StreamClientTlsOptions } from './StreamClientChannel.ts';
export { StunMessage, longTermKey } from '../stun/StunMessage.ts';
export type { StunAttribute } from '../stun/StunMessage.ts';
export { StunAttr, StunClass, StunMethod } from '../stun/constants.ts';
export type { TransportAddress } from '../stun/attributes.ts';
