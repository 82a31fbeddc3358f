import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../audit/record.ts';
import type { SessionService } from '../auth/principal.ts';
import type { Config } from '../config.ts';
import { sha256Hex } from '../crypto/hash.ts';
import type { DataPrincipal, ResolvedWidget } from '../db/tenant.ts';
import { chat, type MessageRow } from '../modules/ai/conversations/chat.ts';
import { sendInput, toMessage } from '../modules/ai/conversations/procedures.ts';
import { originAllowed } from '../modules/ai/widgets/domains.ts';
import { openVisitorConversation, visitorConversation, widgetPublicView } from '../modules/ai/widgets/public.ts';
import type { RateLimitPolicies, RateLimitStore } from '../ratelimit/index.ts';
import { rateLimitHeaders } from '../ratelimit/index.ts';
import type { RequestContext } from './context.ts';
import { AppError, errorBody, toAppError } from './errors.ts';
import { actingInTenant } from './procedures.ts';

/**
 * Chat over HTTP where procedures cannot go: answers streamed as server-sent
 * events, and the public API of embeddable widgets (CORS limited to each
 * widget's allowed domains), plus the widget script itself.
 *
 *   POST /api/v1/ai/conversations/{id}/messages/stream            member or API key (ai:write)
 *   GET  /api/v1/widget/{key}/config                              public, allowed origins only
 *   POST /api/v1/widget/{key}/sessions                            starts a visitor conversation
 *   POST /api/v1/widget/{key}/sessions/{id}/messages              streams the answer
 *   GET  /widget.js                                               the embeddable script
 *
 * Stream events: `delta` {text} as the answer grows, then `done` {question,
 * answer, offline}, or `error` {error, requestId} if it fails midway.
 */

export const STREAM_PATH = '/api/v1/ai/conversations/:id/messages/stream';
export const WIDGET_PREFIX = '/api/v1/widget/:key';

const WIDGET_SCRIPT = readFileSync(new URL('../../widget/widget.js', import.meta.url), 'utf8');

interface Deps {
  contextOf: (req: FastifyRequest) => Promise<RequestContext>;
  sessions: SessionService;
  config: Config;
  /** Per-widget and per-visitor limits; null when rate limiting is switched off. */
  limits: { store: RateLimitStore; policies: RateLimitPolicies } | null;
}

function parsed<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw new AppError(
    'VALIDATION_FAILED',
    undefined,
    result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  );
}

/**
 * Runs a chat turn and streams it. Nothing is written to the socket until the
 * turn has been accepted (conversation found, budget admitted, first token),
 * so early failures are ordinary JSON errors with their status code.
 */
async function streamChat(
  req: FastifyRequest,
  reply: FastifyReply,
  run: (
    onDelta: (text: string) => void,
    signal: AbortSignal,
  ) => Promise<{ question: MessageRow; answer: MessageRow; offline: boolean }>,
): Promise<void> {
  const abort = new AbortController();
  // The response's close, not the request's: the request emits it as soon as its body has been read,
  // before this listener exists, so a client hanging up mid-answer went unnoticed and the model ran on.
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) abort.abort();
  });
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    reply.hijack();
    reply.raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
  };
  const send = (event: string, data: unknown) => {
    start();
    reply.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  try {
    const result = await run((text) => send('delta', { text }), abort.signal);
    send('done', { question: toMessage(result.question), answer: toMessage(result.answer), offline: result.offline });
    reply.raw.end();
  } catch (error) {
    if (!started) throw error;
    const appError = toAppError(error);
    if (appError.status >= 500) req.log.error({ err: error }, 'chat stream failed');
    send('error', errorBody(appError, req.id));
    reply.raw.end();
  }
}

/** CORS for one widget: the request's Origin must be one of its allowed domains. */
function allowOrigin(req: FastifyRequest, reply: FastifyReply, widget: ResolvedWidget): void {
  const origin = req.headers.origin;
  if (!originAllowed(origin, widget.allowedDomains)) throw new AppError('ORIGIN_NOT_ALLOWED');
  reply.header('access-control-allow-origin', origin as string);
  reply.header('vary', 'Origin');
}

const keyParams = z.object({ key: z.string().min(1).max(100) });
const sessionParams = keyParams.extend({ id: z.guid() });
const startInput = z.object({ visitorId: z.string().trim().min(1).max(100).optional() });
const messageInput = z.object({ visitorToken: z.string().min(20).max(200), content: z.string().trim().min(1).max(4000) });

