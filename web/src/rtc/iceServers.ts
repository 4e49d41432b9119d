import type { IceServerInfo } from '@protocol';

export type RelayTransport = 'udp' | 'tcp' | 'tls';

const urlsOf = (s: IceServerInfo) => (Array.isArray(s.urls) ? s.urls : [s.urls]);

function usesTransport(url: string, t: RelayTransport): boolean {
  if (t === 'tls') return url.startsWith('turns:');
  if (!url.startsWith('turn:')) return false;
  const param = /[?&]transport=(udp|tcp)/i.exec(url)?.[1]?.toLowerCase() ?? 'udp'; // RFC 7065: UDP by default
  return param === t;
}

/** Keeps only the TURN URLs of one transport, for relay-only calls over a chosen path (and for diagnosis). */
export function relayServersFor(servers: readonly IceServerInfo[], transport: RelayTransport): IceServerInfo[] {
  return servers.flatMap((s) => {
    const urls = urlsOf(s).filter((u) => usesTransport(u, transport));
    return urls.length > 0 ? [{ ...s, urls }] : [];
  });
}
