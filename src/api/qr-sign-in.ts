import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Auth } from '../auth/auth.ts';
import type { Logger } from '../logger.ts';
import { approveQrSignIn, createQrSignIn, issueSessionCookie, pollQrSignIn, type QrStore } from '../modules/qr-sign-in/qr.ts';
import { clientIpKey, type RateLimitPolicy, type RateLimitStore, rateLimitHeaders } from '../ratelimit/index.ts';
import type { Caller } from './context.ts';
import { AppError, errorBody } from './errors.ts';

/**
 * QR sign-in over HTTP (docs/qr-sign-in.md); the logic is in src/modules/qr-sign-in/qr.ts.
 *
 *   POST /api/v1/qr-sign-in                 signed-out device: a new QR session (id, poll secret, QR image)
 *   POST /api/v1/qr-sign-in/approve         signed-in device (session cookie): approve the code read from the QR image
 *   POST /api/v1/qr-sign-in/{id}/poll       signed-out device, with its poll secret: pending, or approved and
 *                                           then a Better Auth session cookie for the approving user (once)
 */

export const QR_CREATE_PATH = '/api/v1/qr-sign-in';
export const QR_APPROVE_PATH = '/api/v1/qr-sign-in/approve';
export const QR_POLL_PATH = '/api/v1/qr-sign-in/{id}/poll';

export interface QrSignInDeps {
  /** Transactions that present a secret's hash (db/presented-secret.ts), handed over by server.ts. */
  store: QrStore;
  auth: Auth;
  callerOf(req: FastifyRequest): Promise<Caller>;
  publicUrl: string;
  logger: Logger;
  /** The `auth` policy (scaled): creating and approving QR sessions count against it. Unset: not limited here. */
  rateLimit?: { store: RateLimitStore; policy: RateLimitPolicy } | undefined;
}

async function limited(deps: QrSignInDeps, key: string, reply: FastifyReply, requestId: string): Promise<boolean> {
  if (!deps.rateLimit) return false;
  const decision = await deps.rateLimit.store.hit(key, deps.rateLimit.policy);
  reply.headers(rateLimitHeaders(decision));
  if (decision.allowed) return false;
  reply.code(429).send(errorBody(new AppError('RATE_LIMITED'), requestId));
  return true;
}

const field = (body: unknown, name: string): unknown =>
  body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;

export async function registerQrSignInRoutes(app: FastifyInstance, deps: QrSignInDeps): Promise<void> {
  const origin = new URL(deps.publicUrl).origin;

  app.post(QR_CREATE_PATH, async (req, reply) => {
    if (await limited(deps, `qr:create:${clientIpKey(req.ip)}`, reply, req.id)) return reply;
    const userAgent = req.headers['user-agent'];
    const created = await createQrSignIn(deps.store, {
      publicUrl: deps.publicUrl,
      ip: req.ip,
      userAgent: typeof userAgent === 'string' ? userAgent : null,
    });
    return reply.code(201).header('cache-control', 'no-store').send(created);
  });

  app.post(QR_APPROVE_PATH, async (req, reply) => {
    const caller = await deps.callerOf(req);
    if (caller.kind === 'apiKey') throw new AppError('API_KEY_NOT_ALLOWED');
    if (caller.kind !== 'session') throw new AppError('UNAUTHENTICATED');
    // Cookie-authenticated: JSON only (a cross-site form cannot send it), and a foreign Origin is refused outright.
    const requestOrigin = req.headers.origin;
    if (typeof requestOrigin === 'string' && requestOrigin !== origin) throw new AppError('FORBIDDEN');
    const userId = caller.session.identity.userId;
    if (await limited(deps, `qr:approve:user:${userId}`, reply, req.id)) return reply;
    return reply.send(await approveQrSignIn(deps.store, userId, field(req.body, 'code')));
  });

  app.post(QR_POLL_PATH.replace('{id}', ':id'), async (req, reply) => {
    const { id } = req.params as { id: string };
    const result = await pollQrSignIn(deps.store, id, field(req.body, 'secret'));
    reply.header('cache-control', 'no-store');
    if (result.status === 'pending') return reply.send(result);
    const cookie = await issueSessionCookie(deps.auth, result.userId, {
      ip: req.ip,
      userAgent: String(req.headers['user-agent'] ?? ''),
    });
    deps.logger.info({ qrSignInId: id, userId: result.userId }, 'qr sign-in completed');
    return reply.header('set-cookie', cookie).send(result);
  });
}

const errorResponse = {
  description: 'Error',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
};

/** The QR sign-in routes as OpenAPI path items (they are not procedures); merged in api/openapi.ts. */
export const QR_SIGN_IN_OPENAPI_PATHS: Record<string, Record<string, unknown>> = {
  [QR_CREATE_PATH]: {
    post: {
      operationId: 'qrSignIn.create',
      summary: 'Start a QR sign-in on a signed-out device: returns the poll secret (keep it) and a QR image of the approval link',
      tags: ['auth'],
      security: [],
      responses: {
        '201': {
          description: 'id, pollSecret, approveUrl, qrSvg, qrDataUrl, expiresAt, pollIntervalMs',
        },
        '429': errorResponse,
        default: errorResponse,
      },
    },
  },
  [QR_APPROVE_PATH]: {
    post: {
      operationId: 'qrSignIn.approve',
      summary: 'Approve a QR sign-in as the signed-in user (session cookie), with the code from the QR image',
      tags: ['auth'],
      requestBody: {
        required: true,
        content: {
          'application/json': { schema: { type: 'object', required: ['code'], properties: { code: { type: 'string' } } } },
        },
      },
      responses: {
        '200': { description: 'Approved: id, status, expiresAt and the requesting device (ip, userAgent)' },
        '401': errorResponse,
        '404': errorResponse,
        '410': errorResponse,
        default: errorResponse,
      },
    },
  },
  [QR_POLL_PATH]: {
    post: {
      operationId: 'qrSignIn.poll',
      summary: "The QR sign-in's status for the device holding its poll secret; once approved, sets the session cookie (once)",
      tags: ['auth'],
      security: [],
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
      requestBody: {
        required: true,
        content: {
          'application/json': { schema: { type: 'object', required: ['secret'], properties: { secret: { type: 'string' } } } },
        },
      },
      responses: {
        '200': { description: '`{ status: "pending" }`, or `{ status: "approved", userId }` with a Set-Cookie session' },
        '404': errorResponse,
        '410': errorResponse,
        default: errorResponse,
      },
    },
  },
};
