import { describe, expect, it } from 'vitest';
import { relayServersFor } from './iceServers.ts';

const servers = [
  { urls: ['stun:h:3478'] },
  { urls: ['turn:h:3478?transport=udp', 'turn:h:3478?transport=tcp', 'turns:h:5349?transport=tcp', 'turn:h:3479'], username: 'u', credential: 'c' },
];

describe('relay transport filter', () => {
  it('keeps only the TURN URLs of the chosen transport, with their credentials', () => {
    expect(relayServersFor(servers, 'udp')).toEqual([{ urls: ['turn:h:3478?transport=udp', 'turn:h:3479'], username: 'u', credential: 'c' }]);
    expect(relayServersFor(servers, 'tcp')).toEqual([{ urls: ['turn:h:3478?transport=tcp'], username: 'u', credential: 'c' }]);
    expect(relayServersFor(servers, 'tls')).toEqual([{ urls: ['turns:h:5349?transport=tcp'], username: 'u', credential: 'c' }]);
    expect(relayServersFor([{ urls: 'stun:h' }], 'udp')).toEqual([]);
  });
});
