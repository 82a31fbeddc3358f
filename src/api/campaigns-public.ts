import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SecretBox } from '../crypto/secret-box.ts';
import type { Tx } from '../db/tenant.ts';
import type { Logger } from '../logger.ts';
import { CALLBACK_PATH } from '../modules/campaigns/gateway.ts';
import { applyGatewayCallback, optOut } from '../modules/campaigns/public.ts';
import { verifyUnsubscribeToken } from '../modules/campaigns/unsubscribe.ts';
import { AppError, errorBody } from './errors.ts';

/**
 * The campaign routes that nobody signs in to call:
 *
 *   GET  /unsubscribe?token=…     a confirmation page (changes nothing: mail scanners follow links)
 *   POST /unsubscribe             records the opt-out; the token comes from the form, or from the
 *                                 query for RFC 8058 one-click (`List-Unsubscribe=One-Click` body)
 *   POST /api/v1/campaigns/callbacks/{tenantId}/{gatewayId}
 *                                 the gateway's status report, signed (Standard Webhooks) with the gateway secret
 *
 * Each enters a tenant only through `systemTenant`, and only after the request
 * proved it speaks for that tenant: the unsubscribe token's HMAC names the
 * tenant, and a callback's signature is checked with the secret stored in the
 * named tenant before anything is written (see docs/campaigns.md, "Public routes").
 */
