import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError, z } from 'zod';
import type { AuthSession } from '../auth/principal.ts';
import { ROLE_RANK, type Role } from '../db/core-schema.ts';
import { type MemberPrincipal, readingAs, type TenantPrincipal } from '../db/tenant.ts';
import { PLATFORM_TENANT_ID } from '../db/tenant-table.ts';
import { noteVerifiedTenant } from '../observability/request-scope.ts';
import type { RequestContext } from './context.ts';
import { AppError, type FieldIssue, toAppError } from './errors.ts';

/** Resource groups that API key scopes name: `webhooks:read`, `webhooks:write`, ... */
export const SCOPE_GROUPS = [
  'tenant',
  'members',
  'invitations',
  'webhooks',
  'audit',
  'events',
  'crm',
  'campaigns',
  'ai',
] as const;
export type Scope = `${(typeof SCOPE_GROUPS)[number]}:${'read' | 'write'}`;
export const SCOPES = SCOPE_GROUPS.flatMap((g) => [`${g}:read`, `${g}:write`]) as Scope[];

/** A key with no scopes may do whatever its role ceiling allows; `group:write` includes `group:read`. */
export function scopesAllow(granted: readonly string[], required: Scope): boolean {
  if (granted.length === 0 || granted.includes(required)) return true;
  return required.endsWith(':read') && granted.includes(required.replace(/:read$/, ':write'));
}

/** How a procedure is exposed over REST and described in the OpenAPI document. */
export interface ProcedureMeta {
  summary: string;
  tags: string[];
  /**
   * The scope an API key needs to call this tenant procedure. Without one, the
   * procedure is for signed-in members only (API keys get API_KEY_NOT_ALLOWED).
   */
  scope?: Scope;
  /**
   * A query that also writes: it records usage (the AI costs of a knowledge search). Other queries only read,
   * and their tenant transactions are READ ONLY (tenantProcedure).
   */
  recordsUsage?: true;
  rest?: {
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
    /** Path under /api/v1 with `{param}` placeholders, e.g. `/members/{userId}`. */
    path: string;
    /** Success status; 200 unless set. */
    status?: number;
  };
}

/** Every thrown value as the catalogued AppError it leaves the server as. */
export function appErrorOf(error: unknown): AppError {
  const cause = error instanceof TRPCError ? error.cause : undefined;
  // Input that fails its schema is the caller's error; output that fails is ours (INTERNAL below).
  if (cause instanceof ZodError && error instanceof TRPCError && error.code === 'BAD_REQUEST') {
    const details: FieldIssue[] = cause.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    return new AppError('VALIDATION_FAILED', undefined, details);
  }
  // tRPC's own parse of an `?input=` it could not read (a batch's), whatever the parser threw.
  if (error instanceof TRPCError && error.code === 'PARSE_ERROR') return new AppError('BAD_REQUEST');
  if (error instanceof TRPCError && !cause) {
    if (error.code === 'PARSE_ERROR' || error.code === 'BAD_REQUEST') return new AppError('BAD_REQUEST');
    if (error.code === 'NOT_FOUND') return new AppError('NOT_FOUND');
    if (error.code === 'METHOD_NOT_SUPPORTED') return new AppError('METHOD_NOT_ALLOWED');
    if (error.code === 'PAYLOAD_TOO_LARGE') return new AppError('PAYLOAD_TOO_LARGE');
    if (error.code === 'UNSUPPORTED_MEDIA_TYPE') return new AppError('UNSUPPORTED_MEDIA_TYPE');
  }
  return toAppError(cause ?? error);
}

const t = initTRPC
  .context<RequestContext>()
  .meta<ProcedureMeta>()
  .create({
    errorFormatter: ({ error, ctx, shape }) => trpcErrorShape(appErrorOf(error), ctx?.requestId ?? '', shape.data.path),
  });

/** A failed tRPC call's `error`: the standard error fields, the request id, and tRPC's own `data`. */
export function trpcErrorShape(appError: AppError, requestId: string, path: string | undefined) {
  return {
    code: appError.code,
    message: appError.message,
    ...(appError.details === undefined ? {} : { details: appError.details }),
    requestId,
    data: { httpStatus: appError.status, path },
  };
}

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const middleware = t.middleware;

/** Anyone may call it. */
export const publicProcedure = t.procedure;

function refuseInvalidCredentials(ctx: RequestContext): void {
  if (ctx.apiKeyRejected) throw new AppError('UNAUTHENTICATED');
}

