/**
 * The Content-Security-Policy of every page callwire serves (the app, the call and connectivity
 * pages, the embed frame): scripts, styles and connections only from this origin, no inline
 * script, no plugins, no <base> tricks. Only `frame-ancestors` differs: nobody may frame the app
 * pages; the embed frame may be framed by the allowed origins (EmbedPolicy).
 */
export function pageCsp(frameAncestors: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    // The favicon is a data: URI; snapshots and recordings may be blob: URLs.
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    // CSP Level 3: 'self' also covers ws:/wss: to this host (socket.io).
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ');
}

/** HSTS when callwire itself serves TLS: a year, this host only (subdomains are not ours to pin). */
export const HSTS = 'max-age=31536000';