export async function registerAiChatRoutes(app: FastifyInstance, deps: Deps): Promise<void> {
  const { sessions, config, limits } = deps;

  app.post(STREAM_PATH, async (req, reply) => {
    const ctx = await deps.contextOf(req);
    const { principal } = await actingInTenant(ctx, 'ai:write');
    const input = parsed(sendInput, { ...(req.body as object), id: (req.params as { id?: string }).id });
    const actor = actorOf(principal, ctx);
    await streamChat(req, reply, (onDelta, signal) =>
      chat(
        { principal, actor, config, conversationId: input.id, content: input.content, attachments: input.attachments, signal },
        onDelta,
      ),
    );
  });

  /** The widget behind a key, with CORS applied; an inactive widget is refused. */
  async function widgetFor(
    req: FastifyRequest,
    reply: FastifyReply,
  ): Promise<{ principal: DataPrincipal; widget: ResolvedWidget }> {
    const { key } = parsed(keyParams, req.params);
    const found = await sessions.fromWidgetKey(key);
    if (!found) throw new AppError('NOT_FOUND');
    allowOrigin(req, reply, found.widget);
    if (!found.widget.active) throw new AppError('WIDGET_INACTIVE');
    return found;
  }

  async function limit(reply: FastifyReply, key: string, policy: 'widget' | 'widgetVisitor'): Promise<void> {
    if (!limits) return;
    const decision = await limits.store.hit(key, limits.policies[policy]);
    if (!decision.allowed) {
      reply.headers(rateLimitHeaders(decision));
      throw new AppError('RATE_LIMITED');
    }
  }

  await app.register(async (scope) => {
    // Preflight: answered only for allowed origins of a live widget.
    scope.options(`${WIDGET_PREFIX}/*`, async (req, reply) => {
      const { key } = parsed(z.object({ key: z.string().min(1).max(100) }), req.params);
      const found = await sessions.fromWidgetKey(key);
      if (!found) throw new AppError('NOT_FOUND');
      allowOrigin(req, reply, found.widget);
      reply.header('access-control-allow-methods', 'GET, POST');
      reply.header('access-control-allow-headers', 'content-type');
      reply.header('access-control-max-age', '600');
      return reply.code(204).send();
    });

    scope.get(`${WIDGET_PREFIX}/config`, async (req, reply) => {
      const { principal } = await widgetFor(req, reply);
      return widgetPublicView(principal);
    });

    scope.post(`${WIDGET_PREFIX}/sessions`, async (req, reply) => {
      const { principal, widget } = await widgetFor(req, reply);
      await limit(reply, `widget:${widget.widgetId}`, 'widget');
      const input = parsed(startInput, req.body);
      const visitorToken = `vt_${randomBytes(24).toString('base64url')}`;
      const visitorId = input.visitorId ?? `visitor_${randomBytes(8).toString('hex')}`;
      const session = await openVisitorConversation(principal, { visitorId, visitorTokenHash: sha256Hex(visitorToken) });
      return reply.code(201).send({ sessionId: session.id, visitorId, visitorToken, greeting: session.greeting });
    });

    scope.post(`${WIDGET_PREFIX}/sessions/:id/messages`, async (req, reply) => {
      const { principal, widget } = await widgetFor(req, reply);
      const { id } = parsed(sessionParams, req.params);
      const input = parsed(messageInput, req.body);
      await limit(reply, `widget:${widget.widgetId}`, 'widget');
      // Only the browser holding the session's token may continue it, or spend its visitor budget:
      // a session id alone must not let anyone lock the visitor out.
      await visitorConversation(principal, id, sha256Hex(input.visitorToken));
      await limit(reply, `visitor:${id}`, 'widgetVisitor');
      await streamChat(req, reply, (onDelta, signal) =>
        chat(
          {
            principal,
            actor: { tenantId: principal.tenantId, requestId: req.id },
            config,
            conversationId: id,
            content: input.content,
            signal,
          },
          onDelta,
        ),
      );
    });
  });

  app.get('/widget.js', async (_req, reply) =>
    reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .header('access-control-allow-origin', '*')
      .header('cross-origin-resource-policy', 'cross-origin')
      .send(WIDGET_SCRIPT),
  );
}

const errorResponse = {
  description: 'Error',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
};
const streamResponse = {
  description:
    'text/event-stream: `delta` events ({text}) as the answer grows, then `done` ({question, answer, offline}) or `error` ({error, requestId})',
  content: { 'text/event-stream': { schema: { type: 'string' } } },
};
const keyParameter = { name: 'key', in: 'path', required: true, schema: { type: 'string' }, description: 'The publishable key' };

export const AI_CHAT_OPENAPI_PATHS: Record<string, Record<string, unknown>> = {
  '/api/v1/ai/conversations/{id}/messages/stream': {
    post: {
      operationId: 'ai.conversations.stream',
      summary: 'Ask the agent and receive the answer as server-sent events',
      tags: ['ai'],
      'x-palisade-scope': 'ai:write',
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['content'],
              properties: {
                content: { type: 'string', maxLength: 20000 },
                attachments: { type: 'array', items: { type: 'object' } },
              },
            },
          },
        },
      },
      responses: { '200': streamResponse, default: errorResponse },
    },
  },
  '/api/v1/widget/{key}/config': {
    get: {
      operationId: 'widget.config',
      summary: "A widget's public face (name, greeting, theme, agent name); only from an allowed origin",
      tags: ['widget'],
      security: [],
      parameters: [keyParameter],
      responses: { '200': { description: '{name, greeting, theme, agentName, avatarUrl}' }, default: errorResponse },
    },
  },
  '/api/v1/widget/{key}/sessions': {
    post: {
      operationId: 'widget.sessions.create',
      summary: "Start a visitor's conversation; returns the session id and the visitor token that continues it",
      tags: ['widget'],
      security: [],
      parameters: [keyParameter],
      requestBody: {
        content: { 'application/json': { schema: { type: 'object', properties: { visitorId: { type: 'string' } } } } },
      },
      responses: { '201': { description: '{sessionId, visitorId, visitorToken, greeting}' }, default: errorResponse },
    },
  },
  '/api/v1/widget/{key}/sessions/{id}/messages': {
    post: {
      operationId: 'widget.sessions.message',
      summary: "Ask the widget's agent; the answer streams as server-sent events",
      tags: ['widget'],
      security: [],
      parameters: [keyParameter, { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['visitorToken', 'content'],
              properties: { visitorToken: { type: 'string' }, content: { type: 'string', maxLength: 4000 } },
            },
          },
        },
      },
      responses: { '200': streamResponse, default: errorResponse },
    },
  },
};
