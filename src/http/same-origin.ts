import type { FastifyInstance } from 'fastify';
import { AppError } from '../api/errors.ts';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses a state-changing request that carries cookies and names a foreign `Origin`: cross-site request
 * forgery against a signed-in member. SameSite=Lax keeps the session cookie off requests from other sites,
 * but not off those of a sibling subdomain (the same site), and a form or a `text/plain` fetch needs no
 * preflight. Browsers send `Origin` with every such request; clients without cookies (API keys, widget
 * visitors, gateway callbacks, servers) are not concerned, nor is Better Auth, which checks its own routes
 * against the same origin.
 */
export function registerSameOriginCheck(app: FastifyInstance, ownOrigin: string): void {
  app.addHook('onRequest', async (req) => {
    if (READS.has(req.method) || req.headers.cookie === undefined) return;
    const origin = req.headers.origin;
    if (origin === undefined || origin === ownOrigin || req.url.startsWith('/api/auth/')) return;
    throw new AppError('CROSS_SITE_REQUEST');
  });
}
