/**
 * HTTP routes: the web app (one page for `/` and `/call/:room`), the REST API and a health check.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Request, type Response } from 'express';
import type { Authenticator } from '../identity/Authenticator.ts';
import { RoomId, SignalingError, type IceServerInfo, type UserInfo } from '../protocol/index.ts';
import { EmbedPolicy, type EmbedOrigins } from './EmbedPolicy.ts';
import { createEmbedRouter } from './embedRoutes.ts';
import { HSTS, pageCsp } from './contentSecurity.ts';
import { sameSecret } from '../identity/ids.ts';

export interface HttpAppDeps {
  webDist: string;
  /** Only token checks happen over HTTP; guest handles are bound by signaling. */
  auth: Pick<Authenticator, 'mode' | 'verifyBearer'>;
  iceServersFor: (user: UserInfo, requestHost?: string) => IceServerInfo[];
  /** `ok: false` answers 503 (the shared store is unreachable): a load balancer takes the node out. */
  health: () => Promise<{ ok: boolean } & Record<string, unknown>>;
  /** Who may see the health details (counts of people, rooms, calls); null: nobody. */
  metricsToken: string | null;
  /** Whether group calls (the SFU) are available, for `/api/config`. */
  groupCalls: () => boolean;
  /** The end-to-end encryption policy, for `/api/config` (clients skip encrypting when it is off). */
  e2ee?: 'required' | 'preferred' | 'off';
  trustProxy: boolean;
  /** Host page origins that may embed calls; default none. */
  embedAllowedOrigins?: EmbedOrigins;
  /** Served over TLS by callwire itself: send HSTS. */
  tls?: boolean;
  /** Prometheus exposition for `/metrics` (bearer metricsToken); absent: no metrics here. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** A room's call-quality history on this node (bearer metricsToken); null: none kept. */
  qualityOf?: (roomId: string) => unknown;
}

