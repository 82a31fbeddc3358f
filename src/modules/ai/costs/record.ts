import { and, eq, lt, sql } from 'drizzle-orm';
import { AppError } from '../../../api/errors.ts';
import type { Tx } from '../../../db/tenant.ts';
import { emitEvent } from '../../../events/emit.ts';
import { type CostService, DEFAULT_UNITS, roundUsd, unitPrice } from './prices.ts';
import { budgetAlerts, budgetReservations, budgets, budgetUsage, costEvents } from './schema.ts';

export type { CostService } from './prices.ts';
export { unitPrice } from './prices.ts';

/** The calendar month (UTC) of the transaction's clock, as the `date` of its first day. */
export const CURRENT_PERIOD = sql<string>`(date_trunc('month', now() at time zone 'UTC'))::date`;

/**
 * How long an admitted call's reservation holds budget if the caller never
 * settles or releases it (a crash between admission and recording). Longer
 * than the longest model call (LLM_TIMEOUT_MS is at most ten minutes).
 */
export const RESERVATION_TTL_SECONDS = 15 * 60;

export interface CostEventInput {
  service: CostService;
  model?: string | null;
  /** How many units: tokens, images, minutes or participant-minutes. */
  units: number;
  /**
   * What the units are. Defaults per service: `tokens` (llm, embedding),
   * `images`, `minutes`, `participant_minutes`. An llm call is recorded as two
   * events, `input_tokens` and `output_tokens`, each priced at its own rate
   * (an llm event with plain `tokens` is priced at the higher rate).
   */
  unit?: string;
  /** The conversation (app.ai_conversations) the cost belongs to. */
  sessionId?: string | null;
  agentId?: string | null;
  /** From admitModelCall: settled (freed) by this event. */
  reservationId?: string | null;
  metadata?: Record<string, unknown>;
}

export const BUDGET_ALERT_RAISED = 'ai.budget_alert.raised';

/** info below 80%, warning below 100%, critical at or over the limit. */
export function severityOf(threshold: number): 'info' | 'warning' | 'critical' {
  return threshold >= 100 ? 'critical' : threshold >= 80 ? 'warning' : 'info';
}

/**
 * Writes one cost event priced from the configured price table and adds it to
 * the tenant's current budget period; raises budget alerts whose thresholds
 * it crosses (once per threshold per period, emitted as events/webhooks).
 * Returns the amount in USD.
 */
export async function recordCost(tx: Tx, tenantId: string, event: CostEventInput): Promise<{ id: string; amount: number }> {
  if (!Number.isFinite(event.units) || event.units < 0) throw new Error('cost units must be a non-negative number');
  const unit = event.unit ?? DEFAULT_UNITS[event.service];
  const price = unitPrice(event.service, event.model, unit);
  const amount = roundUsd(event.units * price);
  const [row] = await tx
    .insert(costEvents)
    .values({
      tenantId,
      service: event.service,
      model: event.model ?? null,
      units: event.units,
      unit,
      unitPrice: price,
      amount,
      sessionId: event.sessionId ?? null,
      agentId: event.agentId ?? null,
      metadata: event.metadata ?? {},
    })
    .returning({ id: costEvents.id });
  if (!row) throw new Error('cost event not recorded');
  if (event.reservationId) await releaseReservation(tx, tenantId, event.reservationId);
  if (amount > 0) {
    const [usage] = await tx
      .insert(budgetUsage)
      .values({ tenantId, period: CURRENT_PERIOD, spent: amount })
      .onConflictDoUpdate({
        target: [budgetUsage.tenantId, budgetUsage.period],
        set: { spent: sql`${budgetUsage.spent} + excluded.spent`, updatedAt: sql`now()` },
      })
      .returning({ period: budgetUsage.period, spent: budgetUsage.spent });
    if (usage) await raiseCrossedAlerts(tx, tenantId, usage.period, Number(usage.spent));
  }
  return { id: row.id, amount };
}

/**
 * Raises an alert for every threshold of the tenant's budget that `spent`
 * has reached in `period` and that has not been raised yet in that period
 * (the unique index decides, so concurrent callers raise it once).
 */
export async function raiseCrossedAlerts(tx: Tx, tenantId: string, period: string, spent: number): Promise<void> {
  const [budget] = await tx
    .select({ monthlyLimit: budgets.monthlyLimit, thresholds: budgets.alertThresholds })
    .from(budgets)
    .where(eq(budgets.tenantId, tenantId));
  const limit = budget?.monthlyLimit === null || budget?.monthlyLimit === undefined ? null : Number(budget.monthlyLimit);
  if (!budget || limit === null || limit <= 0) return;
  const percent = (spent / limit) * 100;
  for (const threshold of [...new Set(budget.thresholds)].sort((a, b) => a - b)) {
    if (percent < threshold) break;
    const severity = severityOf(threshold);
    const [alert] = await tx
      .insert(budgetAlerts)
      .values({ tenantId, period, threshold, severity, spent, monthlyLimit: limit })
      .onConflictDoNothing()
      .returning({ id: budgetAlerts.id });
    if (alert) {
      await emitEvent(tx, { tenantId }, BUDGET_ALERT_RAISED, {
        id: alert.id,
        period,
        threshold,
        severity,
        spent,
        monthlyLimit: limit,
      });
    }
  }
}

