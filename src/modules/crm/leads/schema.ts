import { sql } from 'drizzle-orm';
import { check, date, foreignKey, index, numeric, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { users } from '../../../auth/schema.ts';
import { tenantTable, timestamps } from '../../../db/tenant-table.ts';
import { companies } from '../companies/schema.ts';
import { contacts } from '../contacts/schema.ts';
import { pipelines, stages } from '../pipelines/schema.ts';

export const LEAD_STATUSES = ['open', 'won', 'lost'] as const;
export type LeadStatus = (typeof LEAD_STATUSES)[number];

/** A deal moving through a pipeline. Its status follows its stage: won and lost stages close it. */
export const leads = tenantTable(
  'crm_leads',
  {
    id: uuid('id').notNull().defaultRandom(),
    title: text('title').notNull(),
    contactId: uuid('contact_id'),
    companyId: uuid('company_id'),
    pipelineId: uuid('pipeline_id').notNull(),
    stageId: uuid('stage_id').notNull(),
    /** Exact decimal, exchanged as a string so no precision is lost in JSON. */
    value: numeric('value', { precision: 14, scale: 2 }),
    currency: text('currency'),
    status: text('status', { enum: LEAD_STATUSES }).notNull().default('open'),
    expectedCloseDate: date('expected_close_date', { mode: 'string' }),
    ownerUserId: uuid('owner_user_id').references(() => users.id, { onDelete: 'set null' }),
    closedAt: timestamp('closed_at', { withTimezone: true, mode: 'date' }),
    ...timestamps,
  },
  {
    key: ['id'],
    extra: (t) => [
      foreignKey({
        name: 'crm_leads_contact_fk',
        columns: [t.tenantId, t.contactId],
        foreignColumns: [contacts.tenantId, contacts.id],
      }),
      foreignKey({
        name: 'crm_leads_company_fk',
        columns: [t.tenantId, t.companyId],
        foreignColumns: [companies.tenantId, companies.id],
      }),
      foreignKey({
        name: 'crm_leads_pipeline_fk',
        columns: [t.tenantId, t.pipelineId],
        foreignColumns: [pipelines.tenantId, pipelines.id],
      }),
      // The stage must belong to the lead's pipeline.
      foreignKey({
        name: 'crm_leads_stage_fk',
        columns: [t.tenantId, t.pipelineId, t.stageId],
        foreignColumns: [stages.tenantId, stages.pipelineId, stages.id],
      }),
      index('crm_leads_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
      index('crm_leads_tenant_updated_idx').on(t.tenantId, t.updatedAt, t.id),
      index('crm_leads_tenant_title_idx').on(t.tenantId, t.title, t.id),
      index('crm_leads_stage_idx').on(t.tenantId, t.pipelineId, t.stageId),
      index('crm_leads_contact_idx').on(t.tenantId, t.contactId),
      index('crm_leads_company_idx').on(t.tenantId, t.companyId),
      index('crm_leads_owner_idx').on(t.tenantId, t.ownerUserId),
      check('crm_leads_title_check', sql.raw('char_length(title) between 1 and 200')),
      check('crm_leads_status_check', sql.raw(`status in (${LEAD_STATUSES.map((s) => `'${s}'`).join(', ')})`)),
      check('crm_leads_currency_check', sql.raw(`currency ~ '^[A-Z]{3}$'`)),
      check('crm_leads_value_check', sql.raw('value is null or (value >= 0 and currency is not null)')),
    ],
  },
);

/**
 * Every stage a lead entered, including the first. Stage names are copied so
 * the history reads the same after a stage is renamed or removed.
 */
export const leadStageHistory = tenantTable(
  'crm_lead_stage_history',
  {
    id: uuid('id').notNull().defaultRandom(),
    leadId: uuid('lead_id').notNull(),
    pipelineId: uuid('pipeline_id').notNull(),
    fromStageId: uuid('from_stage_id'),
    fromStageName: text('from_stage_name'),
    toStageId: uuid('to_stage_id').notNull(),
    toStageName: text('to_stage_name').notNull(),
    actorUserId: uuid('actor_user_id'),
    actorApiKeyId: uuid('actor_api_key_id'),
    movedAt: timestamp('moved_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  {
    key: ['id'],
    extra: (t) => [
      foreignKey({
        name: 'crm_lead_stage_history_lead_fk',
        columns: [t.tenantId, t.leadId],
        foreignColumns: [leads.tenantId, leads.id],
      }).onDelete('cascade'),
      index('crm_lead_stage_history_lead_idx').on(t.tenantId, t.leadId, t.movedAt, t.id),
    ],
  },
);