/** A signed-in user; `ctx.identity` is who they are. API keys are not users. */
export const authedProcedure = t.procedure.use(({ ctx, next }) => {
  refuseInvalidCredentials(ctx);
  if (ctx.apiKey) throw new AppError('API_KEY_NOT_ALLOWED');
  if (!ctx.session) throw new AppError('UNAUTHENTICATED');
  return next({ ctx: { identity: ctx.session.identity, session: ctx.session } });
});

const uuidSchema = z.guid();

/**
 * Someone acting in a tenant, as `ctx.principal` (which opens `withTenant`):
 * - a member, in the tenant named by `X-Tenant-Id` if they belong to it (403
 *   otherwise), else the session's active tenant. Membership is checked
 *   against the database on every request, so a removed member loses access
 *   at once;
 * - or an API key, in its own tenant only, if the procedure declares a scope
 *   the key holds (`meta.scope`). Its liveness is checked again as the
 *   transaction opens, so a revoked key is refused on the next request.
 * `ctx.member` is the member principal, or null for API keys.
 */
export const tenantProcedure = t.procedure.use(async ({ ctx, meta, type, next }) => {
  const acting = await actingInTenant(ctx, meta?.scope);
  if (type !== 'query' || meta?.recordsUsage) return next({ ctx: acting });
  // A query only reads: its transactions are READ ONLY (db/tenant.ts, readingAs).
  const principal = readingAs(acting.principal);
  const member = acting.member && { principal: readingAs(acting.member.principal), session: acting.member.session };
  return next({ ctx: { principal, member } });
});

/**
 * The tenant principal of a request, by the rules of tenantProcedure above.
 * Exported for transports that stream (CSV import and export), which cannot
 * be procedures but must resolve the caller exactly as procedures do.
 */
export async function actingInTenant(
  ctx: RequestContext,
  scope: Scope | undefined,
): Promise<{ principal: TenantPrincipal; member: { principal: MemberPrincipal; session: AuthSession } | null }> {
  refuseInvalidCredentials(ctx);
  const key = ctx.apiKey;
  if (key) {
    if (ctx.requestedTenantId !== null && ctx.requestedTenantId !== key.tenantId) throw new AppError('TENANT_ACCESS_DENIED');
    if (!scope) throw new AppError('API_KEY_NOT_ALLOWED');
    if (!scopesAllow(key.scopes, scope)) throw new AppError('INSUFFICIENT_SCOPE');
    noteVerifiedTenant(key.tenantId, { apiKeyId: key.apiKeyId });
    return { principal: key, member: null };
  }
  if (!ctx.session) throw new AppError('UNAUTHENTICATED');
  const tenantId = ctx.requestedTenantId ?? ctx.session.activeTenantId;
  if (!tenantId) throw new AppError('NO_ACTIVE_TENANT');
  if (!uuidSchema.safeParse(tenantId).success) throw new AppError('TENANT_ACCESS_DENIED');
  const member = await ctx.services.sessions.enterTenant(ctx.session.identity, tenantId);
  noteVerifiedTenant(member.tenantId, { userId: member.userId });
  return { principal: member, member: { principal: member, session: ctx.session } };
}

/**
 * A tenant procedure that only a signed-in member may call (leaving a tenant,
 * inviting people): the member and their session, never an API key.
 */
export const memberOnly = (ctx: { member: { principal: MemberPrincipal; session: AuthSession } | null }) => {
  if (!ctx.member) throw new AppError('API_KEY_NOT_ALLOWED');
  return ctx.member;
};

function atLeast(required: Role) {
  return tenantProcedure.use(({ ctx, next }) => {
    if (ROLE_RANK[ctx.principal.role] < ROLE_RANK[required]) throw new AppError('FORBIDDEN');
    return next();
  });
}

/** An admin or owner of the tenant. */
export const adminProcedure = atLeast('admin');

/** An owner of the tenant. */
export const ownerProcedure = atLeast('owner');

/**
 * An owner or admin of the platform tenant. The handler reads across tenants
 * only through `withPlatformAdmin`, which the database checks again, and
 * writes an audit entry for every call.
 */
export const platformAdminProcedure = authedProcedure.use(async ({ ctx, next }) => {
  const principal = await ctx.services.sessions.enterTenant(ctx.identity, PLATFORM_TENANT_ID).catch(() => {
    throw new AppError('FORBIDDEN');
  });
  if (ROLE_RANK[principal.role] < ROLE_RANK.admin) throw new AppError('FORBIDDEN');
  return next({ ctx: { platformPrincipal: principal } });
});
