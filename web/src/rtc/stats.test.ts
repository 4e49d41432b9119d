import { describe, expect, it } from 'vitest';
import { selectedPair } from './stats.ts';

const candidates = [
  { id: 'L', type: 'local-candidate', candidateType: 'relay', protocol: 'udp', relayProtocol: 'tls', address: '192.0.2.10' },
  { id: 'R', type: 'remote-candidate', candidateType: 'host', address: '192.0.2.11' },
  { id: 'L2', type: 'local-candidate', candidateType: 'host', protocol: 'udp', address: '127.0.0.1' },
];

describe('selectedPair', () => {
  it('takes the pair the transport names (Chromium)', () => {
    const p = selectedPair([
      ...candidates,
      { id: 'T', type: 'transport', selectedCandidatePairId: 'P1' },
      { id: 'P1', type: 'candidate-pair', localCandidateId: 'L', remoteCandidateId: 'R', currentRoundTripTime: 0.012 },
      { id: 'P2', type: 'candidate-pair', localCandidateId: 'L2', remoteCandidateId: 'R', nominated: true, state: 'succeeded' },
    ]);
    expect(p).toEqual({
      localType: 'relay',
      remoteType: 'host',
      localAddress: '192.0.2.10',
      remoteAddress: '192.0.2.11',
      protocol: 'udp',
      relayProtocol: 'tls',
      transport: 'tcp',
      rttMs: 12,
      availableOutKbps: null,
    });
  });

  it('without transport stats (Firefox): the pair marked selected, else the nominated one that succeeded', () => {
    expect(selectedPair([...candidates, { id: 'P', type: 'candidate-pair', localCandidateId: 'L2', remoteCandidateId: 'R', selected: true }])).toMatchObject({
      localType: 'host',
      transport: 'udp',
    });
    expect(
      selectedPair([...candidates, { id: 'P', type: 'candidate-pair', localCandidateId: 'L2', remoteCandidateId: 'R', nominated: true, state: 'succeeded' }]),
    ).toMatchObject({ localType: 'host' });
    expect(selectedPair([...candidates, { id: 'P', type: 'candidate-pair', localCandidateId: 'L2', remoteCandidateId: 'R', state: 'in-progress' }])).toBeNull();
  });
});
