import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import type { TenantPrincipal, Tx } from '../../../db/tenant.ts';
import { type EventActor, emitEvent } from '../../../events/emit.ts';
import { detachActivities } from '../activities/model.ts';
import { changedFields, currencyInput, dateInput, moneyInput } from '../fields.ts';
import { findLead, type LeadRow, leadColumns } from './model.ts';
import { leads } from './schema.ts';

export const currencyRequired = { path: 'currency', message: 'required with a value' };

export const leadTitle = z.string().trim().min(1).max(200);

/** What an update may change; the stage (and so the status) changes only through a move. */
export const leadChanges = z.object({
  title: leadTitle.optional(),
  contactId: z.guid().nullable().optional(),
  companyId: z.guid().nullable().optional(),
  value: moneyInput.nullable().optional(),
  currency: currencyInput.nullable().optional(),
  expectedCloseDate: dateInput.nullable().optional(),
  ownerUserId: z.guid().nullable().optional(),
});

export type LeadChanges = z.infer<typeof leadChanges>;

/**
 * Applies changes to one lead, locked, in the caller's transaction, and emits
 * lead.updated. References are checked by the caller; that a value keeps a
 * currency is checked here, against the lead's own value and currency.
 */
export async function updateLead(
  tx: Tx,
  principal: TenantPrincipal,
  actor: EventActor,
  id: string,
  changes: LeadChanges,
): Promise<LeadRow> {
  const previous = await findLead(tx, principal, id, true);
  const value = changes.value === undefined ? previous.value : changes.value;
  const currency = changes.currency === undefined ? previous.currency : changes.currency;
  if (value && !currency) throw new AppError('VALIDATION_FAILED', undefined, [currencyRequired]);
  const [updated] = await tx
    .update(leads)
    .set({ ...changes, updatedAt: new Date() })
    .where(and(eq(leads.tenantId, principal.tenantId), eq(leads.id, id)))
    .returning(leadColumns);
  if (!updated) throw new AppError('NOT_FOUND');
  await emitEvent(tx, actor, 'lead.updated', { id, fields: changedFields(changes) });
  return updated;
}

/** Removes one lead (its history goes with it, by cascade) and the activities linked to it alone; emits lead.deleted. */
export async function deleteLead(tx: Tx, principal: TenantPrincipal, actor: EventActor, id: string): Promise<void> {
  await findLead(tx, principal, id, true);
  await detachActivities(tx, principal, 'leadId', id);
  await tx.delete(leads).where(and(eq(leads.tenantId, principal.tenantId), eq(leads.id, id)));
  await emitEvent(tx, actor, 'lead.deleted', { id });
}
