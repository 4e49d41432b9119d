/**
 * HTTP side of embedding (docs/embedding.md):
 *   GET /embed.js                              the host-page script (cross-origin loadable)
 *   GET /api/embed/check?origin=<host origin>  { allowed } — CORS-open, so embed.js can ask first
 *   GET /embed/call/:room?parent=<host origin> the call app for the iframe, framable only by
 *                                              allowed origins (CSP frame-ancestors)
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Response } from 'express';
import { RoomId } from '../protocol/index.ts';
import type { EmbedPolicy } from './EmbedPolicy.ts';
import { pageCsp } from './contentSecurity.ts';

export function createEmbedRouter(deps: { policy: EmbedPolicy; webDist: string }): express.Router {
  const router = express.Router();
  const { policy } = deps;
  const indexHtml = join(deps.webDist, 'index.html');
  const embedJs = join(deps.webDist, 'embed.js');

  router.get('/embed.js', (_req, res) => {
    if (!existsSync(embedJs)) {
      res.status(503).type('text/plain').send('embed.js is not built. Run `npm run build:web`.');
      return;
    }
    // Not fingerprinted: revalidate, so host pages pick up a new version right away.
    res.setHeader('Cache-Control', 'no-cache');
    // Host pages with Cross-Origin-Embedder-Policy may load it too.
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    res.sendFile(embedJs);
  });

  router.get('/api/embed/check', (req, res) => {
    const origin = typeof req.query['origin'] === 'string' ? req.query['origin'] : (req.headers.origin ?? null);
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Cache-Control', 'no-store');
    res.json({ allowed: policy.allows(origin), enabled: policy.enabled });
  });

  router.get('/embed/call/:room', (req, res) => {
    const parent = typeof req.query['parent'] === 'string' ? req.query['parent'] : null;
    if (!policy.allows(parent)) {
      refuse(
        res,
        403,
        policy.enabled
          ? `Embedding from ${parent ?? '(no ?parent= origin)'} is not allowed by this server (EMBED_ALLOWED_ORIGINS).`
          : 'Embedding is disabled on this server (EMBED_ALLOWED_ORIGINS is not set).',
      );
      return;
    }
    if (!RoomId.safeParse(req.params['room']).success) {
      refuse(res, 400, 'Invalid room name: use 3–64 letters, digits, "-" or "_".');
      return;
    }
    if (!existsSync(indexHtml)) {
      refuse(res, 503, 'The web app is not built. Run `npm run build:web`.');
      return;
    }
    // The browser itself stops any other site from framing the call.
    res.setHeader('Content-Security-Policy', pageCsp(policy.frameAncestors));
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(indexHtml);
  });

  return router;
}

function refuse(res: Response, status: number, text: string): void {
  res.status(status).setHeader('Content-Security-Policy', "frame-ancestors 'none'").type('text/plain').send(text);
}
