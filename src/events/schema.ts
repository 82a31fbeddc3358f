import { sql } from 'drizzle-orm';
import { index, jsonb, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { tenantTable } from '../db/tenant-table.ts';

/**
 * The transactional outbox: every change to tenant data writes its event here
 * in the same transaction, so an event exists if and only if the change
 * committed. The dispatcher fans events out to webhooks and realtime; old
 * events are pruned after the retention period, tenant by tenant, by the
 * dispatcher.
 */
export const events = tenantTable(
  'events',
  {
    id: uuid('id').notNull().defaultRandom(),
    type: text('type').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    actorUserId: uuid('actor_user_id'),
    actorApiKeyId: uuid('actor_api_key_id'),
    requestId: text('request_id'),
    occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'date' }).notNull().default(sql`now()`),
  },
  {
    key: ['id'],
    extra: (t) => [index('events_tenant_occurred_idx').on(t.tenantId, t.occurredAt)],
  },
);
