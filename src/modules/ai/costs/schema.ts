import { sql } from 'drizzle-orm';
import { boolean, check, date, index, integer, jsonb, numeric, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { tenantTable } from '../../../db/tenant-table.ts';

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
/** Money in USD, with ten decimals: one embedding call can cost a fraction of a millionth of a dollar, and sums of such calls must not round to nothing. */
const usd = (name: string) => numeric(name, { precision: 22, scale: 10, mode: 'number' });

export const COST_SERVICES = ['llm', 'embedding', 'vision', 'voice', 'livekit'] as const;
export const BUDGET_ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export const BUDGET_ALERT_STATUSES = ['open', 'acknowledged', 'resolved'] as const;

/**
 * One priced use of a paid service. Rows are append-only history: the amount
 * is fixed when the event is written, from the price table in force then.
 * session_id references the tenant's conversation; its foreign key is declared
 * in the custom migration `ai_costs_meetings_fks` because it must be
 * `ON DELETE SET NULL (session_id)` (only that column: tenant_id stays), which
 * the schema builder cannot express. agent_id has no foreign key: the agent
 * may be another tenant's shared agent.
 */
export const costEvents = tenantTable(
  'ai_cost_events',
  {
    id: uuid('id').notNull().defaultRandom(),
    service: text('service', { enum: COST_SERVICES }).notNull(),
    model: text('model'),
    units: numeric('units', { precision: 20, scale: 6, mode: 'number' }).notNull(),
    unit: text('unit').notNull(),
    unitPrice: numeric('unit_price', { precision: 20, scale: 12, mode: 'number' }).notNull(),
    amount: usd('amount').notNull(),
    sessionId: uuid('session_id'),
    agentId: uuid('agent_id'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  {
    key: ['id'],
    extra: (t) => [
      index('ai_cost_events_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
      index('ai_cost_events_tenant_service_created_idx').on(t.tenantId, t.service, t.createdAt),
      index('ai_cost_events_session_idx').on(t.tenantId, t.sessionId),
      index('ai_cost_events_agent_idx').on(t.tenantId, t.agentId, t.createdAt),
      check('ai_cost_events_service_check', sql.raw(`service in (${COST_SERVICES.map((s) => `'${s}'`).join(', ')})`)),
      check('ai_cost_events_units_check', sql.raw('units >= 0')),
      check('ai_cost_events_amount_check', sql.raw('amount >= 0 and unit_price >= 0')),
      check('ai_cost_events_unit_check', sql.raw('char_length(unit) between 1 and 40')),
      check('ai_cost_events_model_check', sql.raw('char_length(model) <= 200')),
    ],
  },
);

/** The tenant's budget: one row per tenant (the primary key is tenant_id alone). No row means no limit. */
export const budgets = tenantTable(
  'ai_budgets',
  {
    /** USD per calendar month (UTC); NULL: no limit, no alerts. */
    monthlyLimit: numeric('monthly_limit', { precision: 14, scale: 2, mode: 'number' }),
    /** Percentages of the monthly limit at which an alert is raised, ascending. */
    alertThresholds: integer('alert_thresholds').array().notNull().default(sql`'{50,80,100}'::integer[]`),
    /** Refuse model calls (BUDGET_EXCEEDED) once the month's spending reaches the limit. */
    hardLimit: boolean('hard_limit').notNull().default(false),
    updatedAt: at('updated_at').notNull().defaultNow(),
  },
  {
    key: [],
    extra: () => [
      check('ai_budgets_limit_check', sql.raw('monthly_limit is null or monthly_limit >= 0')),
      check('ai_budgets_thresholds_check', sql.raw('cardinality(alert_thresholds) <= 10')),
    ],
  },
);

/**
 * Spending per tenant and calendar month (UTC): what was recorded, and what
 * admitted model calls have reserved but not yet settled. Admission is one
 * conditional UPDATE of this row, so concurrent admissions serialise on it.
 */
export const budgetUsage = tenantTable(
  'ai_budget_usage',
  {
    period: date('period', { mode: 'string' }).notNull(),
    spent: usd('spent').notNull().default(0),
    reserved: usd('reserved').notNull().default(0),
    updatedAt: at('updated_at').notNull().defaultNow(),
  },
  {
    key: ['period'],
    extra: () => [check('ai_budget_usage_amounts_check', sql.raw('spent >= 0 and reserved >= 0'))],
  },
);

/** An admitted model call's reservation, until recordCost settles it or releaseReservation frees it (or it expires). */
export const budgetReservations = tenantTable(
  'ai_budget_reservations',
  {
    id: uuid('id').notNull().defaultRandom(),
    period: date('period', { mode: 'string' }).notNull(),
    amount: usd('amount').notNull(),
    expiresAt: at('expires_at').notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  {
    key: ['id'],
    extra: (t) => [
      index('ai_budget_reservations_expiry_idx').on(t.tenantId, t.expiresAt),
      check('ai_budget_reservations_amount_check', sql.raw('amount >= 0')),
    ],
  },
);

/** A crossed budget threshold: raised at most once per threshold and month (the unique index). */
export const budgetAlerts = tenantTable(
  'ai_budget_alerts',
  {
    id: uuid('id').notNull().defaultRandom(),
    period: date('period', { mode: 'string' }).notNull(),
    threshold: integer('threshold').notNull(),
    severity: text('severity', { enum: BUDGET_ALERT_SEVERITIES }).notNull(),
    status: text('status', { enum: BUDGET_ALERT_STATUSES }).notNull().default('open'),
    /** Spending and limit when the alert was raised. */
    spent: usd('spent').notNull(),
    monthlyLimit: numeric('monthly_limit', { precision: 14, scale: 2, mode: 'number' }).notNull(),
    acknowledgedAt: at('acknowledged_at'),
    acknowledgedBy: uuid('acknowledged_by'),
    resolvedAt: at('resolved_at'),
    resolvedBy: uuid('resolved_by'),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  {
    key: ['id'],
    extra: (t) => [
      uniqueIndex('ai_budget_alerts_once_key').on(t.tenantId, t.period, t.threshold),
      index('ai_budget_alerts_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
      check('ai_budget_alerts_severity_check', sql.raw(`severity in ('info', 'warning', 'critical')`)),
      check('ai_budget_alerts_status_check', sql.raw(`status in ('open', 'acknowledged', 'resolved')`)),
      check('ai_budget_alerts_threshold_check', sql.raw('threshold between 1 and 1000')),
    ],
  },
);
