import { existsSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { DEFAULT_LOCALE, LOCALES } from './locales.ts';
import { registerWidgetPreview } from './widget-preview.ts';

/** Where `npm run build` writes the dashboard (see web/vite.config.ts). */
export const WEB_DIST = fileURLToPath(new URL('../../dist/web/', import.meta.url));

/** Paths the dashboard never answers, even when nothing else does: they stay JSON 404s of the API. */
const RESERVED = [/^\/api(\/|$)/, /^\/trpc(\/|$)/, /^\/widget\.js$/, /^\/metrics(\/|$)/, /^\/health/];

/**
 * The browser never runs anything but the bundle's own scripts; the API and the realtime socket are on
 * this origin (CSP3 `'self'` covers ws:/wss: of the same host).
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

const MISSING_BUILD = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Palisade</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>Palisade is running</h1>
<p>The web dashboard has not been built. Run <code>npm run build</code> and reload this page.</p>
<p>The API is at <a href="/api/docs">/api/docs</a>.</p>
</body></html>
`;

function sendIndex(reply: FastifyReply, dir: string) {
  reply.header('cache-control', 'no-cache');
  reply.header('content-security-policy', CSP);
  reply.header('x-content-type-options', 'nosniff');
  return reply.sendFile('index.html', dir, { cacheControl: false });
}

/**
 * Serves the built dashboard at `/`: files of the build as they are (hashed assets cached for a year),
 * and index.html for any other GET path so client-side routes survive a reload. Without a build, `/`
 * answers a short page saying how to make one.
 */
export async function registerWebApp(app: FastifyInstance, options: { dir?: string } = {}): Promise<void> {
  const dir = resolve(options.dir ?? WEB_DIST);

  app.get('/api/v1/locales', async () => ({ default: DEFAULT_LOCALE, locales: LOCALES }));
  // Works without a build too: it is only widget.js on a blank page.
  registerWidgetPreview(app);

  const built = existsSync(join(dir, 'index.html'));
  if (built) await app.register(fastifyStatic, { root: dir, serve: false });

  app.get('/*', async (req, reply) => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    } catch {
      return reply.callNotFound();
    }
    if (RESERVED.some((pattern) => pattern.test(path))) return reply.callNotFound();
    if (!built) {
      if (path !== '/' && extname(path) !== '') return reply.callNotFound();
      return reply.code(200).header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(MISSING_BUILD);
    }
    const file = resolve(dir, `.${path}`);
    if (file !== dir && !file.startsWith(dir + sep)) return reply.callNotFound();
    if (path !== '/' && existsSync(file) && statSync(file).isFile()) {
      if (file.endsWith(`${sep}index.html`)) return sendIndex(reply, dir);
      reply.header('x-content-type-options', 'nosniff');
      const immutable = path.startsWith('/assets/');
      return reply.sendFile(file.slice(dir.length + 1), dir, {
        cacheControl: true,
        immutable,
        maxAge: immutable ? 365 * 24 * 3600 * 1000 : 3600 * 1000,
      });
    }
    // A missing file (it has an extension) is a 404; anything else is a client route.
    if (extname(path) !== '') return reply.callNotFound();
    return sendIndex(reply, dir);
  });
}
