import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError, z } from 'zod';
import { ROLE_RANK, type Role } from '../db/core-schema.ts';
import { PLATFORM_TENANT_ID } from '../db/tenant-table.ts';
import type { RequestContext } from './context.ts';
import { AppError, type FieldIssue, toAppError } from './errors.ts';

/** How a procedure is exposed over REST and described in the OpenAPI document. */
export interface ProcedureMeta {
  summary: string;
  tags: string[];
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
    errorFormatter({ error, ctx, shape }) {
      const appError = appErrorOf(error);
      return {
        code: appError.code,
        message: appError.message,
        ...(appError.details === undefined ? {} : { details: appError.details }),
        requestId: ctx?.requestId ?? '',
        data: { httpStatus: appError.status, path: shape.data.path },
      };
    },
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const middleware = t.middleware;

/** Anyone may call it. */
export const publicProcedure = t.procedure;

/** A signed-in user; `ctx.identity` is who they are. */
export const authedProcedure = t.procedure.use(({ ctx, next }) => {
  if (!ctx.session) throw new AppError('UNAUTHENTICATED');
  return next({ ctx: { identity: ctx.session.identity, session: ctx.session } });
});

const uuidSchema = z.guid();

/**
 * A member acting in a tenant: the one named by `X-Tenant-Id` if they belong
 * to it (403 otherwise), else the session's active tenant. Membership is
 * checked against the database on every request, so a removed member loses
 * access at once. `ctx.principal` opens `withTenant`.
 */
export const tenantProcedure = authedProcedure.use(async ({ ctx, next }) => {
  const tenantId = ctx.requestedTenantId ?? ctx.session.activeTenantId;
  if (!tenantId) throw new AppError('NO_ACTIVE_TENANT');
  if (!uuidSchema.safeParse(tenantId).success) throw new AppError('TENANT_ACCESS_DENIED');
  const principal = await ctx.services.sessions.enterTenant(ctx.identity, tenantId);
  return next({ ctx: { principal } });
});

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
