import { sql } from 'drizzle-orm';
import { boolean, check, foreignKey, index, integer, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { tenantTable, timestamps } from '../../db/tenant-table.ts';

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/**
 * Where a tenant wants its events delivered. Secrets are stored encrypted
 * (crypto/secret-box.ts) because they must be used again to sign; during a
 * rotation's overlap window the previous secret signs too.
 */
export const webhookEndpoints = tenantTable(
  'webhook_endpoints',
  {
    id: uuid('id').notNull().defaultRandom(),
    url: text('url').notNull(),
    description: text('description').notNull().default(''),
    /** Event type filters: exact types, `resource.*` wildcards, or `*`. */
    eventTypes: text('event_types').array().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    secretCiphertext: text('secret_ciphertext').notNull(),
    previousSecretCiphertext: text('previous_secret_ciphertext'),
    previousSecretExpiresAt: at('previous_secret_expires_at'),
    /** Start of the current run of failed deliveries; cleared by any success. */
    failingSince: at('failing_since'),
    disabledReason: text('disabled_reason'),
    createdBy: uuid('created_by'),
    ...timestamps,
  },
  { key: ['id'], extra: (t) => [index('webhook_endpoints_tenant_enabled_idx').on(t.tenantId, t.enabled)] },
);

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed', 'skipped'] as const;

/**
 * One event for one endpoint. Its id is the `webhook-id` header, the same on
 * every retry and replay; the body is fixed when the delivery is created so
 * every attempt sends exactly the same bytes.
 */
export const webhookDeliveries = tenantTable(
  'webhook_deliveries',
  {
    id: uuid('id').notNull().defaultRandom(),
    endpointId: uuid('endpoint_id').notNull(),
    eventId: uuid('event_id').notNull(),
    eventType: text('event_type').notNull(),
    payload: text('payload').notNull(),
    status: text('status', { enum: DELIVERY_STATUSES }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: at('next_attempt_at'),
    lastStatusCode: integer('last_status_code'),
    createdAt: at('created_at').notNull().default(sql`now()`),
    completedAt: at('completed_at'),
  },
  {
    key: ['id'],
    extra: (t) => [
      foreignKey({
        name: 'webhook_deliveries_endpoint_fk',
        columns: [t.tenantId, t.endpointId],
        foreignColumns: [webhookEndpoints.tenantId, webhookEndpoints.id],
      }).onDelete('cascade'),
      uniqueIndex('webhook_deliveries_event_endpoint_key').on(t.tenantId, t.eventId, t.endpointId),
      index('webhook_deliveries_endpoint_created_idx').on(t.tenantId, t.endpointId, t.createdAt),
      check('webhook_deliveries_status_check', sql.raw(`status in ('pending', 'succeeded', 'failed', 'skipped')`)),
    ],
  },
);

/** Every attempt at a delivery: what the receiver answered, how long it took, or why it failed. */
export const webhookAttempts = tenantTable(
  'webhook_attempts',
  {
    id: uuid('id').notNull().defaultRandom(),
    deliveryId: uuid('delivery_id').notNull(),
    attempt: integer('attempt').notNull(),
    statusCode: integer('status_code'),
    latencyMs: integer('latency_ms').notNull(),
    responseExcerpt: text('response_excerpt'),
    error: text('error'),
    createdAt: at('created_at').notNull().default(sql`now()`),
  },
  {
    key: ['id'],
    extra: (t) => [
      foreignKey({
        name: 'webhook_attempts_delivery_fk',
        columns: [t.tenantId, t.deliveryId],
        foreignColumns: [webhookDeliveries.tenantId, webhookDeliveries.id],
      }).onDelete('cascade'),
      index('webhook_attempts_delivery_idx').on(t.tenantId, t.deliveryId, t.createdAt),
    ],
  },
);
