import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../api/errors.ts';
import { keyset, listInput, page, pageOf } from '../../api/pagination.ts';
import { adminProcedure, router } from '../../api/procedures.ts';
import { auditLog } from '../../audit/schema.ts';
import { withTenant } from '../../db/tenant.ts';

const auditEntryOutput = z.object({
  id: z.guid(),
  actorUserId: z.guid().nullable(),
  actorApiKeyId: z.guid().nullable(),
  action: z.string(),
  targetType: z.string(),
  targetId: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  requestId: z.string().nullable(),
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
  requestId: auditLog.requestId,
  createdAt: auditLog.createdAt,
};

export const auditRouter = router({
  get: adminProcedure
    .meta({ summary: 'One audit entry', tags: ['audit'], rest: { method: 'GET', path: '/audit-log/{id}' } })
    .input(z.object({ id: z.guid() }))
    .output(auditEntryOutput)
    .query(async ({ ctx, input }) => {
      const [row] = await withTenant(ctx.principal, (tx) =>
        tx
          .select(auditColumns)
          .from(auditLog)
          .where(and(eq(auditLog.tenantId, ctx.principal.tenantId), eq(auditLog.id, input.id))),
      );
      if (!row) throw new AppError('NOT_FOUND');
      return { ...row, createdAt: row.createdAt.toISOString() };
    }),

  list: adminProcedure
    .meta({
      summary: 'Audit log of the active tenant, newest first',
      tags: ['audit'],
      rest: { method: 'GET', path: '/audit-log' },
    })
    .input(
      listInput(['createdAt'], '-createdAt').extend({
        action: z.string().max(100).optional(),
        actorUserId: z.guid().optional(),
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
