import { sql } from 'drizzle-orm';
import { check, foreignKey, index, integer, jsonb, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { tenantTable, timestamps } from '../../db/tenant-table.ts';
import { contacts } from '../crm/contacts/schema.ts';

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const inList = (column: string, values: readonly string[]) => sql.raw(`${column} in (${values.map((v) => `'${v}'`).join(', ')})`);

export const CHANNELS = ['email', 'webhook', 'sms', 'whatsapp', 'log'] as const;
export type Channel = (typeof CHANNELS)[number];
export const CAMPAIGN_STATUSES = ['draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled', 'failed'] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];
/** pending: queued; sending: durably claimed, the send may have happened; then one of the final states. */
export const RECIPIENT_STATUSES = ['pending', 'sending', 'sent', 'failed', 'skipped'] as const;
export const MESSAGE_STATUSES = ['queued', 'sent', 'delivered', 'failed', 'read'] as const;
export const DIRECTIONS = ['outbound', 'inbound'] as const;

/** A named set of contacts that campaigns target. */
export const contactGroups = tenantTable(
  'campaign_groups',
  {
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    description: text('description'),
    ...timestamps,
  },
  {
    key: ['id'],
    extra: (t) => [
      index('campaign_groups_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
      index('campaign_groups_tenant_name_idx').on(t.tenantId, t.name, t.id),
      check('campaign_groups_name_check', sql.raw('char_length(name) between 1 and 200')),
      check('campaign_groups_description_check', sql.raw('char_length(description) <= 2000')),
    ],
  },
);

/** Membership of a contact in a group; both references carry tenant_id. */
export const groupMembers = tenantTable(
  'campaign_group_members',
  {
    groupId: uuid('group_id').notNull(),
    contactId: uuid('contact_id').notNull(),
    addedAt: at('added_at').notNull().defaultNow(),
  },
  {
    key: ['groupId', 'contactId'],
    extra: (t) => [
      foreignKey({
        name: 'campaign_group_members_group_fk',
        columns: [t.tenantId, t.groupId],
        foreignColumns: [contactGroups.tenantId, contactGroups.id],
      }).onDelete('cascade'),
      foreignKey({
        name: 'campaign_group_members_contact_fk',
        columns: [t.tenantId, t.contactId],
        foreignColumns: [contacts.tenantId, contacts.id],
      }).onDelete('cascade'),
      index('campaign_group_members_contact_idx').on(t.tenantId, t.contactId),
    ],
  },
);

/** A message body with `{{variables}}`, checked against the allowed names when saved. */
export const templates = tenantTable(
  'campaign_templates',
  {
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    channel: text('channel', { enum: CHANNELS }).notNull(),
    subject: text('subject'),
    body: text('body').notNull(),
    ...timestamps,
  },
  {
    key: ['id'],
    extra: (t) => [
      index('campaign_templates_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
      index('campaign_templates_tenant_name_idx').on(t.tenantId, t.name, t.id),
      check('campaign_templates_channel_check', inList('channel', CHANNELS)),
      check('campaign_templates_name_check', sql.raw('char_length(name) between 1 and 200')),
      check('campaign_templates_subject_check', sql.raw('char_length(subject) <= 500')),
      check('campaign_templates_body_check', sql.raw('char_length(body) between 1 and 100000')),
    ],
  },
);

export const campaigns = tenantTable(
  'campaigns',
  {
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    templateId: uuid('template_id').notNull(),
    status: text('status', { enum: CAMPAIGN_STATUSES }).notNull().default('draft'),
    scheduledAt: at('scheduled_at'),
    startedAt: at('started_at'),
    finishedAt: at('finished_at'),
    ...timestamps,
  },
  {
    key: ['id'],
    extra: (t) => [
      foreignKey({
        name: 'campaigns_template_fk',
        columns: [t.tenantId, t.templateId],
        foreignColumns: [templates.tenantId, templates.id],
      }),
      index('campaigns_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
      index('campaigns_tenant_name_idx').on(t.tenantId, t.name, t.id),
      index('campaigns_template_idx').on(t.tenantId, t.templateId),
      check('campaigns_status_check', inList('status', CAMPAIGN_STATUSES)),
      check('campaigns_name_check', sql.raw('char_length(name) between 1 and 200')),
    ],
  },
);

/** The groups a campaign targets. */
export const campaignGroups = tenantTable(
  'campaign_targets',
  {
    campaignId: uuid('campaign_id').notNull(),
    groupId: uuid('group_id').notNull(),
  },
  {
    key: ['campaignId', 'groupId'],
    extra: (t) => [
      foreignKey({
        name: 'campaign_targets_campaign_fk',
        columns: [t.tenantId, t.campaignId],
        foreignColumns: [campaigns.tenantId, campaigns.id],
      }).onDelete('cascade'),
      foreignKey({
        name: 'campaign_targets_group_fk',
        columns: [t.tenantId, t.groupId],
        foreignColumns: [contactGroups.tenantId, contactGroups.id],
      }).onDelete('cascade'),
      index('campaign_targets_group_idx').on(t.tenantId, t.groupId),
    ],
  },
);

/**
 * Who a started campaign goes to, snapshotted at start. (tenant, campaign,
 * contact) is unique: the idempotency key of a recipient's message.
 */
export const recipients = tenantTable(
  'campaign_recipients',
  {
    id: uuid('id').notNull().defaultRandom(),
    campaignId: uuid('campaign_id').notNull(),
    contactId: uuid('contact_id').notNull(),
    address: text('address').notNull(),
    variables: jsonb('variables').$type<Record<string, string | null>>().notNull().default({}),
    status: text('status', { enum: RECIPIENT_STATUSES }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    sendingAt: at('sending_at'),
    sentAt: at('sent_at'),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  {
    key: ['id'],
    extra: (t) => [
      foreignKey({
        name: 'campaign_recipients_campaign_fk',
        columns: [t.tenantId, t.campaignId],
        foreignColumns: [campaigns.tenantId, campaigns.id],
      }).onDelete('cascade'),
      foreignKey({
        name: 'campaign_recipients_contact_fk',
        columns: [t.tenantId, t.contactId],
        foreignColumns: [contacts.tenantId, contacts.id],
      }).onDelete('cascade'),
      uniqueIndex('campaign_recipients_contact_key').on(t.tenantId, t.campaignId, t.contactId),
      index('campaign_recipients_status_idx').on(t.tenantId, t.campaignId, t.status),
      index('campaign_recipients_contact_idx').on(t.tenantId, t.contactId),
      // The per-tenant throughput check counts the tenant's claims of the last second (delivery.ts).
      index('campaign_recipients_sending_idx').on(t.tenantId, t.sendingAt),
      check('campaign_recipients_status_check', inList('status', RECIPIENT_STATUSES)),
    ],
  },
);

/** Message history: every message sent (and, later, received), with its delivery status. */
export const messages = tenantTable(
  'campaign_messages',
  {
    id: uuid('id').notNull().defaultRandom(),
    campaignId: uuid('campaign_id'),
    recipientId: uuid('recipient_id'),
    contactId: uuid('contact_id'),
    direction: text('direction', { enum: DIRECTIONS }).notNull().default('outbound'),
    channel: text('channel', { enum: CHANNELS }).notNull(),
    recipient: text('recipient').notNull(),
    subject: text('subject'),
    content: text('content').notNull(),
    status: text('status', { enum: MESSAGE_STATUSES }).notNull().default('queued'),
    providerMessageId: text('provider_message_id'),
    error: text('error'),
    queuedAt: at('queued_at').notNull().defaultNow(),
    sentAt: at('sent_at'),
    deliveredAt: at('delivered_at'),
    readAt: at('read_at'),
    failedAt: at('failed_at'),
    updatedAt: at('updated_at').notNull().defaultNow(),
  },
  {
    key: ['id'],
    extra: (t) => [
      foreignKey({
        name: 'campaign_messages_campaign_fk',
        columns: [t.tenantId, t.campaignId],
        foreignColumns: [campaigns.tenantId, campaigns.id],
      }).onDelete('cascade'),
      foreignKey({
        name: 'campaign_messages_recipient_fk',
        columns: [t.tenantId, t.recipientId],
        foreignColumns: [recipients.tenantId, recipients.id],
      }).onDelete('cascade'),
      foreignKey({
        name: 'campaign_messages_contact_fk',
        columns: [t.tenantId, t.contactId],
        foreignColumns: [contacts.tenantId, contacts.id],
      }).onDelete('cascade'),
      // One outbound message per recipient of a campaign, however often its job runs.
      uniqueIndex('campaign_messages_recipient_key').on(t.tenantId, t.recipientId),
      index('campaign_messages_tenant_queued_idx').on(t.tenantId, t.queuedAt, t.id),
      index('campaign_messages_campaign_idx').on(t.tenantId, t.campaignId, t.status),
      index('campaign_messages_contact_idx').on(t.tenantId, t.contactId),
      check('campaign_messages_direction_check', inList('direction', DIRECTIONS)),
      check('campaign_messages_channel_check', inList('channel', CHANNELS)),
      check('campaign_messages_status_check', inList('status', MESSAGE_STATUSES)),
    ],
  },
);

/** A contact who must not receive messages on a channel. */
export const optOuts = tenantTable(
  'campaign_opt_outs',
  {
    id: uuid('id').notNull().defaultRandom(),
    contactId: uuid('contact_id').notNull(),
    channel: text('channel', { enum: CHANNELS }).notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  {
    key: ['id'],
    extra: (t) => [
      foreignKey({
        name: 'campaign_opt_outs_contact_fk',
        columns: [t.tenantId, t.contactId],
        foreignColumns: [contacts.tenantId, contacts.id],
      }).onDelete('cascade'),
      uniqueIndex('campaign_opt_outs_contact_key').on(t.tenantId, t.contactId, t.channel),
      index('campaign_opt_outs_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
      check('campaign_opt_outs_channel_check', inList('channel', CHANNELS)),
    ],
  },
);

/**
 * The tenant's gateway for the `webhook`, `sms` and `whatsapp` channels: one
 * per tenant. Messages are POSTed to `url`, signed (Standard Webhooks) with
 * `secret`, which is sealed with the server's SecretBox like webhook secrets
 * and shown to the admin only when generated. The same secret verifies the
 * gateway's status callbacks.
 */
export const gateways = tenantTable(
  'campaign_gateways',
  {
    id: uuid('id').notNull().defaultRandom(),
    url: text('url').notNull(),
    secret: text('secret').notNull(),
    ...timestamps,
  },
  {
    key: ['id'],
    extra: (t) => [
      uniqueIndex('campaign_gateways_tenant_key').on(t.tenantId),
      check('campaign_gateways_url_check', sql.raw('char_length(url) between 1 and 2000')),
    ],
  },
);
