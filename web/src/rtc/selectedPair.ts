/**
 * The ICE candidate pair a connection uses, read from getStats() the same way everywhere (the
 * app's stats panel, the connectivity page and CLI, the load-test bots). One rule: the pair the
 * `transport` entry names; without one (Firefox has no transport stats) the pair marked
 * `selected`, else the nominated pair that succeeded.
 */
export type StatsEntry = Record<string, unknown> & { type: string; id: string };

export interface SelectedPair {
  /** Local and remote candidate types: host, srflx, prflx, relay. */
  localType: string | null;
  remoteType: string | null;
  localAddress: string | null;
  remoteAddress: string | null;
  /** The local candidate's protocol (udp, tcp). */
  protocol: string | null;
  /** For a relay candidate, the protocol to the TURN server (udp, tcp, tls). */
  relayProtocol: string | null;
  /** What the media travels over as far as latency goes: TURN over TLS is TCP. */
  transport: 'udp' | 'tcp' | null;
  rttMs: number | null;
}

/** The stats of a report (RTCStatsReport or a plain list) as entries. */
export function statsEntries(report: RTCStatsReport | Iterable<StatsEntry>): StatsEntry[] {
  const values = 'values' in report && typeof report.values === 'function' ? report.values() : report;
  return [...(values as Iterable<StatsEntry>)];
}

export function selectedPair(report: RTCStatsReport | Iterable<StatsEntry>): SelectedPair | null {
  const entries = statsEntries(report);
  const byId = new Map(entries.map((e) => [e.id, e]));
  const transport = entries.find((e) => e.type === 'transport' && e['selectedCandidatePairId']);
  const pair =
    (transport && byId.get(String(transport['selectedCandidatePairId']))) ??
    entries.find((e) => e.type === 'candidate-pair' && (e['selected'] === true || (e['nominated'] === true && e['state'] === 'succeeded')));
  if (!pair) return null;
  const local = byId.get(String(pair['localCandidateId']));
  const remote = byId.get(String(pair['remoteCandidateId']));
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  const relayProtocol = str(local?.['relayProtocol'])?.toLowerCase() ?? null;
  const protocol = str(local?.['protocol'])?.toLowerCase() ?? null;
  const carried = relayProtocol ?? protocol;
  return {
    localType: str(local?.['candidateType']),
    remoteType: str(remote?.['candidateType']),
    localAddress: str(local?.['address']) ?? str(local?.['ip']),
    remoteAddress: str(remote?.['address']) ?? str(remote?.['ip']),
    protocol,
    relayProtocol,
    transport: carried === 'udp' ? 'udp' : carried === 'tcp' || carried === 'tls' ? 'tcp' : null,
    rttMs: typeof pair['currentRoundTripTime'] === 'number' ? pair['currentRoundTripTime'] * 1000 : null,
  };
}
