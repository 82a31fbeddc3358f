import { and, eq, inArray, isNull, or, type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import { keyset, type ListInput, page } from '../../../api/pagination.ts';
import type { TenantPrincipal, Tx } from '../../../db/tenant.ts';
import { contacts } from '../contacts/schema.ts';
import { iso } from '../fields.ts';
import { leads } from '../leads/schema.ts';
import { ACTIVITY_TYPES, activities } from './schema.ts';

export const activityOutput = z.object({
  id: z.guid(),
  type: z.enum(ACTIVITY_TYPES),
  subject: z.string(),
  body: z.string(),
  dueAt: z.iso.datetime().nullable(),
  done: z.boolean(),
  authorUserId: z.guid().nullable(),
  authorApiKeyId: z.guid().nullable(),
  contactId: z.guid().nullable(),
  companyId: z.guid().nullable(),
  leadId: z.guid().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

export const activityColumns = {
  id: activities.id,
  type: activities.type,
  subject: activities.subject,
  body: activities.body,
  dueAt: activities.dueAt,
  done: activities.done,
  authorUserId: activities.authorUserId,
  authorApiKeyId: activities.authorApiKeyId,
  contactId: activities.contactId,
  companyId: activities.companyId,
  leadId: activities.leadId,
  createdAt: activities.createdAt,
  updatedAt: activities.updatedAt,
};

export type ActivityRow = Pick<typeof activities.$inferSelect, keyof typeof activityColumns>;

export const toActivityOutput = (row: ActivityRow) => ({
  ...row,
  dueAt: iso(row.dueAt),
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

export const ACTIVITY_SORT = ['createdAt', 'updatedAt'] as const;
const sortColumns = { createdAt: activities.createdAt, updatedAt: activities.updatedAt };

/** One page of activities matching `filter`, by the list's sort and cursor. */
export async function activityPage(tx: Tx, principal: TenantPrincipal, filter: SQL | undefined, input: ListInput) {
  const { where, orderBy, limit } = keyset(input, sortColumns, activities.id);
  const rows = await tx
    .select(activityColumns)
    .from(activities)
    .where(and(eq(activities.tenantId, principal.tenantId), filter, where))
    .orderBy(...orderBy)
    .limit(limit);
  const result = page(rows, input, (row, field) => [row[field as (typeof ACTIVITY_SORT)[number]], row.id]);
  return { items: result.items.map(toActivityOutput), nextCursor: result.nextCursor };
}

/**
 * What belongs on a record's timeline: a lead's own activities; a contact's
 * and those of its leads; a company's and those of its contacts and of
 * the leads of either.
 * The related ids are sub-selects of the same statement, never loaded here.
 */
export function timelineFilter(
  tx: Tx,
  principal: TenantPrincipal,
  of: { contactId: string } | { companyId: string } | { leadId: string },
): SQL | undefined {
  const tenantId = principal.tenantId;
  const leadsWhere = (condition: SQL) =>
    tx
      .select({ id: leads.id })
      .from(leads)
      .where(and(eq(leads.tenantId, tenantId), condition));
  if ('leadId' in of) return eq(activities.leadId, of.leadId);
  if ('contactId' in of) {
    return or(eq(activities.contactId, of.contactId), inArray(activities.leadId, leadsWhere(eq(leads.contactId, of.contactId))));
  }
  const companyContacts = tx
    .select({ id: contacts.id })
    .from(contacts)
    .where(and(eq(contacts.tenantId, tenantId), eq(contacts.companyId, of.companyId), isNull(contacts.deletedAt)));
  return or(
    eq(activities.companyId, of.companyId),
    inArray(activities.contactId, companyContacts),
    inArray(
      activities.leadId,
      leadsWhere(or(eq(leads.companyId, of.companyId), inArray(leads.contactId, companyContacts)) as SQL),
    ),
  );
}

export type ActivityLink = 'contactId' | 'companyId' | 'leadId';

/**
 * Before a contact, company or lead row is removed: activities linked to it
 * and to something else lose the link; activities linked to it alone go with it.
 */
export async function detachActivities(tx: Tx, principal: TenantPrincipal, link: ActivityLink, id: string): Promise<void> {
  const linked = and(eq(activities.tenantId, principal.tenantId), eq(activities[link], id));
  const links = sql`num_nonnulls(${activities.contactId}, ${activities.companyId}, ${activities.leadId})`;
  await tx.delete(activities).where(and(linked, sql`${links} = 1`));
  const unlink = link === 'contactId' ? { contactId: null } : link === 'companyId' ? { companyId: null } : { leadId: null };
  await tx.update(activities).set(unlink).where(linked);
}
