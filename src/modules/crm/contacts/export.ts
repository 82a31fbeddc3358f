import { and, asc, eq, gt, inArray } from 'drizzle-orm';
import { users } from '../../../auth/schema.ts';
import type { TenantPrincipal } from '../../../db/tenant.ts';
import { companies } from '../companies/schema.ts';
import { exportRecords } from '../csv/export.ts';
import { IMPORT_COLUMNS } from './import.ts';
import { contactColumns } from './model.ts';
import { type ContactFilters, contactWhere } from './read.ts';
import { contacts } from './schema.ts';

/**
 * The tenant's contacts matching `filters` as CSV records, in the columns the
 * import reads. A batch's companies and owners are read by id after the
 * batch: a join in the same statement would let the planner hash the
 * tenant's whole contact list for every batch.
 */
export function exportContacts(principal: TenantPrincipal, filters: ContactFilters): AsyncGenerator<string[]> {
  return exportRecords(principal, {
    entity: 'contacts',
    columns: IMPORT_COLUMNS,
    async batch(tx, after, limit) {
      const rows = await tx
        .select(contactColumns)
        .from(contacts)
        .where(and(contactWhere(principal.tenantId, filters), after ? gt(contacts.id, after) : undefined))
        .orderBy(asc(contacts.id))
        .limit(limit);
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
    },
    cells: (r) => [
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
    ],
  });
}
