import { sql } from 'drizzle-orm';
import { boolean, check, index, jsonb, pgPolicy, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { appRole, tenantTable, timestamps } from '../../../db/tenant-table.ts';

export interface WidgetTheme {
  primaryColor: string;
  textColor: string;
  backgroundColor: string;
  position: 'bottom-right' | 'bottom-left';
}

/**
 * An embeddable chat widget. Its publishable key is public by design (it sits
 * in the page's HTML) and grants only this widget's public chat; the key is
 * found before any tenant is known, through the presented-key policy below,
 * which shows a row only to a transaction that set app.widget_key to it
 * (app.resolve_widget, migration in this module).
 */
export const widgets = tenantTable(
  'ai_widgets',
  {
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    agentId: uuid('agent_id').notNull(),
    greeting: text('greeting'),
    theme: jsonb('theme').$type<WidgetTheme>().notNull(),
    allowedDomains: text('allowed_domains').array().notNull().default(sql`'{}'::text[]`),
    active: boolean('active').notNull().default(true),
    publishableKey: text('publishable_key').notNull(),
    ...timestamps,
  },
  {
    key: ['id'],
    extra: (t) => [
      uniqueIndex('ai_widgets_publishable_key_key').on(t.publishableKey),
      index('ai_widgets_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
      check('ai_widgets_name_check', sql.raw('char_length(name) between 1 and 200')),
      check('ai_widgets_greeting_check', sql.raw('char_length(greeting) <= 1000')),
      check('ai_widgets_domains_check', sql.raw('cardinality(allowed_domains) <= 50')),
      pgPolicy('ai_widgets_presented_select', {
        for: 'select',
        to: appRole,
        using: sql.raw(`publishable_key = nullif(current_setting('app.widget_key', true), '')`),
      }),
    ],
  },
);
