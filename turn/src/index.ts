// Public API of the callwire TURN relay.
export { TurnServer } from './TurnServer.ts';
export type {
  AllocationInfo,
  TurnAddresses,
  TurnClientTransport,
  TurnEndpoint,
  TurnLogger,
  TurnLogLevel,
  TurnServerEvents,
  TurnServerOptions,
  TurnServerStats,
} from './TurnServer.ts';
export { parseTurnConfig, parseTurnEnv, turnConfigFromEnv, turnConfigSchema, TurnConfigError, TURN_ENV } from './config.ts';
export type { TurnConfig, TurnConfigInput, TurnConfigIssue } from './config.ts';
export { createTurnCredentials, restPassword, parseRestUsername } from './credentials.ts';
export type { TurnCredentials, TurnCredentialsOptions, ParsedRestUsername } from './credentials.ts';
export { PeerPolicy, DEFAULT_DENIED_PEERS } from './PeerPolicy.ts';
export * from './client/index.ts';
