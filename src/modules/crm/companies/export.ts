import { and, asc, gt } from 'drizzle-orm';
import type { TenantPrincipal } from '../../../db/tenant.ts';
import { exportRecords } from '../csv/export.ts';
import { ADDRESS_PARTS, IMPORT_COLUMNS } from './import.ts';
import { type CompanyFilters, companyColumns, companyWhere } from './model.ts';
import { companies } from './schema.ts';

/** The tenant's companies matching `filters` as CSV records, in the columns the import reads. */
export function exportCompanies(principal: TenantPrincipal, filters: CompanyFilters): AsyncGenerator<string[]> {
  return exportRecords(principal, {
    entity: 'companies',
    columns: IMPORT_COLUMNS,
    batch: (tx, after, limit) =>
      tx
        .select(companyColumns)
        .from(companies)
        .where(and(companyWhere(principal.tenantId, filters), after ? gt(companies.id, after) : undefined))
        .orderBy(asc(companies.id))
        .limit(limit),
    cells: (r) => [
      r.name,
      r.domain ?? '',
      r.industry ?? '',
      r.size ?? '',
      r.tags.join(';'),
      ...ADDRESS_PARTS.map(([, field]) => r.address?.[field] ?? ''),
    ],
  });
}
