import { and, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import { keyset, listInput, page, pageOf } from '../../../api/pagination.ts';
import { adminProcedure, tenantProcedure } from '../../../api/procedures.ts';
import { actorOf, recordAudit } from '../../../audit/record.ts';
import { queryRows, type TenantPrincipal, type Tx, withTenant } from '../../../db/tenant.ts';
import { emitEvent } from '../../../events/emit.ts';
import { READ, tags, WRITE } from './events.ts';
import { CURRENT_PERIOD, raiseCrossedAlerts } from './record.ts';
import { BUDGET_ALERT_SEVERITIES, BUDGET_ALERT_STATUSES, budgetAlerts, budgets, budgetUsage } from './schema.ts';

export const DEFAULT_THRESHOLDS = [50, 80, 100];

const budgetOutput = z.object({
  /** USD per calendar month (UTC); null: no limit. */
  monthlyLimit: z.number().nullable(),
  alertThresholds: z.array(z.number().int()),
  hardLimit: z.boolean(),
  currency: z.literal('USD'),
  /** The current month: its first day, what was spent, what admitted calls hold, and the share of the limit spent. */
  period: z.iso.date(),
  spent: z.number(),
  reserved: z.number(),
  percentUsed: z.number().nullable(),
  updatedAt: z.iso.datetime().nullable(),
});

async function readBudget(tx: Tx, tenantId: string) {
  const [budget] = await tx
    .select({
      monthlyLimit: budgets.monthlyLimit,
      alertThresholds: budgets.alertThresholds,
      hardLimit: budgets.hardLimit,
      updatedAt: budgets.updatedAt,
    })
    .from(budgets)
    .where(eq(budgets.tenantId, tenantId));
  const [period] = await queryRows<{ period: string }>(tx, sql`select ${CURRENT_PERIOD}::text as period`);
  const currentPeriod = period?.period ?? '';
  const [usage] = await tx
    .select({ spent: budgetUsage.spent, reserved: budgetUsage.reserved })
    .from(budgetUsage)
    .where(and(eq(budgetUsage.tenantId, tenantId), eq(budgetUsage.period, currentPeriod)));
  const monthlyLimit = budget?.monthlyLimit === null || budget?.monthlyLimit === undefined ? null : Number(budget.monthlyLimit);
  const spent = Number(usage?.spent ?? 0);
  return {
    monthlyLimit,
    alertThresholds: budget?.alertThresholds ?? DEFAULT_THRESHOLDS,
    hardLimit: budget?.hardLimit ?? false,
    currency: 'USD' as const,
    period: currentPeriod,
    spent,
    reserved: Number(usage?.reserved ?? 0),
    percentUsed: monthlyLimit && monthlyLimit > 0 ? Math.round((spent / monthlyLimit) * 10_000) / 100 : null,
    updatedAt: budget?.updatedAt?.toISOString() ?? null,
  };
}

const alertOutput = z.object({
  id: z.guid(),
  period: z.iso.date(),
  threshold: z.number().int(),
  severity: z.enum(BUDGET_ALERT_SEVERITIES),
  status: z.enum(BUDGET_ALERT_STATUSES),
  spent: z.number(),
  monthlyLimit: z.number(),
  acknowledgedAt: z.iso.datetime().nullable(),
  resolvedAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
});

const alertColumns = {
  id: budgetAlerts.id,
  period: budgetAlerts.period,
  threshold: budgetAlerts.threshold,
  severity: budgetAlerts.severity,
  status: budgetAlerts.status,
  spent: budgetAlerts.spent,
  monthlyLimit: budgetAlerts.monthlyLimit,
  acknowledgedAt: budgetAlerts.acknowledgedAt,
  resolvedAt: budgetAlerts.resolvedAt,
  createdAt: budgetAlerts.createdAt,
};

type AlertRow = {
  id: string;
  period: string;
  threshold: number;
  severity: (typeof BUDGET_ALERT_SEVERITIES)[number];
  status: (typeof BUDGET_ALERT_STATUSES)[number];
  spent: number;
  monthlyLimit: number;
  acknowledgedAt: Date | null;
  resolvedAt: Date | null;
  createdAt: Date;
};

function toAlertOutput(row: AlertRow) {
  return {
    ...row,
    spent: Number(row.spent),
    monthlyLimit: Number(row.monthlyLimit),
    acknowledgedAt: row.acknowledgedAt?.toISOString() ?? null,
    resolvedAt: row.resolvedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

const actorId = (principal: TenantPrincipal) => (principal.kind === 'member' ? principal.userId : principal.apiKeyId);

function changeAlert(action: 'acknowledge' | 'resolve') {
  const to = action === 'acknowledge' ? 'acknowledged' : 'resolved';
  const from: (typeof BUDGET_ALERT_STATUSES)[number][] = action === 'acknowledge' ? ['open'] : ['open', 'acknowledged'];
  return adminProcedure
    .meta({
      summary: `${action === 'acknowledge' ? 'Acknowledge' : 'Resolve'} a budget alert (409 INVALID_TRANSITION when it is ${action === 'acknowledge' ? 'not open' : 'resolved already'})`,
      tags,
      scope: WRITE,
      rest: { method: 'POST', path: `/ai/budget/alerts/{id}/${action}` },
    })
    .input(z.object({ id: z.guid() }))
    .output(alertOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const row = await withTenant(principal, async (tx) => {
        const where = and(eq(budgetAlerts.tenantId, principal.tenantId), eq(budgetAlerts.id, input.id));
        const [current] = await tx.select({ status: budgetAlerts.status }).from(budgetAlerts).where(where).for('update');
        if (!current) throw new AppError('NOT_FOUND');
        if (!from.includes(current.status)) {
          throw new AppError('INVALID_TRANSITION', undefined, { from: current.status });
        }
        const who = actorId(principal);
        await tx
          .update(budgetAlerts)
          .set(
            action === 'acknowledge'
              ? { status: to, acknowledgedAt: sql`now()`, acknowledgedBy: who }
              : { status: to, resolvedAt: sql`now()`, resolvedBy: who },
          )
          .where(and(where, inArray(budgetAlerts.status, from)));
        await emitEvent(tx, actorOf(principal, ctx), `ai.budget_alert.${to}`, { id: input.id, from: current.status });
        const [updated] = await tx.select(alertColumns).from(budgetAlerts).where(where);
        return updated as AlertRow;
      });
      return toAlertOutput(row);
    });
}

export const budgetProcedures = {
  get: tenantProcedure
    .meta({
      summary: "The tenant's AI budget and this month's spending",
      tags,
      scope: READ,
      rest: { method: 'GET', path: '/ai/budget' },
    })
    .input(z.object({}).optional())
    .output(budgetOutput)
    .query(({ ctx }) => withTenant(ctx.principal, (tx) => readBudget(tx, ctx.principal.tenantId))),

  set: adminProcedure
    .meta({
      summary: 'Set the monthly AI budget, its alert thresholds and whether it is a hard limit (admins)',
      tags,
      scope: WRITE,
      rest: { method: 'PUT', path: '/ai/budget' },
    })
    .input(
      z.object({
        monthlyLimit: z
          .number()
          .min(0)
          .max(1_000_000_000)
          .transform((v) => Math.round(v * 100) / 100)
          .nullable(),
        alertThresholds: z
          .array(z.number().int().min(1).max(1000))
          .max(10)
          .default(DEFAULT_THRESHOLDS)
          .transform((list) => [...new Set(list)].sort((a, b) => a - b)),
        hardLimit: z.boolean().default(false),
      }),
    )
    .output(budgetOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      return withTenant(principal, async (tx) => {
        const before = await readBudget(tx, principal.tenantId);
        await tx
          .insert(budgets)
          .values({
            tenantId: principal.tenantId,
            monthlyLimit: input.monthlyLimit,
            alertThresholds: input.alertThresholds,
            hardLimit: input.hardLimit,
          })
          .onConflictDoUpdate({
            target: budgets.tenantId,
            set: {
              monthlyLimit: input.monthlyLimit,
              alertThresholds: input.alertThresholds,
              hardLimit: input.hardLimit,
              updatedAt: sql`now()`,
            },
          });
        const fields = ['monthlyLimit', 'alertThresholds', 'hardLimit'] as const;
        const pick = (b: Record<(typeof fields)[number], unknown>) => Object.fromEntries(fields.map((f) => [f, b[f]]));
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'ai.budget.updated',
          targetType: 'ai_budget',
          targetId: principal.tenantId,
          before: pick(before),
          after: pick(input),
        });
        await emitEvent(tx, actorOf(principal, ctx), 'ai.budget.updated', pick(input));
        // A lower limit may put this month's spending past thresholds already: raise them now, not at the next call.
        if (before.spent > 0) await raiseCrossedAlerts(tx, principal.tenantId, before.period, before.spent);
        return readBudget(tx, principal.tenantId);
      });
    }),

  alerts: tenantProcedure
    .meta({
      summary: 'Budget alerts, newest first by default',
      tags,
      scope: READ,
      rest: { method: 'GET', path: '/ai/budget/alerts' },
    })
    .input(listInput(['createdAt'], '-createdAt').extend({ status: z.enum(BUDGET_ALERT_STATUSES).optional() }))
    .output(pageOf(alertOutput))
    .query(async ({ ctx, input }) => {
      const { principal } = ctx;
      const { where, orderBy, limit } = keyset(input, { createdAt: budgetAlerts.createdAt }, budgetAlerts.id);
      const rows = await withTenant(principal, (tx) =>
        tx
          .select(alertColumns)
          .from(budgetAlerts)
          .where(
            and(
              eq(budgetAlerts.tenantId, principal.tenantId),
              input.status ? eq(budgetAlerts.status, input.status) : undefined,
              where,
            ),
          )
          .orderBy(...orderBy)
          .limit(limit),
      );
      const result = page(rows as AlertRow[], input, (row) => [row.createdAt, row.id]);
      return { items: result.items.map(toAlertOutput), nextCursor: result.nextCursor };
    }),

  acknowledgeAlert: changeAlert('acknowledge'),
  resolveAlert: changeAlert('resolve'),
};
