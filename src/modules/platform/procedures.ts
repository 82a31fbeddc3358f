import { and, count, eq, ilike, isNull, or } from 'drizzle-orm';
import { z } from 'zod';
import { keyset, listInput, page, pageOf, queryBoolean } from '../../api/pagination.ts';
import { platformAdminProcedure, router } from '../../api/procedures.ts';
import { type RequestFacts, recordAudit } from '../../audit/record.ts';
import { users } from '../../auth/schema.ts';
import { memberships } from '../../db/core-schema.ts';
import { type Tx, withPlatformAdmin } from '../../db/tenant.ts';
import { PLANS, PLATFORM_TENANT_ID, tenants } from '../../db/tenant-table.ts';
import { procedureStatsOutput, slowQueryInput, slowQueryOutput, windowInput } from '../observability/procedures.ts';

/**
 * Platform administration: the only procedures that read across tenants. Each
 * runs in `withPlatformAdmin` (the database re-checks the caller) and leaves
 * an audit entry in the platform tenant, in the same transaction.
 */

const searchInput = { q: z.string().trim().max(100).optional(), includeDeleted: queryBoolean.default(false) };

async function auditPlatformRead(tx: Tx, userId: string, request: RequestFacts, action: string, data: Record<string, unknown>) {
  const actor = {
    tenantId: PLATFORM_TENANT_ID,
    userId,
    requestId: request.requestId,
    ip: request.ip,
    userAgent: request.userAgent,
  };
  await recordAudit(tx, actor, { action, targetType: 'platform', data });
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export const platformRouter = router({
  stats: platformAdminProcedure
    .meta({
      summary: 'Request statistics of every tenant over recent minutes (platform admins; audited)',
      tags: ['platform'],
      rest: { method: 'GET', path: '/platform/stats' },
    })
    .input(windowInput)
    .output(
      z.object({ windowMinutes: z.number().int(), procedures: z.array(procedureStatsOutput.extend({ tenantId: z.guid() })) }),
    )
    .query(async ({ ctx, input }) => {
      await withPlatformAdmin(ctx.services.sessions.bindIdentity(ctx.identity), (tx) =>
        auditPlatformRead(tx, ctx.identity.userId, ctx, 'platform.stats.read', { windowMinutes: input.windowMinutes }),
      );
      return { windowMinutes: input.windowMinutes, procedures: ctx.services.telemetry.stats.snapshot(input.windowMinutes) };
    }),

  slowQueries: platformAdminProcedure
    .meta({
      summary: 'Recent slow transactions of every tenant (platform admins; audited)',
      tags: ['platform'],
      rest: { method: 'GET', path: '/platform/slow-queries' },
    })
    .input(slowQueryInput)
    .output(z.object({ thresholdMs: z.number(), items: z.array(slowQueryOutput.extend({ tenantId: z.guid().nullable() })) }))
    .query(async ({ ctx, input }) => {
      await withPlatformAdmin(ctx.services.sessions.bindIdentity(ctx.identity), (tx) =>
        auditPlatformRead(tx, ctx.identity.userId, ctx, 'platform.slow_queries.read', { limit: input.limit }),
      );
      const log = ctx.services.telemetry.slowQueries;
      return { thresholdMs: log.thresholdMs, items: log.list(input.limit) };
    }),

  tenants: platformAdminProcedure
    .meta({
      summary: 'All tenants (platform admins; audited)',
      tags: ['platform'],
      rest: { method: 'GET', path: '/platform/tenants' },
    })
    .input(listInput(['createdAt', 'name', 'slug']).extend(searchInput))
    .output(
      pageOf(
        z.object({
          id: z.guid(),
          name: z.string(),
          slug: z.string(),
          plan: z.enum(PLANS),
          memberCount: z.number().int(),
          createdAt: z.iso.datetime(),
          deletedAt: z.iso.datetime().nullable(),
        }),
      ),
    )
    .query(async ({ ctx, input }) => {
      const { where, orderBy, limit } = keyset(
        input,
        { createdAt: tenants.createdAt, name: tenants.name, slug: tenants.slug },
        tenants.id,
      );
      const rows = await withPlatformAdmin(ctx.services.sessions.bindIdentity(ctx.identity), async (tx) => {
        await auditPlatformRead(tx, ctx.identity.userId, ctx, 'platform.tenants.listed', { q: input.q ?? null });
        const pattern = input.q ? `%${escapeLike(input.q)}%` : undefined;
        return tx
          .select({
            id: tenants.id,
            name: tenants.name,
            slug: tenants.slug,
            plan: tenants.plan,
            createdAt: tenants.createdAt,
            deletedAt: tenants.deletedAt,
            memberCount: count(memberships.userId),
          })
          .from(tenants)
          .leftJoin(memberships, eq(memberships.tenantId, tenants.id))
          .where(
            and(
              input.includeDeleted ? undefined : isNull(tenants.deletedAt),
              pattern ? or(ilike(tenants.name, pattern), ilike(tenants.slug, pattern)) : undefined,
              where,
            ),
          )
          .groupBy(tenants.id)
          .orderBy(...orderBy)
          .limit(limit);
      });
      const result = page(rows, input, (row, field) => [row[field as 'createdAt' | 'name' | 'slug'], row.id]);
      return {
        items: result.items.map((r) => ({
          ...r,
          createdAt: r.createdAt.toISOString(),
          deletedAt: r.deletedAt ? r.deletedAt.toISOString() : null,
        })),
        nextCursor: result.nextCursor,
      };
    }),

  users: platformAdminProcedure
    .meta({
      summary: 'All users (platform admins; audited)',
      tags: ['platform'],
      rest: { method: 'GET', path: '/platform/users' },
    })
    .input(listInput(['createdAt', 'email', 'name']).extend({ q: searchInput.q }))
    .output(
      pageOf(
        z.object({
          id: z.guid(),
          name: z.string(),
          email: z.string(),
          emailVerified: z.boolean(),
          tenantCount: z.number().int(),
          createdAt: z.iso.datetime(),
        }),
      ),
    )
    .query(async ({ ctx, input }) => {
      const { where, orderBy, limit } = keyset(
        input,
        { createdAt: users.createdAt, email: users.email, name: users.name },
        users.id,
      );
      const rows = await withPlatformAdmin(ctx.services.sessions.bindIdentity(ctx.identity), async (tx) => {
        await auditPlatformRead(tx, ctx.identity.userId, ctx, 'platform.users.listed', { q: input.q ?? null });
        const pattern = input.q ? `%${escapeLike(input.q)}%` : undefined;
        return tx
          .select({
            id: users.id,
            name: users.name,
            email: users.email,
            emailVerified: users.emailVerified,
            createdAt: users.createdAt,
            tenantCount: count(memberships.tenantId),
          })
          .from(users)
          .leftJoin(memberships, eq(memberships.userId, users.id))
          .where(and(pattern ? or(ilike(users.name, pattern), ilike(users.email, pattern)) : undefined, where))
          .groupBy(users.id)
          .orderBy(...orderBy)
          .limit(limit);
      });
      const result = page(rows, input, (row, field) => [row[field as 'createdAt' | 'email' | 'name'], row.id]);
      return { items: result.items.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() })), nextCursor: result.nextCursor };
    }),
});
