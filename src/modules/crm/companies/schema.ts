import { sql } from 'drizzle-orm';
import { type AnyPgColumn, check, index, jsonb, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { tenantTable, timestamps } from '../../../db/tenant-table.ts';

export const COMPANY_SIZES = ['1-10', '11-50', '51-200', '201-500', '501-1000', '1001-5000', '5001-10000', '10001+'] as const;

export interface Address {
  street?: string | undefined;
  city?: string | undefined;
  region?: string | undefined;
  postalCode?: string | undefined;
  country?: string | undefined;
}

/**
 * What full-text search reads: name, domain (whole and split at dots) and
 * industry. 'simple': names and domains are not words of one language, so no
 * stemming or stop words. The GIN index is on this very expression (not a
 * stored column), so queries must use it as is.
 */
export const companySearchDocument = (t: { name: AnyPgColumn; domain: AnyPgColumn; industry: AnyPgColumn }) =>
  sql`to_tsvector('simple', ${t.name} || ' ' || coalesce(${t.domain}, '') || ' ' || translate(coalesce(${t.domain}, ''), '.-', '  ') || ' ' || coalesce(${t.industry}, ''))`;

export const companies = tenantTable(
  'crm_companies',
  {
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    /** Lower-case host name, unique per tenant: the key companies are deduplicated by. */
    domain: text('domain'),
    /** lower(name), stored, for prefix search under RLS (fields.ts startsWith); domains are stored lower-cased. */
    nameKey: text('name_key').notNull().generatedAlwaysAs(sql.raw('lower(name)')),
    industry: text('industry'),
    size: text('size', { enum: COMPANY_SIZES }),
    address: jsonb('address').$type<Address>(),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    customFields: jsonb('custom_fields').$type<Record<string, unknown>>().notNull().default({}),
    ...timestamps,
  },
  {
    key: ['id'],
    extra: (t) => [
      uniqueIndex('crm_companies_domain_key').on(t.tenantId, t.domain),
      index('crm_companies_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
      index('crm_companies_tenant_updated_idx').on(t.tenantId, t.updatedAt, t.id),
      index('crm_companies_tenant_name_idx').on(t.tenantId, t.name, t.id),
      index('crm_companies_name_key_idx').on(t.tenantId, sql`${t.nameKey} text_pattern_ops`),
      index('crm_companies_domain_prefix_idx').on(t.tenantId, sql`${t.domain} text_pattern_ops`),
      index('crm_companies_search_idx').using('gin', companySearchDocument(t)),
      index('crm_companies_tags_idx').using('gin', t.tags),
      check('crm_companies_name_check', sql.raw('char_length(name) between 1 and 200')),
      check(
        'crm_companies_domain_check',
        sql.raw(
          `domain = lower(domain) and domain ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$' and char_length(domain) <= 253`,
        ),
      ),
      check('crm_companies_industry_check', sql.raw('char_length(industry) <= 100')),
      check('crm_companies_size_check', sql.raw(`size in (${COMPANY_SIZES.map((s) => `'${s}'`).join(', ')})`)),
      check('crm_companies_custom_fields_check', sql.raw(`jsonb_typeof(custom_fields) = 'object'`)),
    ],
  },
);
