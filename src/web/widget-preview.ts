import type { FastifyInstance } from 'fastify';

/**
 * `GET /widget-preview?tenant=…&widget=…`: a blank stand-in for a customer's page that embeds the real
 * `/widget.js` with the widget's key, as the embed snippet does, and opens the chat at once. The dashboard
 * shows it in an iframe as a widget's live preview: sessions and streamed answers go through the public
 * widget API and its origin check like on any other site. The page's origin is this server's, which the
 * widget must list among its allowed domains (the dashboard offers to add it).
 *
 * Only a signed-in member of the widget's tenant gets the page (the widget is read through its tenant
 * procedure with the caller's cookie; anyone else gets 404). Served to anyone, it would put a tenant's
 * chat, with a greeting of its choosing, on Palisade's own address: a phishing page with a valid
 * certificate, whose visitors' messages land in that tenant's conversations.
 *
 * One step differs, because the page is on the API's own origin: browsers send no Origin header with a
 * same-origin GET, so widget.js's `GET /api/v1/widget/{key}/config` would be refused. This route asks that
 * same route for the config instead (with the page's origin, so the allowed domains still decide) and
 * hands it to widget.js in `data-palisade-config`. The POSTs carry their Origin and need no such help.
 */
export const WIDGET_PREVIEW_PATH = '/widget-preview';

/** Publishable keys are `pk_live_` + base62; nothing else reaches the page (the key is written into its HTML). */
const KEY = /^pk_[a-z]{2,10}_[A-Za-z0-9]{16,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Only this server's scripts (widget.js); inline styles because the widget puts its stylesheet into its
 * shadow root; agent avatars may come from any https host; framed by the dashboard only.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: https:",
  "connect-src 'self'",
  "frame-ancestors 'self'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const escapeAttribute = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** A page-like backdrop (bars for a heading and text) without words, so it needs no translation. */
const page = (key: string, config: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Widget preview</title>
<style>
  body { margin: 0; font-family: system-ui, sans-serif; background: #f4f5f7; min-height: 100vh; }
  .site { max-width: 36rem; margin: 0 auto; padding: 2rem 1.5rem; }
  .bar { background: #dfe3e8; border-radius: 6px; height: .8rem; margin: .7rem 0; }
  .bar.head { height: 1.6rem; width: 55%; margin-bottom: 1.5rem; }
  .bar.short { width: 70%; }
</style></head>
<body><div class="site" aria-hidden="true"><div class="bar head"></div><div class="bar"></div><div class="bar"></div>
<div class="bar short"></div><div class="bar"></div><div class="bar short"></div></div>
<script src="/widget.js" data-palisade-widget="${key}" data-palisade-config="${escapeAttribute(config)}" data-palisade-open async></script>
</body></html>
`;

export function registerWidgetPreview(app: FastifyInstance): void {
  app.get(WIDGET_PREVIEW_PATH, async (req, reply) => {
    const { tenant, widget } = req.query as { tenant?: unknown; widget?: unknown };
    if (typeof tenant !== 'string' || !UUID.test(tenant) || typeof widget !== 'string' || !UUID.test(widget)) {
      return reply.code(400).type('text/plain; charset=utf-8').send('A widget preview needs ?tenant= and ?widget= ids.');
    }
    // The caller's own view of the widget, as a member of its tenant: the cookie only, never a key.
    const own = await app.inject({
      method: 'GET',
      url: `/api/v1/ai/widgets/${widget}`,
      headers: { 'x-tenant-id': tenant, ...(req.headers.cookie ? { cookie: req.headers.cookie } : {}) },
      remoteAddress: req.ip,
    });
    const key = own.statusCode === 200 ? (own.json() as { publishableKey?: unknown }).publishableKey : undefined;
    if (typeof key !== 'string' || !KEY.test(key)) return reply.callNotFound();
    const config = await app.inject({
      method: 'GET',
      url: `/api/v1/widget/${key}/config`,
      headers: { origin: `${req.protocol}://${req.host}` },
      // The per-IP limit of anonymous routes counts the visitor, not this server.
      remoteAddress: req.ip,
    });
    if (config.statusCode !== 200) {
      // The widget's own refusal (not allowed here, switched off, unknown key), as JSON like the API's.
      return reply.code(config.statusCode).type('application/json; charset=utf-8').send(config.body);
    }
    return reply
      .header('cache-control', 'no-store')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .type('text/html; charset=utf-8')
      .send(page(key, config.body));
  });
}
