import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller } from '../api/context.ts';
import { AppError, errorBody } from '../api/errors.ts';
import { PLANS, type Plan } from '../db/tenant-table.ts';
import {
  clientIpKey,
  type RateLimitPolicies,
  type RateLimitPolicy,
  type RateLimitStore,
  rateLimitHeaders,
} from '../ratelimit/index.ts';

/** Sign-in, sign-up and password reset: the routes credential stuffing and mail bombing aim at. */
const AUTH_ROUTES =
  /^\/api\/auth\/(sign-in|sign-up|request-password-reset|reset-password|forget-password|send-verification-email)(\/|$|\?)/;
/** Probes must keep working while a client is being throttled, and they carry no tenant data. */
const UNLIMITED = /^\/(health|metrics)(\/|$|\?)/;
/** Routes that act for a caller and therefore count against the caller rather than the IP. */
const CALLER_ROUTES = /^\/(api\/v1|trpc)(\/|$|\?)/;

export interface RateLimitOptions {
  store: RateLimitStore;
  policies: RateLimitPolicies;
  /** The request's caller, resolved once per request and shared with the procedures. */
  callerOf: (req: FastifyRequest) => Promise<Caller>;
  /** The plan of the tenant a signed-in user acts in, if they are a member of it (null otherwise). */
  planOf: (tenantId: string, userId: string) => Promise<string | null>;
}

const isPlan = (plan: string | null): plan is Plan => plan !== null && (PLANS as readonly string[]).includes(plan);

/** What a request is counted against, and under which policy. */
async function bucketOf(req: FastifyRequest, options: RateLimitOptions): Promise<{ key: string; policy: RateLimitPolicy }> {
  const { policies } = options;
  const byIp = clientIpKey(req.ip);
  if (AUTH_ROUTES.test(req.url)) return { key: byIp, policy: policies.auth };
  if (!CALLER_ROUTES.test(req.url)) return { key: byIp, policy: policies.anonymous };
  const caller = await options.callerOf(req);
  if (caller.kind === 'apiKey') {
    const plan = isPlan(caller.principal.plan) ? caller.principal.plan : 'starter';
    return { key: `key:${caller.principal.apiKeyId}`, policy: policies.plans[plan] };
  }
  if (caller.kind === 'session') {
    // The plan of the tenant the user acts in, counted per user: one person's browser tabs share one budget.
    const header = req.headers['x-tenant-id'];
    const tenantId = typeof header === 'string' && UUID.test(header) ? header : caller.session.activeTenantId;
    const plan = tenantId ? await options.planOf(tenantId, caller.session.identity.userId) : null;
    return { key: `user:${caller.session.identity.userId}`, policy: policies.plans[isPlan(plan) ? plan : 'starter'] };
  }
  // Anonymous callers and invalid keys: by address, so guessing keys is throttled too.
  return { key: byIp, policy: policies.anonymous };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Counts every request (refused ones too) before any handler runs, sets the
 * IETF RateLimit-Policy and RateLimit fields on the response, and answers 429
 * with Retry-After and the standard error body when the window is spent.
 */
export function registerRateLimit(app: FastifyInstance, options: RateLimitOptions): void {
  app.addHook('onRequest', async (req, reply) => {
    if (UNLIMITED.test(req.url)) return;
    const { key, policy } = await bucketOf(req, options);
    const decision = await options.store.hit(key, policy);
    reply.headers(rateLimitHeaders(decision));
    if (!decision.allowed) return reply.code(429).send(errorBody(new AppError('RATE_LIMITED'), req.id));
  });
}