/** Frees budget held by reservations that outlived RESERVATION_TTL_SECONDS (their caller never settled them). */
async function releaseExpiredReservations(tx: Tx, tenantId: string): Promise<void> {
  const expired = await tx
    .delete(budgetReservations)
    .where(and(eq(budgetReservations.tenantId, tenantId), lt(budgetReservations.expiresAt, sql`now()`)))
    .returning({ period: budgetReservations.period, amount: budgetReservations.amount });
  const byPeriod = new Map<string, number>();
  for (const r of expired) byPeriod.set(r.period, (byPeriod.get(r.period) ?? 0) + Number(r.amount));
  for (const [period, amount] of byPeriod) await unreserve(tx, tenantId, period, amount);
}

async function unreserve(tx: Tx, tenantId: string, period: string, amount: number): Promise<void> {
  await tx
    .update(budgetUsage)
    .set({ reserved: sql`greatest(${budgetUsage.reserved} - ${amount}, 0)`, updatedAt: sql`now()` })
    .where(and(eq(budgetUsage.tenantId, tenantId), eq(budgetUsage.period, period)));
}

/**
 * Admits one model call under the tenant's hard monthly limit or throws
 * AppError('BUDGET_EXCEEDED'). Atomic: concurrent calls cannot overspend the
 * limit by more than one call. Call it in its own short transaction BEFORE
 * the model call; pass the returned reservationId to recordCost after the call
 * (which settles the reservation), or call releaseReservation if the call
 * failed. Without a hard limit nothing is reserved and reservationId is null.
 *
 * How: the month's usage row holds `spent` and `reserved`; one conditional
 * UPDATE adds this call's maximum cost to `reserved` only while
 * `spent + reserved < limit`. The row lock serialises concurrent admissions
 * and each re-checks the condition against the row as the previous one left
 * it, so the admitted total can pass the limit by at most one call's maximum.
 */
export async function admitModelCall(
  tx: Tx,
  tenantId: string,
  estimate: { service: CostService; model?: string | null; maxUnits: number },
): Promise<{ reservationId: string | null }> {
  const [budget] = await tx
    .select({ monthlyLimit: budgets.monthlyLimit, hardLimit: budgets.hardLimit })
    .from(budgets)
    .where(eq(budgets.tenantId, tenantId));
  if (!budget?.hardLimit || budget.monthlyLimit === null) return { reservationId: null };
  const limit = Number(budget.monthlyLimit);
  const maxCost = roundUsd(Math.max(0, estimate.maxUnits) * unitPrice(estimate.service, estimate.model));
  await releaseExpiredReservations(tx, tenantId);
  await tx.insert(budgetUsage).values({ tenantId, period: CURRENT_PERIOD }).onConflictDoNothing();
  const [admitted] = await tx
    .update(budgetUsage)
    .set({ reserved: sql`${budgetUsage.reserved} + ${maxCost}`, updatedAt: sql`now()` })
    .where(
      and(
        eq(budgetUsage.tenantId, tenantId),
        eq(budgetUsage.period, CURRENT_PERIOD),
        sql`${budgetUsage.spent} + ${budgetUsage.reserved} < ${limit}`,
      ),
    )
    .returning({ period: budgetUsage.period });
  if (!admitted) {
    throw new AppError('BUDGET_EXCEEDED', undefined, { monthlyLimit: limit });
  }
  const [reservation] = await tx
    .insert(budgetReservations)
    .values({
      tenantId,
      period: admitted.period,
      amount: maxCost,
      expiresAt: sql`now() + make_interval(secs => ${RESERVATION_TTL_SECONDS})`,
    })
    .returning({ id: budgetReservations.id });
  if (!reservation) throw new Error('reservation not recorded');
  return { reservationId: reservation.id };
}

/** Frees an admitted call's reservation (the call failed or was not made). Unknown or already settled ids do nothing. */
export async function releaseReservation(tx: Tx, tenantId: string, reservationId: string): Promise<void> {
  const [released] = await tx
    .delete(budgetReservations)
    .where(and(eq(budgetReservations.tenantId, tenantId), eq(budgetReservations.id, reservationId)))
    .returning({ period: budgetReservations.period, amount: budgetReservations.amount });
  if (released) await unreserve(tx, tenantId, released.period, Number(released.amount));
}
