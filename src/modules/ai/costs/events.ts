import { and, eq, gte, lt, sql } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import { keyset, listInput, page, pageOf } from '../../../api/pagination.ts';
import { tenantProcedure } from '../../../api/procedures.ts';
import { withTenant } from '../../../db/tenant.ts';
import { COST_SERVICES, costEvents } from './schema.ts';

export const tags = ['ai'];
export const READ = 'ai:read' as const;
export const WRITE = 'ai:write' as const;

const costEventOutput = z.object({
  id: z.guid(),
  service: z.enum(COST_SERVICES),
  model: z.string().nullable(),
  units: z.number(),
  unit: z.string(),
  unitPrice: z.number(),
  amount: z.number(),
  sessionId: z.guid().nullable(),
  agentId: z.guid().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  createdAt: z.iso.datetime(),
});

const costEventColumns = {
  id: costEvents.id,
  service: costEvents.service,
  model: costEvents.model,
  units: costEvents.units,
  unit: costEvents.unit,
  unitPrice: costEvents.unitPrice,
  amount: costEvents.amount,
  sessionId: costEvents.sessionId,
  agentId: costEvents.agentId,
  metadata: costEvents.metadata,
  createdAt: costEvents.createdAt,
};

/** A day (`2026-11-01`, the start of that day in UTC) or an instant. */
const instant = z.union([z.iso.date(), z.iso.datetime({ offset: true })]).transform((v) => new Date(v));

const DAY_MS = 86_400_000;
const MAX_RANGE = { day: 400, month: 120 * 31 } as const;

function startOfUtcMonth(date: Date, monthsBack = 0): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() - monthsBack, 1));
}

const summaryRow = z.object({
  /** The first day of the bucket (UTC), `YYYY-MM-DD`. */
  period: z.iso.date(),
  service: z.enum(COST_SERVICES),
  events: z.number().int(),
  units: z.number(),
  amount: z.number(),
});

export const costEventProcedures = {
  events: tenantProcedure
    .meta({
      summary: 'Cost events of the tenant, newest first by default',
      tags,
      scope: READ,
      rest: { method: 'GET', path: '/ai/costs/events' },
    })
    .input(
      listInput(['createdAt', 'amount'], '-createdAt').extend({
        service: z.enum(COST_SERVICES).optional(),
        sessionId: z.guid().optional(),
        agentId: z.guid().optional(),
        from: instant.optional(),
        to: instant.optional(),
      }),
    )
    .output(pageOf(costEventOutput))
    .query(async ({ ctx, input }) => {
      const { principal } = ctx;
      const { where, orderBy, limit } = keyset(
        input,
        { createdAt: costEvents.createdAt, amount: costEvents.amount },
        costEvents.id,
      );
      const rows = await withTenant(principal, (tx) =>
        tx
          .select(costEventColumns)
          .from(costEvents)
          .where(
            and(
              eq(costEvents.tenantId, principal.tenantId),
              input.service ? eq(costEvents.service, input.service) : undefined,
              input.sessionId ? eq(costEvents.sessionId, input.sessionId) : undefined,
              input.agentId ? eq(costEvents.agentId, input.agentId) : undefined,
              input.from ? gte(costEvents.createdAt, input.from) : undefined,
              input.to ? lt(costEvents.createdAt, input.to) : undefined,
              where,
            ),
          )
          .orderBy(...orderBy)
          .limit(limit),
      );
      const result = page(rows, input, (row, field) => [field === 'amount' ? row.amount : row.createdAt, row.id]);
      return {
        items: result.items.map((row) => ({
          ...row,
          units: Number(row.units),
          unitPrice: Number(row.unitPrice),
          amount: Number(row.amount),
          createdAt: row.createdAt.toISOString(),
        })),
        nextCursor: result.nextCursor,
      };
    }),

  summary: tenantProcedure
    .meta({
      summary: 'Spending per service and day or month (UTC), in USD',
      tags,
      scope: READ,
      rest: { method: 'GET', path: '/ai/costs/summary' },
    })
    .input(
      z.object({
        period: z.enum(['day', 'month']).default('month'),
        /** Inclusive; default: 30 days (day) or 12 months (month) back. */
        from: instant.optional(),
        /** Exclusive; default: now. */
        to: instant.optional(),
        service: z.enum(COST_SERVICES).optional(),
      }),
    )
    .output(
      z.object({
        period: z.enum(['day', 'month']),
        from: z.iso.datetime(),
        to: z.iso.datetime(),
        currency: z.literal('USD'),
        rows: z.array(summaryRow),
        totals: z.array(
          z.object({ service: z.enum(COST_SERVICES), events: z.number().int(), units: z.number(), amount: z.number() }),
        ),
        total: z.number(),
      }),
    )
    .query(async ({ ctx, input }) => {
      const { principal } = ctx;
      const now = new Date();
      const to = input.to ?? now;
      const from =
        input.from ??
        (input.period === 'day'
          ? new Date(Date.UTC(to.getUTCFullYear(), to.getUTCMonth(), to.getUTCDate() - 29))
          : startOfUtcMonth(to, 11));
      if (from >= to) throw new AppError('VALIDATION_FAILED', undefined, [{ path: 'from', message: 'must be before to' }]);
      if ((to.getTime() - from.getTime()) / DAY_MS > MAX_RANGE[input.period]) {
        throw new AppError('VALIDATION_FAILED', undefined, [
          { path: 'from', message: `at most ${MAX_RANGE[input.period]} days for period=${input.period}` },
        ]);
      }
      // Two fixed statements, not a bound unit: GROUP BY must repeat the select's expression exactly.
      const bucket =
        input.period === 'day'
          ? sql<string>`to_char(date_trunc('day', ${costEvents.createdAt} at time zone 'UTC'), 'YYYY-MM-DD')`
          : sql<string>`to_char(date_trunc('month', ${costEvents.createdAt} at time zone 'UTC'), 'YYYY-MM-DD')`;
      const rows = await withTenant(principal, (tx) =>
        tx
          .select({
            period: bucket,
            service: costEvents.service,
            events: sql<number>`count(*)::int`,
            units: sql<string>`sum(${costEvents.units})`,
            amount: sql<string>`sum(${costEvents.amount})`,
          })
          .from(costEvents)
          .where(
            and(
              eq(costEvents.tenantId, principal.tenantId),
              gte(costEvents.createdAt, from),
              lt(costEvents.createdAt, to),
              input.service ? eq(costEvents.service, input.service) : undefined,
            ),
          )
          .groupBy(bucket, costEvents.service)
          .orderBy(bucket, costEvents.service),
      );
      const out = rows.map((r) => ({
        period: r.period,
        service: r.service,
        events: Number(r.events),
        units: Number(r.units),
        amount: Number(r.amount),
      }));
      const totals = new Map<(typeof COST_SERVICES)[number], { events: number; units: number; amount: number }>();
      for (const r of out) {
        const t = totals.get(r.service) ?? { events: 0, units: 0, amount: 0 };
        totals.set(r.service, { events: t.events + r.events, units: t.units + r.units, amount: t.amount + r.amount });
      }
      const round = (n: number) => Math.round(n * 1e10) / 1e10;
      return {
        period: input.period,
        from: from.toISOString(),
        to: to.toISOString(),
        currency: 'USD' as const,
        rows: out,
        totals: [...totals].map(([service, t]) => ({
          service,
          events: t.events,
          units: round(t.units),
          amount: round(t.amount),
        })),
        total: round(out.reduce((sum, r) => sum + r.amount, 0)),
      };
    }),
};
