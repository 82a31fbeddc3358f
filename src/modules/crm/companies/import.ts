import { and, eq, sql } from 'drizzle-orm';
import { emitEvent } from '../../../events/emit.ts';
import { type CsvImporter, type ImportRecord, writeDeduplicated } from '../csv/import.ts';
import { type FieldDefinition, loadDefinitions } from '../custom-fields/validate.ts';
import { companiesWithDomains } from './model.ts';
import { type Address, COMPANY_SIZES, companies } from './schema.ts';

type CompanySize = (typeof COMPANY_SIZES)[number];

/** Columns the import reads; the address is one column per part. The export writes the same. */
export const IMPORT_COLUMNS = [
  'name',
  'domain',
  'industry',
  'size',
  'tags',
  'street',
  'city',
  'region',
  'postal_code',
  'country',
] as const;

/** Address parts: column, field, longest value (as the API's address schema allows). */
export const ADDRESS_PARTS = [
  ['street', 'street', 200],
  ['city', 'city', 100],
  ['region', 'region', 100],
  ['postal_code', 'postalCode', 20],
  ['country', 'country', 100],
] as const satisfies readonly (readonly [string, keyof Address, number])[];

interface CompanyImportRow extends ImportRecord {
  name: string;
  domain: string | null;
  industry: string | null;
  size: CompanySize | null;
  tags: string[];
  /** The filled address parts, or null when there are none. */
  address: Address | null;
}

const isSize = (value: string): value is CompanySize => (COMPANY_SIZES as readonly string[]).includes(value);

/**
 * The companies import (run by csv/import.ts runImport): deduplicated by
 * domain, which is unique per tenant and normalized, so case-insensitive.
 */
export const companyImporter: CsvImporter<CompanyImportRow, { definitions: FieldDefinition[] }> = {
  columns: IMPORT_COLUMNS,
  required: ['name'],
  extras: [],

  load: async (tx, principal) => ({ definitions: await loadDefinitions(tx, principal, 'companies') }),

  validate(row, cells, lookups) {
    const name = cells.required('name', 200);
    const domain = cells.domain('domain');
    const industry = cells.text('industry', 100);
    const sizeText = cells.text('size', 20);
    if (sizeText && !isSize(sizeText)) cells.reject('size', `one of: ${COMPANY_SIZES.join(', ')}`);
    const tags = cells.tags();
    const address: Address = {};
    for (const [column, field, max] of ADDRESS_PARTS) {
      const value = cells.text(column, max);
      if (value !== null) address[field] = value;
    }
    const customFields = cells.customFields(lookups.definitions);
    if (!name) return null;
    return {
      row,
      name,
      domain,
      industry,
      size: sizeText && isSize(sizeText) ? sizeText : null,
      tags,
      address: Object.keys(address).length > 0 ? address : null,
      customFields,
    };
  },

  async write(tx, batch, { principal, actor, importId, options, lookups }) {
    const tenantId = principal.tenantId;
    // Filled cells only: on update an empty cell leaves the stored value alone (the domain is the key itself).
    const filledOf = (r: CompanyImportRow) => ({
      name: r.name,
      ...(r.industry !== null ? { industry: r.industry } : {}),
      ...(r.size !== null ? { size: r.size } : {}),
      ...(r.tags.length > 0 ? { tags: r.tags } : {}),
    });
    const result = await writeDeduplicated(batch, options, lookups.definitions, {
      keyOf: (r) => r.domain,
      stored: (domains) => companiesWithDomains(tx, principal, domains),
      merge(into, later) {
        const address = into.address || later.address ? { ...into.address, ...later.address } : null;
        Object.assign(into, filledOf(later), { address });
      },
      insert: async (rows) => {
        const inserted = await tx
          .insert(companies)
          .values(
            rows.map((r) => ({
              tenantId,
              name: r.name,
              domain: r.domain,
              industry: r.industry,
              size: r.size,
              tags: r.tags,
              address: r.address,
              customFields: r.customFields,
            })),
          )
          .onConflictDoNothing()
          .returning({ id: companies.id });
        return inserted.map((r) => r.id);
      },
      update: async (id, r, customFields) => {
        await tx
          .update(companies)
          .set({
            ...filledOf(r),
            // Part by part, like the other cells: a filled street does not erase a stored city.
            ...(r.address
              ? { address: sql`coalesce(${companies.address}, '{}'::jsonb) || ${JSON.stringify(r.address)}::jsonb` }
              : {}),
            customFields,
            updatedAt: new Date(),
          })
          .where(and(eq(companies.tenantId, tenantId), eq(companies.id, id)));
      },
    });
    if (result.created.length > 0 || result.updated.length > 0) {
      // One event per batch, as for contacts: a large import must not become one webhook delivery per row.
      await emitEvent(tx, actor, 'company.imported', { importId, created: result.created, updated: result.updated });
    }
    return result;
  },
};
