import { sql } from 'drizzle-orm';
import { boolean, check, foreignKey, index, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { users } from '../../../auth/schema.ts';
import { tenantTable, timestamps } from '../../../db/tenant-table.ts';
import { companies } from '../companies/schema.ts';
import { contacts } from '../contacts/schema.ts';
import { leads } from '../leads/schema.ts';

export const ACTIVITY_TYPES = ['note', 'call', 'email', 'meeting', 'task'] as const;
export type ActivityType = (typeof ACTIVITY_TYPES)[number];

/** An interaction or a to-do, linked to at least one contact, company or lead. */
export const activities = tenantTable(
  'crm_activities',
  {
    id: uuid('id').notNull().defaultRandom(),
    type: text('type', { enum: ACTIVITY_TYPES }).notNull(),
    subject: text('subject').notNull(),
    body: text('body').notNull().default(''),
    dueAt: timestamp('due_at', { withTimezone: true, mode: 'date' }),
    done: boolean('done').notNull().default(false),
    /** The member who wrote it, or null when an API key did (then author_api_key_id). */
    authorUserId: uuid('author_user_id').references(() => users.id, { onDelete: 'set null' }),
    authorApiKeyId: uuid('author_api_key_id'),
    contactId: uuid('contact_id'),
    companyId: uuid('company_id'),
    leadId: uuid('lead_id'),
    ...timestamps,
  },
  {
    key: ['id'],
    extra: (t) => [
      foreignKey({
        name: 'crm_activities_contact_fk',
        columns: [t.tenantId, t.contactId],
        foreignColumns: [contacts.tenantId, contacts.id],
      }),
      foreignKey({
        name: 'crm_activities_company_fk',
        columns: [t.tenantId, t.companyId],
        foreignColumns: [companies.tenantId, companies.id],
      }),
      foreignKey({
        name: 'crm_activities_lead_fk',
        columns: [t.tenantId, t.leadId],
        foreignColumns: [leads.tenantId, leads.id],
      }),
      index('crm_activities_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
      index('crm_activities_contact_idx').on(t.tenantId, t.contactId, t.createdAt),
      index('crm_activities_company_idx').on(t.tenantId, t.companyId, t.createdAt),
      index('crm_activities_lead_idx').on(t.tenantId, t.leadId, t.createdAt),
      check('crm_activities_type_check', sql.raw(`type in (${ACTIVITY_TYPES.map((s) => `'${s}'`).join(', ')})`)),
      check('crm_activities_subject_check', sql.raw('char_length(subject) between 1 and 300')),
      check('crm_activities_body_check', sql.raw('char_length(body) <= 50000')),
      check('crm_activities_link_check', sql.raw('num_nonnulls(contact_id, company_id, lead_id) > 0')),
    ],
  },
);