export interface CampaignPublicRoutesDeps {
  /** A transaction inside one tenant, on the tenant's behalf (the job worker's context, db/tenant.ts `withSystemTenant`). */
  systemTenant<T>(tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T>;
  unsubscribeKey: Buffer;
  secrets: SecretBox;
  logger: Logger;
}

export const UNSUBSCRIBE_PATH = '/unsubscribe';
const MAX_FORM_BYTES = 4096;
const MAX_CALLBACK_BYTES = 64 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

const CHANNEL_NAMES: Record<string, string> = {
  email: 'emails',
  sms: 'text messages',
  whatsapp: 'WhatsApp messages',
  webhook: 'messages',
  log: 'messages',
};

function page(reply: FastifyReply, status: number, title: string, body: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
        `<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>` +
        `<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}button{font-size:1rem;padding:.5rem 1rem}</style>` +
        `</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
    );
}

const invalidLink = (reply: FastifyReply) =>
  page(reply, 400, 'This link is not valid', '<p>The unsubscribe link is incomplete or was altered. Nothing was changed.</p>');

export async function registerCampaignPublicRoutes(app: FastifyInstance, deps: CampaignPublicRoutesDeps): Promise<void> {
  await app.register(async (scope) => {
    // Inside this plugin only: forms for the unsubscribe page, and JSON kept raw so its signature can be checked.
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: MAX_FORM_BYTES },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: MAX_CALLBACK_BYTES }, (_req, body, done) =>
      done(null, body),
    );

    scope.get(UNSUBSCRIBE_PATH, async (req, reply) => {
      const token = (req.query as Record<string, unknown>).token;
      const claims = typeof token === 'string' ? verifyUnsubscribeToken(deps.unsubscribeKey, token) : null;
      if (!claims || typeof token !== 'string') return invalidLink(reply);
      const what = CHANNEL_NAMES[claims.channel] ?? 'messages';
      return page(
        reply,
        200,
        'Unsubscribe',
        `<p>Stop receiving ${what} like this one?</p>` +
          `<form method="post" action="${UNSUBSCRIBE_PATH}"><input type="hidden" name="token" value="${escapeHtml(token)}">` +
          `<button type="submit">Unsubscribe</button></form>`,
      );
    });

    scope.post(UNSUBSCRIBE_PATH, async (req, reply) => {
      const form = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
      const query = req.query as Record<string, unknown>;
      const token = typeof form.token === 'string' ? form.token : typeof query.token === 'string' ? query.token : null;
      const claims = token ? verifyUnsubscribeToken(deps.unsubscribeKey, token) : null;
      if (!claims) return invalidLink(reply);
      await deps.systemTenant(claims.tenantId, (tx) => optOut(tx, claims, req.id));
      if (form['List-Unsubscribe'] === 'One-Click') {
        return reply.code(200).header('content-type', 'text/plain; charset=utf-8').send('unsubscribed\n');
      }
      const what = CHANNEL_NAMES[claims.channel] ?? 'messages';
      return page(reply, 200, 'You are unsubscribed', `<p>You will not receive these ${what} any more.</p>`);
    });

    scope.post(CALLBACK_PATH.replace('{tenantId}', ':tenantId').replace('{gatewayId}', ':gatewayId'), async (req, reply) => {
      const { tenantId, gatewayId } = req.params as { tenantId: string; gatewayId: string };
      const raw = typeof req.body === 'string' ? req.body : null;
      const header = (name: string) => {
        const value = req.headers[name];
        return typeof value === 'string' ? value : undefined;
      };
      const unauthenticated = () =>
        reply.code(401).send(errorBody(new AppError('UNAUTHENTICATED', 'The callback signature is not valid.'), req.id));
      if (!UUID.test(tenantId) || !UUID.test(gatewayId) || raw === null) return unauthenticated();
      const signature = {
        id: header('webhook-id'),
        timestamp: header('webhook-timestamp'),
        signature: header('webhook-signature'),
      };
      // One transaction: the gateway secret is read, the signature checked, and only then anything written.
      const result = await deps.systemTenant(tenantId, (tx) =>
        applyGatewayCallback(tx, deps.secrets, { tenantId, gatewayId, signature, raw, requestId: req.id }),
      );
      if (result === 'unauthenticated') return unauthenticated();
      return reply.code(200).send(result);
    });
  });
}

const errorResponse = {
  description: 'Error',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
};

/** The public campaign routes as OpenAPI path items (they are not procedures); merged in api/openapi.ts. */
export const CAMPAIGN_PUBLIC_OPENAPI_PATHS: Record<string, Record<string, unknown>> = {
  [UNSUBSCRIBE_PATH]: {
    get: {
      operationId: 'campaigns.unsubscribe.page',
      summary: 'The confirmation page behind the unsubscribe link of a campaign message (public; changes nothing)',
      tags: ['campaigns'],
      security: [],
      parameters: [{ name: 'token', in: 'query', required: true, schema: { type: 'string' } }],
      responses: {
        '200': { description: 'An HTML page with a confirmation form', content: { 'text/html': { schema: { type: 'string' } } } },
        '400': {
          description: 'The token is missing, malformed or forged',
          content: { 'text/html': { schema: { type: 'string' } } },
        },
      },
    },
    post: {
      operationId: 'campaigns.unsubscribe.confirm',
      summary:
        'Opt the contact named by the signed token out of its channel (public, idempotent); also RFC 8058 one-click with the token in the query',
      tags: ['campaigns'],
      security: [],
      parameters: [{ name: 'token', in: 'query', required: false, schema: { type: 'string' } }],
      requestBody: {
        required: true,
        content: {
          'application/x-www-form-urlencoded': {
            schema: {
              type: 'object',
              properties: { token: { type: 'string' }, 'List-Unsubscribe': { type: 'string', enum: ['One-Click'] } },
            },
          },
        },
      },
      responses: {
        '200': { description: 'Unsubscribed (HTML page, or text for one-click)' },
        '400': { description: 'The token is missing, malformed or forged; nothing was changed' },
      },
    },
  },
  [CALLBACK_PATH]: {
    post: {
      operationId: 'campaigns.callbacks.status',
      summary:
        "The gateway's delivery report for a message (public; signed with the Standard Webhooks scheme and the gateway secret)",
      tags: ['campaigns'],
      security: [],
      parameters: [
        { name: 'tenantId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
        { name: 'gatewayId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
        { name: 'webhook-id', in: 'header', required: true, schema: { type: 'string' } },
        { name: 'webhook-timestamp', in: 'header', required: true, schema: { type: 'string' } },
        { name: 'webhook-signature', in: 'header', required: true, schema: { type: 'string' } },
      ],
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['status'],
              properties: {
                messageId: { type: 'string', format: 'uuid' },
                providerMessageId: { type: 'string', maxLength: 200 },
                status: { type: 'string', enum: ['delivered', 'read', 'failed'] },
                error: { type: 'string', maxLength: 500 },
              },
            },
          },
        },
      },
      responses: {
        '200': { description: 'The message id and its status after the report' },
        '401': errorResponse,
        '404': errorResponse,
        '409': errorResponse,
        default: errorResponse,
      },
    },
  },
};
