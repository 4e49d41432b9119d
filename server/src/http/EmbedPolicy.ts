/**
 * Which host pages may embed callwire (EMBED_ALLOWED_ORIGINS). Default: none — embedding is
 * refused until an operator lists origins (or sets `*` on purpose). The list is enforced by the
 * browser through `Content-Security-Policy: frame-ancestors` on the embed frame page; the server
 * also refuses to serve that page for a `?parent=` origin that is not allowed, and answers
 * /api/embed/check so embed.js can tell the host page why instead of showing a blank frame.
 */
export type EmbedOrigins = '*' | readonly string[];

/** Parses the env value: `*`, or comma-separated http(s) origins. Throws a message naming the bad entry. */
export function parseEmbedOrigins(raw: string): EmbedOrigins {
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.includes('*')) {
    if (entries.length > 1) throw new Error('"*" allows every origin and cannot be combined with a list');
    return '*';
  }
  const out: string[] = [];
  for (const e of entries) {
    const origin = canonicalOrigin(e);
    if (!origin) throw new Error(`"${e}" is not an origin like https://www.example.com (scheme, host, optional port; no path)`);
    if (!out.includes(origin)) out.push(origin);
  }
  return out;
}

/** "https://Example.com:443/" → "https://example.com"; null for anything that is not an http(s) origin. */
export function canonicalOrigin(value: string): string | null {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  if (u.username || u.password || u.search || u.hash || (u.pathname !== '/' && u.pathname !== '')) return null;
  if (!/^https?:\/\/[^/?#]+\/?$/i.test(value)) return null;
  return u.origin;
}

export class EmbedPolicy {
  constructor(readonly origins: EmbedOrigins = []) {}

  get enabled(): boolean {
    return this.origins === '*' || this.origins.length > 0;
  }

  allows(origin: string | null | undefined): boolean {
    const o = origin ? canonicalOrigin(origin) : null;
    if (!o) return false;
    return this.origins === '*' || this.origins.includes(o);
  }

  /** The frame-ancestors source list for the embed page. */
  get frameAncestors(): string {
    if (this.origins === '*') return '*';
    return this.origins.length > 0 ? this.origins.join(' ') : "'none'";
  }
}
