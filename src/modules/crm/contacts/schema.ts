import { sql } from 'drizzle-orm';
import { type AnyPgColumn, check, foreignKey, index, jsonb, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../../../auth/schema.ts';
import { tenantTable, timestamps } from '../../../db/tenant-table.ts';
import { companies } from '../companies/schema.ts';

/**
 * What full-text search reads: name, email and title. The address goes in
 * twice, whole (one email token) and split at @ and dots, so "example" finds
 * "ann@example.com". The GIN index is on this very expression (a stored
 * generated column would refuse copies of rows that name it), so queries
 * must use it as is.
 */
export const contactSearchDocument = (t: { name: AnyPgColumn; email: AnyPgColumn; title: AnyPgColumn }) =>
  sql`to_tsvector('simple', ${t.name} || ' ' || coalesce(${t.email}, '') || ' ' || translate(coalesce(${t.email}, ''), '@.+_-', '     ') || ' ' || coalesce(${t.title}, ''))`;

/**
 * People a tenant deals with. `email` is the primary address, unique per
 * tenant case-insensitively among contacts that are not deleted (the
 * deduplication key); `other_emails` are further addresses. Deleting is soft
 * (`deleted_at`); purging removes the row.
 */
export const contacts = tenantTable(
  'crm_contacts',
  {
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    email: text('email'),
    /** lower(name) and lower(email), stored, for prefix search and email lookups under RLS (fields.ts startsWith). */
    nameKey: text('name_key').notNull().generatedAlwaysAs(sql.raw('lower(name)')),
    emailKey: text('email_key').generatedAlwaysAs(sql.raw('lower(email)')),
    otherEmails: text('other_emails').array().notNull().default(sql`'{}'::text[]`),
    phones: text('phones').array().notNull().default(sql`'{}'::text[]`),
    companyId: uuid('company_id'),
    title: text('title'),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    customFields: jsonb('custom_fields').$type<Record<string, unknown>>().notNull().default({}),
    /** A member of the tenant when it was set; kept when they leave, cleared if the user is deleted. */
    ownerUserId: uuid('owner_user_id').references(() => users.id, { onDelete: 'set null' }),
    source: text('source'),
    ...timestamps,
    deletedAt: timestamp('deleted_at', { withTimezone: true, mode: 'date' }),
  },
  {
    key: ['id'],
    extra: (t) => [
      foreignKey({
        name: 'crm_contacts_company_fk',
        columns: [t.tenantId, t.companyId],
        foreignColumns: [companies.tenantId, companies.id],
      }),
      uniqueIndex('crm_contacts_email_key').on(t.tenantId, sql`lower(${t.email})`).where(sql`deleted_at is null`),
      index('crm_contacts_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
      index('crm_contacts_tenant_updated_idx').on(t.tenantId, t.updatedAt, t.id),
      index('crm_contacts_tenant_name_idx').on(t.tenantId, t.name, t.id),
      index('crm_contacts_name_key_idx').on(t.tenantId, sql`${t.nameKey} text_pattern_ops`),
      index('crm_contacts_email_key_idx').on(t.tenantId, sql`${t.emailKey} text_pattern_ops`),
      index('crm_contacts_company_idx').on(t.tenantId, t.companyId),
      index('crm_contacts_owner_idx').on(t.tenantId, t.ownerUserId),
      index('crm_contacts_search_idx').using('gin', contactSearchDocument(t)),
      index('crm_contacts_tags_idx').using('gin', t.tags),
      check('crm_contacts_name_check', sql.raw('char_length(name) between 1 and 200')),
      check('crm_contacts_email_check', sql.raw(`char_length(email) <= 320 and email ~ '^[^@[:space:]]+@[^@[:space:]]+$'`)),
      check(
        'crm_contacts_lists_check',
        sql.raw('cardinality(other_emails) <= 20 and cardinality(phones) <= 20 and cardinality(tags) <= 50'),
      ),
      check('crm_contacts_title_check', sql.raw('char_length(title) <= 200')),
      check('crm_contacts_source_check', sql.raw('char_length(source) <= 100')),
      check('crm_contacts_custom_fields_check', sql.raw(`jsonb_typeof(custom_fields) = 'object'`)),
    ],
  },
);
