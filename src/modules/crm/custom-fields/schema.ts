import { sql } from 'drizzle-orm';
import { boolean, check, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { tenantTable, timestamps } from '../../../db/tenant-table.ts';

/** The records that carry custom fields. */
export const CUSTOM_FIELD_ENTITIES = ['contacts', 'companies'] as const;
export type CustomFieldEntity = (typeof CUSTOM_FIELD_ENTITIES)[number];

export const CUSTOM_FIELD_TYPES = ['text', 'number', 'date', 'select', 'boolean'] as const;
export type CustomFieldType = (typeof CUSTOM_FIELD_TYPES)[number];

/** A key as it appears in `customFields` and as a `cf.<key>` CSV column. */
export const CUSTOM_FIELD_KEY = /^[a-z][a-z0-9_]{0,39}$/;

const quoted = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');

/**
 * Per-tenant definitions that `custom_fields` values of contacts and
 * companies are validated against. Managed by admins.
 */
export const customFieldDefinitions = tenantTable(
  'crm_custom_field_definitions',
  {
    id: uuid('id').notNull().defaultRandom(),
    entity: text('entity', { enum: CUSTOM_FIELD_ENTITIES }).notNull(),
    key: text('key').notNull(),
    label: text('label').notNull(),
    type: text('type', { enum: CUSTOM_FIELD_TYPES }).notNull(),
    /** The allowed values of a select field; empty for every other type. */
    options: text('options').array().notNull().default(sql`'{}'::text[]`),
    required: boolean('required').notNull().default(false),
    ...timestamps,
  },
  {
    key: ['id'],
    extra: (t) => [
      uniqueIndex('crm_custom_field_definitions_key').on(t.tenantId, t.entity, t.key),
      check('crm_custom_field_definitions_entity_check', sql.raw(`entity in (${quoted(CUSTOM_FIELD_ENTITIES)})`)),
      check('crm_custom_field_definitions_type_check', sql.raw(`type in (${quoted(CUSTOM_FIELD_TYPES)})`)),
      check('crm_custom_field_definitions_key_check', sql.raw(`key ~ '${CUSTOM_FIELD_KEY.source}'`)),
      check('crm_custom_field_definitions_label_check', sql.raw('char_length(label) between 1 and 100')),
      check('crm_custom_field_definitions_options_check', sql.raw(`(type = 'select') = (cardinality(options) > 0)`)),
    ],
  },
);
