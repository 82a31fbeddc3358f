import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import type { TenantPrincipal, Tx } from '../../../db/tenant.ts';
import { type EventActor, emitEvent } from '../../../events/emit.ts';
import { detachActivities } from '../activities/model.ts';
import { contacts } from '../contacts/schema.ts';
import type { FieldDefinition } from '../custom-fields/validate.ts';
import { changedFields, mergedChanges, type TagChanges } from '../fields.ts';
import { leads } from '../leads/schema.ts';
import { type CompanyRow, companyColumns, companyFields, findCompany } from './model.ts';
import { companies } from './schema.ts';

export const companyChanges = z.object({
  name: companyFields.name.optional(),
  domain: companyFields.domain.optional(),
  industry: companyFields.industry.optional(),
  size: companyFields.size.optional(),
  address: companyFields.address.optional(),
  tags: companyFields.tags.optional(),
  /** Merged into the stored values; null removes one. */
  customFields: companyFields.customFields.optional(),
});

export type CompanyChanges = z.infer<typeof companyChanges> & TagChanges;

/**
 * Applies changes to one company, locked, in the caller's transaction, and
 * emits company.updated. The merged custom fields are checked here (required
 * ones); a domain another company holds is a CONFLICT from the unique key.
 */
export async function updateCompany(
  tx: Tx,
  principal: TenantPrincipal,
  actor: EventActor,
  id: string,
  changes: CompanyChanges,
  definitions: readonly FieldDefinition[],
): Promise<CompanyRow> {
  const previous = await findCompany(tx, principal, id, true);
  const [updated] = await tx
    .update(companies)
    .set(mergedChanges(previous, changes, definitions))
    .where(and(eq(companies.tenantId, principal.tenantId), eq(companies.id, id)))
    .returning(companyColumns);
  if (!updated) throw new AppError('NOT_FOUND');
  await emitEvent(tx, actor, 'company.updated', { id, fields: changedFields(changes) });
  return updated;
}

/**
 * Removes one company and emits company.deleted: its contacts and leads stay,
 * unlinked; activities linked to it alone go with it. NOT_FOUND if missing.
 */
export async function deleteCompany(tx: Tx, principal: TenantPrincipal, actor: EventActor, id: string): Promise<void> {
  await findCompany(tx, principal, id, true);
  const tenant = principal.tenantId;
  await tx
    .update(contacts)
    .set({ companyId: null, updatedAt: new Date() })
    .where(and(eq(contacts.tenantId, tenant), eq(contacts.companyId, id)));
  await tx
    .update(leads)
    .set({ companyId: null, updatedAt: new Date() })
    .where(and(eq(leads.tenantId, tenant), eq(leads.companyId, id)));
  await detachActivities(tx, principal, 'companyId', id);
  await tx.delete(companies).where(and(eq(companies.tenantId, tenant), eq(companies.id, id)));
  await emitEvent(tx, actor, 'company.deleted', { id });
}
