import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../api/errors.ts';
import { keyset, listInput, page, pageOf } from '../../api/pagination.ts';
import { adminProcedure, router } from '../../api/procedures.ts';
import { auditLog } from '../../audit/schema.ts';
import { builtOnce, withTenant } from '../../db/tenant.ts';

const auditEntryOutput = z.object({
  id: z.guid(),
  actorUserId: z.guid().nullable(),
  actorApiKeyId: z.guid().nullable(),
  action: z.string(),
  targetType: z.string(),
  targetId: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  before: z.record(z.string(), z.unknown()).nullable(),
  after: z.record(z.string(), z.unknown()).nullable(),
  requestId: z.string().nullable(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  createdAt: z.iso.datetime(),
});

/** The columns an audit entry is read with (the benchmark reuses them to run the same query). */
export const auditColumns = {
  id: auditLog.id,
  actorUserId: auditLog.actorUserId,
  actorApiKeyId: auditLog.actorApiKeyId,
  action: auditLog.action,
  targetType: auditLog.targetType,
  targetId: auditLog.targetId,
  data: auditLog.data,
  before: auditLog.before,
  after: auditLog.after,
  requestId: auditLog.requestId,
  ip: auditLog.ip,
  userAgent: auditLog.userAgent,
  createdAt: auditLog.createdAt,
};

/** One entry by id: the request http_vs_pgbench measures (docs/benchmarks.md), so its SQL is built once (db/built-once.ts). */
const auditEntryById = builtOnce((db) =>
  db
    .select(auditColumns)
    .from(auditLog)
    .where(and(eq(auditLog.tenantId, sql.placeholder('tenantId')), eq(auditLog.id, sql.placeholder('id')))),
);

export const auditRouter = router({
  get: adminProcedure
    .meta({ scope: 'audit:read', summary: 'One audit entry', tags: ['audit'], rest: { method: 'GET', path: '/audit-log/{id}' } })
    .input(z.object({ id: z.guid() }))
    .output(auditEntryOutput)
    .query(async ({ ctx, input }) => {
      const [row] = await withTenant(ctx.principal, (tx) =>
        auditEntryById(tx, { tenantId: ctx.principal.tenantId, id: input.id }),
      );
      if (!row) throw new AppError('NOT_FOUND');
      return { ...row, createdAt: row.createdAt.toISOString() };
    }),

  list: adminProcedure
    .meta({
      scope: 'audit:read',
      summary: 'Audit log of the active tenant, newest first',
      tags: ['audit'],
      rest: { method: 'GET', path: '/audit-log' },
    })
    .input(
      listInput(['createdAt'], '-createdAt').extend({
        action: z.string().max(100).optional(),
        actorUserId: z.guid().optional(),
        actorApiKeyId: z.guid().optional(),
        targetType: z.string().max(100).optional(),
        targetId: z.string().max(200).optional(),
      }),
    )
    .output(pageOf(auditEntryOutput))
    .query(async ({ ctx, input }) => {
      const { where, orderBy, limit } = keyset(input, { createdAt: auditLog.createdAt }, auditLog.id);
      const rows = await withTenant(ctx.principal, (tx) =>
        tx
          .select(auditColumns)
          .from(auditLog)
          .where(
            and(
              eq(auditLog.tenantId, ctx.principal.tenantId),
              input.action ? eq(auditLog.action, input.action) : undefined,
              input.actorUserId ? eq(auditLog.actorUserId, input.actorUserId) : undefined,
              input.actorApiKeyId ? eq(auditLog.actorApiKeyId, input.actorApiKeyId) : undefined,
              input.targetType ? eq(auditLog.targetType, input.targetType) : undefined,
              input.targetId ? eq(auditLog.targetId, input.targetId) : undefined,
              where,
            ),
          )
          .orderBy(...orderBy)
          .limit(limit),
      );
      const result = page(rows, input, (row) => [row.createdAt, row.id]);
      return { items: result.items.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() })), nextCursor: result.nextCursor };
    }),
});
