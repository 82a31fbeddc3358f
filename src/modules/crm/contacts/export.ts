import { and, asc, eq, gt, inArray } from 'drizzle-orm';
import { users } from '../../../auth/schema.ts';
import { type TenantPrincipal, withTenant } from '../../../db/tenant.ts';
import { companies } from '../companies/schema.ts';
import { customFieldToText, loadDefinitions } from '../custom-fields/validate.ts';
import { CUSTOM_COLUMN_PREFIX, IMPORT_COLUMNS } from './import.ts';
import { type ContactFilters, contactWhere } from './read.ts';
import { contacts } from './schema.ts';

/** Rows per read: each batch is its own short transaction, so a slow reader never holds a connection. */
const BATCH_SIZE = 1000;

/** The import's columns, plus the read-only ones it accepts and ignores. */
export const EXPORT_COLUMNS = ['id', ...IMPORT_COLUMNS, 'created_at', 'updated_at'] as const;

/**
 * One batch in id order (an index range scan of the primary key), then the
 * batch's companies and owners by id. A join in the same statement would let
 * the planner hash the tenant's whole contact list for every batch.
 */
async function exportBatch(principal: TenantPrincipal, filters: ContactFilters, after: string | null) {
  return withTenant(principal, async (tx) => {
    const rows = await tx
      .select({
        id: contacts.id,
        name: contacts.name,
        email: contacts.email,
        otherEmails: contacts.otherEmails,
        phones: contacts.phones,
        title: contacts.title,
        tags: contacts.tags,
        source: contacts.source,
        ownerUserId: contacts.ownerUserId,
        companyId: contacts.companyId,
        customFields: contacts.customFields,
        createdAt: contacts.createdAt,
        updatedAt: contacts.updatedAt,
      })
      .from(contacts)
      .where(and(contactWhere(principal.tenantId, filters), after ? gt(contacts.id, after) : undefined))
      .orderBy(asc(contacts.id))
      .limit(BATCH_SIZE);
    const companyIds = [...new Set(rows.flatMap((r) => (r.companyId ? [r.companyId] : [])))];
    const ownerIds = [...new Set(rows.flatMap((r) => (r.ownerUserId ? [r.ownerUserId] : [])))];
    const companiesById = new Map(
      companyIds.length === 0
        ? []
        : (
            await tx
              .select({ id: companies.id, domain: companies.domain, name: companies.name })
              .from(companies)
              .where(and(eq(companies.tenantId, principal.tenantId), inArray(companies.id, companyIds)))
          ).map((c) => [c.id, c]),
    );
    const ownersById = new Map(
      ownerIds.length === 0
        ? []
        : (await tx.select({ id: users.id, email: users.email }).from(users).where(inArray(users.id, ownerIds))).map((u) => [
            u.id,
            u.email,
          ]),
    );
    return rows.map((r) => {
      const company = r.companyId ? companiesById.get(r.companyId) : undefined;
      return {
        ...r,
        ownerEmail: r.ownerUserId ? (ownersById.get(r.ownerUserId) ?? null) : null,
        companyDomain: company?.domain ?? null,
        companyName: company?.name ?? null,
      };
    });
  });
}

/**
 * The tenant's contacts matching `filters` as CSV records: the header, then
 * one array of cells per contact, read in id order one batch at a time as
 * the consumer pulls. The columns are those the import reads (plus id and
 * times, which it ignores), so an export imports back.
 */
export async function* exportContacts(principal: TenantPrincipal, filters: ContactFilters): AsyncGenerator<string[]> {
  const definitions = await withTenant(principal, (tx) => loadDefinitions(tx, principal, 'contacts'));
  const keys = definitions.map((d) => d.key).sort();
  yield [...EXPORT_COLUMNS, ...keys.map((k) => `${CUSTOM_COLUMN_PREFIX}${k}`)];
  let after: string | null = null;
  for (;;) {
    const rows = await exportBatch(principal, filters, after);
    for (const r of rows) {
      yield [
        r.id,
        r.name,
        r.email ?? '',
        r.otherEmails.join(';'),
        r.phones.join(';'),
        r.title ?? '',
        r.tags.join(';'),
        r.source ?? '',
        r.ownerEmail ?? '',
        r.companyDomain ?? '',
        r.companyName ?? '',
        r.createdAt.toISOString(),
        r.updatedAt.toISOString(),
        ...keys.map((k) => customFieldToText(r.customFields[k])),
      ];
    }
    const last = rows.at(-1);
    if (!last || rows.length < BATCH_SIZE) return;
    after = last.id;
  }
}
