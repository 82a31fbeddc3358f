import { and, arrayContains, eq, inArray, or } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import type { TenantPrincipal, Tx } from '../../../db/tenant.ts';
import { matchesText, startsWith, tagsInput } from '../fields.ts';
import { COMPANY_SIZES, companies, companySearchDocument } from './schema.ts';

export const addressSchema = z.object({
  street: z.string().trim().max(200).optional(),
  city: z.string().trim().max(100).optional(),
  region: z.string().trim().max(100).optional(),
  postalCode: z.string().trim().max(20).optional(),
  country: z.string().trim().max(100).optional(),
});

/** A host name, lower-cased; a scheme, path or leading "www." is dropped so "https://www.Acme.com/x" dedups with "acme.com". */
export const domainInput = z.string().trim().max(253).transform(normalizeDomain).refine(isDomain, 'a domain such as example.com');

/** A normalized host name of at least two labels. */
export function isDomain(value: string): boolean {
  return /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(value);
}

export function normalizeDomain(value: string): string {
  return value
    .trim()
    .toLowerCase()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, '')
    .replace(/[/?#].*$/, '')
    .replace(/^www\./, '')
    .replace(/\.$/, '');
}

export const companyFields = {
  name: z.string().trim().min(1).max(200),
  domain: domainInput.nullable(),
  industry: z.string().trim().max(100).nullable(),
  size: z.enum(COMPANY_SIZES).nullable(),
  address: addressSchema.nullable(),
  tags: tagsInput,
  customFields: z.record(z.string(), z.unknown()),
};

export const companyOutput = z.object({
  id: z.guid(),
  name: z.string(),
  domain: z.string().nullable(),
  industry: z.string().nullable(),
  size: z.enum(COMPANY_SIZES).nullable(),
  address: addressSchema.nullable(),
  tags: z.array(z.string()),
  customFields: z.record(z.string(), z.unknown()),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

export const companyColumns = {
  id: companies.id,
  name: companies.name,
  domain: companies.domain,
  industry: companies.industry,
  size: companies.size,
  address: companies.address,
  tags: companies.tags,
  customFields: companies.customFields,
  createdAt: companies.createdAt,
  updatedAt: companies.updatedAt,
};

export type CompanyRow = Pick<typeof companies.$inferSelect, keyof typeof companyColumns>;

export const toCompanyOutput = (row: CompanyRow) => ({
  ...row,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

export async function findCompany(tx: Tx, principal: TenantPrincipal, id: string, lock = false): Promise<CompanyRow> {
  const query = tx
    .select(companyColumns)
    .from(companies)
    .where(and(eq(companies.tenantId, principal.tenantId), eq(companies.id, id)));
  const [row] = lock ? await query.for('update') : await query;
  if (!row) throw new AppError('NOT_FOUND');
  return row;
}

/** The companies holding any of these (normalized) domains, keyed by domain: what imports deduplicate against. */
export async function companiesWithDomains(
  tx: Tx,
  principal: TenantPrincipal,
  domains: string[],
): Promise<{ id: string; key: string; customFields: Record<string, unknown> }[]> {
  const rows = await tx
    .select({ id: companies.id, domain: companies.domain, customFields: companies.customFields })
    .from(companies)
    .where(and(eq(companies.tenantId, principal.tenantId), inArray(companies.domain, domains)));
  return rows.flatMap((r) => (r.domain ? [{ id: r.id, key: r.domain, customFields: r.customFields }] : []));
}

/** Filters shared by the list and the CSV export. */
export const companyFilters = z.object({
  q: z.string().trim().min(1).max(200).optional(),
  prefix: z.string().trim().min(1).max(100).optional(),
  tag: z.string().trim().min(1).max(50).optional(),
  domain: z.string().trim().min(1).max(253).optional(),
  industry: z.string().trim().min(1).max(100).optional(),
});

export type CompanyFilters = z.infer<typeof companyFilters>;

/** The WHERE of a company search. Every value is a bound parameter; only the columns are ours. */
export function companyWhere(tenantId: string, filters: CompanyFilters) {
  return and(
    eq(companies.tenantId, tenantId),
    filters.q ? matchesText(companySearchDocument(companies), filters.q) : undefined,
    filters.prefix ? or(startsWith(companies.nameKey, filters.prefix), startsWith(companies.domain, filters.prefix)) : undefined,
    filters.tag ? arrayContains(companies.tags, [filters.tag]) : undefined,
    filters.domain ? eq(companies.domain, normalizeDomain(filters.domain)) : undefined,
    filters.industry ? eq(companies.industry, filters.industry) : undefined,
  );
}
