/**
 * Command line of `callwire-connectivity` (`npm run connectivity -- …`), validated up front:
 * a bad option stops the tool with a message naming it (exit 2), never a late crash.
 */
import { readFileSync } from 'node:fs';

export interface CliOptions {
  /** Origin of the callwire server, e.g. https://call.example.com */
  url: URL;
  json: boolean;
  /** JWT for servers with AUTH_MODE=jwt. */
  token: string | null;
  /** PEM CA(s) to trust for https:, wss: and turns: (a self-signed test deployment). */
  ca: string | null;
  caPath: string | null;
  /** Seconds of media through the SFU once it flows. */
  mediaSeconds: number;
  help: boolean;
}

export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

export const USAGE = `Usage: callwire-connectivity --url <server> [options]
       npm run connectivity -- --url <server> [options]

Checks a callwire deployment from this machine: HTTP, signaling (WebSocket and long-polling),
the ICE server list, STUN, TURN over UDP, TCP and TLS (a real relayed exchange), the media
server's announced addresses, and a media round trip through the SFU.

Options:
  --url <url>            the server, e.g. https://call.example.com (required)
  --json                 print one JSON report (docs/connectivity.schema.json) instead of text
  --token <jwt>          signed token, for servers with AUTH_MODE=jwt
  --ca <file>            PEM certificate(s) to trust for HTTPS and TURN over TLS
  --media-seconds <n>    seconds of media through the SFU, 1–30 (default 5)
  -h, --help             this text

Exit code: 0 when no check failed, 1 when one did, 2 for bad options.`;

export function parseCliOptions(argv: readonly string[]): CliOptions {
  const out: CliOptions = { url: new URL('http://localhost'), json: false, token: null, ca: null, caPath: null, mediaSeconds: 5, help: false };
  let url: string | null = null;
  const value = (i: number, name: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new CliUsageError(`${name} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    // --name=value is accepted as well as --name value.
    const eq = raw.startsWith('--') ? raw.indexOf('=') : -1;
    const name = eq > 0 ? raw.slice(0, eq) : raw;
    const inline = eq > 0 ? raw.slice(eq + 1) : null;
    const take = () => {
      if (inline !== null) return inline;
      const v = value(i, name);
      i++;
      return v;
    };
    switch (name) {
      case '--url':
        url = take();
        break;
      case '--json':
        out.json = true;
        break;
      case '--token':
        out.token = take();
        if (!out.token) throw new CliUsageError('--token must not be empty');
        break;
      case '--ca': {
        const path = take();
        try {
          out.ca = readFileSync(path, 'utf8');
        } catch (err) {
          throw new CliUsageError(`--ca: cannot read ${path}: ${(err as Error).message}`);
        }
        if (!out.ca.includes('-----BEGIN CERTIFICATE-----')) throw new CliUsageError(`--ca: ${path} holds no PEM certificate`);
        out.caPath = path;
        break;
      }
      case '--media-seconds': {
        const v = take();
        const n = Number(v);
        if (!/^\d+$/.test(v) || n < 1 || n > 30) throw new CliUsageError(`--media-seconds must be a whole number from 1 to 30, got "${v}"`);
        out.mediaSeconds = n;
        break;
      }
      case '-h':
      case '--help':
        out.help = true;
        break;
      default:
        throw new CliUsageError(`unknown option ${raw}`);
    }
  }
  if (out.help) return out;
  if (url === null) throw new CliUsageError('--url is required (the callwire server, e.g. https://call.example.com)');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliUsageError(`--url: "${url}" is not a URL (e.g. https://call.example.com)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new CliUsageError(`--url must be http:// or https://, got ${parsed.protocol}`);
  if (parsed.username || parsed.password) throw new CliUsageError('--url must not contain credentials; use --token');
  out.url = new URL(parsed.origin);
  return out;
}
