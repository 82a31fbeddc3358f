import { and, eq, isNull } from 'drizzle-orm';
import { AppError, type FieldIssue } from '../../api/errors.ts';
import { memberships } from '../../db/core-schema.ts';
import type { TenantPrincipal, Tx } from '../../db/tenant.ts';
import { companies } from './companies/schema.ts';
import { contacts } from './contacts/schema.ts';
import { leads } from './leads/schema.ts';

/** Ids a write refers to; undefined and null are not checked. */
export interface References {
  companyId?: string | null | undefined;
  contactId?: string | null | undefined;
  leadId?: string | null | undefined;
  ownerUserId?: string | null | undefined;
}

/**
 * Checks that every referenced record exists in the caller's tenant (another
 * tenant's id is as missing as an unknown one) and that an owner is a member.
 * Composite foreign keys enforce the same; this names the field that is wrong.
 */
export async function assertReferences(tx: Tx, principal: TenantPrincipal, refs: References): Promise<void> {
  const issues = await referenceIssues(tx, principal, refs);
  if (issues.length > 0) throw new AppError('UNPROCESSABLE', 'Some referenced records do not exist.', issues);
}

export async function referenceIssues(tx: Tx, principal: TenantPrincipal, refs: References): Promise<FieldIssue[]> {
  const tenantId = principal.tenantId;
  const issues: FieldIssue[] = [];
  if (refs.companyId) {
    const [row] = await tx
      .select({ id: companies.id })
      .from(companies)
      .where(and(eq(companies.tenantId, tenantId), eq(companies.id, refs.companyId)));
    if (!row) issues.push({ path: 'companyId', message: 'no such company' });
  }
  if (refs.contactId) {
    const [row] = await tx
      .select({ id: contacts.id })
      .from(contacts)
      .where(and(eq(contacts.tenantId, tenantId), eq(contacts.id, refs.contactId), isNull(contacts.deletedAt)));
    if (!row) issues.push({ path: 'contactId', message: 'no such contact' });
  }
  if (refs.leadId) {
    const [row] = await tx
      .select({ id: leads.id })
      .from(leads)
      .where(and(eq(leads.tenantId, tenantId), eq(leads.id, refs.leadId)));
    if (!row) issues.push({ path: 'leadId', message: 'no such lead' });
  }
  if (refs.ownerUserId) {
    const [row] = await tx
      .select({ userId: memberships.userId })
      .from(memberships)
      .where(and(eq(memberships.tenantId, tenantId), eq(memberships.userId, refs.ownerUserId)));
    if (!row) issues.push({ path: 'ownerUserId', message: 'not a member of this tenant' });
  }
  return issues;
}
