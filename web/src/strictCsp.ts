/**
 * The app runs under a CSP without 'unsafe-eval' (server/src/http/contentSecurity.ts). zod, which
 * the shared protocol module brings along, probes `new Function` once to decide whether to compile
 * its parsers; the probe is caught, but the browser still reports a CSP violation. Imported first.
 */
import { z } from 'zod';

z.config({ jitless: true });