export function createHttpApp(deps: HttpAppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy);
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (deps.tls) res.setHeader('Strict-Transport-Security', HSTS);
    next();
  });
  // Before the /api fallback and the app pages: embed.js, /api/embed/check, /embed/call/:room.
  app.use(createEmbedRouter({ policy: new EmbedPolicy(deps.embedAllowedOrigins), webDist: deps.webDist }));

  app.get('/healthz', async (req, res) => {
    try {
      const h = await deps.health();
      res.setHeader('Cache-Control', 'no-store');
      // Counts of people, rooms and calls tell an outsider how busy (and how big) a deployment
      // is: only operators holding the metrics token see them.
      res.status(h.ok ? 200 : 503).json(bearerMatches(req, deps.metricsToken) ? h : { ok: h.ok });
    } catch (err) {
      res.status(503).json({ ok: false, error: (err as Error).message });
    }
  });

  // Operators only: without METRICS_TOKEN set, these do not exist (METRICS_PORT serves /metrics).
  app.get('/metrics', async (req, res) => {
    if (!deps.metrics || !deps.metricsToken) return void res.status(404).type('text/plain').send('Not found');
    if (!bearerMatches(req, deps.metricsToken)) {
      return void res
        .status(401)
        .setHeader('WWW-Authenticate', 'Bearer')
        .json({ error: { code: 'unauthorized', message: 'metrics need Authorization: Bearer <METRICS_TOKEN>' } });
    }
    await sendMetrics(res, deps.metrics);
  });
  app.get('/api/rooms/:roomId/quality', (req, res) => {
    if (!deps.qualityOf || !deps.metricsToken)
      return void res.status(404).json({ error: { code: 'not-found', message: 'call-quality history is off (set METRICS_TOKEN)' } });
    if (!bearerMatches(req, deps.metricsToken))
      return void res.status(401).json({ error: { code: 'unauthorized', message: 'needs Authorization: Bearer <METRICS_TOKEN>' } });
    const id = RoomId.safeParse(req.params['roomId']);
    if (!id.success) return void res.status(400).json({ error: { code: 'invalid-message', message: id.error.issues[0]?.message ?? 'bad room id' } });
    const summary = deps.qualityOf(id.data);
    res.setHeader('Cache-Control', 'no-store');
    if (!summary) return void res.status(404).json({ error: { code: 'unknown-room', message: `no quality reports for room ${id.data} on this node` } });
    res.json(summary);
  });

  app.get('/api/config', (_req, res) => {
    res.json({ authMode: deps.auth.mode, groupCalls: deps.groupCalls(), e2ee: deps.e2ee ?? 'required' });
  });

  /** Same iceServers a client gets when it joins; authenticated like signaling. */
  app.get('/api/ice-servers', async (req: Request, res: Response) => {
    try {
      const user = await authenticateHttp(req, deps.auth);
      res.setHeader('Cache-Control', 'no-store');
      res.json({ iceServers: deps.iceServersFor(user, req.headers.host) });
    } catch (err) {
      const e = err instanceof SignalingError ? err : new SignalingError('internal', 'internal error');
      res.status(e.code === 'unauthorized' ? 401 : 500).json({ error: e.toJSON() });
    }
  });

  app.use('/api', (_req, res) => {
    res.status(404).json({ error: { code: 'unknown-event', message: 'no such API route' } });
  });

  const indexHtml = join(deps.webDist, 'index.html');
  // Source maps are built for operators (error reports) but never published: they would hand
  // out the whole client source with comments.
  app.use((req, res, next) => {
    if (req.path.endsWith('.map')) res.status(404).type('text/plain').send('Not found');
    else next();
  });
  app.use(
    express.static(deps.webDist, {
      index: false,
      setHeaders: (res, path) => {
        // Vite fingerprints everything under assets/, so those never change.
        if (path.includes(`${join(deps.webDist, 'assets')}`)) res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
      },
    }),
  );
  const sendApp = (_req: Request, res: Response) => {
    if (!existsSync(indexHtml)) {
      res.status(503).type('text/plain').send('The web app is not built. Run `npm run build:web` (npm start does it).');
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    // Only /embed/call/:room may be framed (by allowed origins); the app pages never.
    res.setHeader('Content-Security-Policy', pageCsp("'none'"));
    res.sendFile(indexHtml);
  };
  app.get('/', sendApp);
  app.get('/connectivity', sendApp);
  app.get('/call/:room', (req, res) => {
    if (!RoomId.safeParse(req.params['room']).success) {
      res.status(400).type('text/plain').send('Invalid room name: use 3–64 letters, digits, "-" or "_".');
      return;
    }
    sendApp(req, res);
  });
  app.use((_req, res) => {
    res.status(404).type('text/plain').send('Not found');
  });
  return app;
}

/** Writes the metrics exposition; a failing collector answers 500 rather than half a scrape. */
export async function sendMetrics(res: Response, metrics: () => Promise<{ contentType: string; body: string }>): Promise<void> {
  try {
    const m = await metrics();
    res.setHeader('Cache-Control', 'no-store');
    res.type(m.contentType).send(m.body);
  } catch (err) {
    res
      .status(500)
      .type('text/plain')
      .send(`metrics failed: ${(err as Error).message}`);
  }
}

function bearerMatches(req: Request, token: string | null): boolean {
  const header = req.headers.authorization;
  if (!token || !header?.startsWith('Bearer ')) return false;
  return sameSecret(header.slice('Bearer '.length).trim(), token);
}

async function authenticateHttp(req: Request, auth: HttpAppDeps['auth']): Promise<UserInfo> {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return auth.verifyBearer(header.slice('Bearer '.length).trim());
  // No anonymous TURN credentials: that would make the relay an open one (docs/security.md).
  throw new SignalingError('unauthorized', `Authorization: Bearer <${auth.mode === 'jwt' ? 'token' : 'session token from the signaling session'}> required`);
}
