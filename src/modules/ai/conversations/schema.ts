import { sql } from 'drizzle-orm';
import { bigint, check, foreignKey, index, integer, jsonb, numeric, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { tenantTable, timestamps } from '../../../db/tenant-table.ts';
import { contacts } from '../../crm/contacts/schema.ts';
import { widgets } from '../widgets/schema.ts';

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const CONVERSATION_MODES = ['text', 'meeting'] as const;
export const CONVERSATION_STATUSES = ['open', 'closed'] as const;
export const MESSAGE_ROLES = ['user', 'assistant', 'system'] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];

/** A passage an answer drew on. */
export interface Citation {
  documentId: string;
  documentTitle: string;
  position: number;
  snippet: string;
}

/**
 * A conversation session with an agent: typed in the dashboard or the API,
 * started by a visitor through a widget, or the transcript of a meeting. The
 * agent may be another tenant's shared agent, so agent_id carries no foreign
 * key (the sharing policy decides visibility when it is used).
 */
export const conversations = tenantTable(
  'ai_conversations',
  {
    id: uuid('id').notNull().defaultRandom(),
    mode: text('mode', { enum: CONVERSATION_MODES }).notNull().default('text'),
    agentId: uuid('agent_id'),
    widgetId: uuid('widget_id'),
    visitorId: text('visitor_id'),
    /** SHA-256 of the widget visitor's session token: only that browser may continue the conversation. */
    visitorTokenHash: text('visitor_token_hash'),
    contactId: uuid('contact_id'),
    title: text('title'),
    status: text('status', { enum: CONVERSATION_STATUSES }).notNull().default('open'),
    messageCount: integer('message_count').notNull().default(0),
    tokensIn: bigint('tokens_in', { mode: 'number' }).notNull().default(0),
    tokensOut: bigint('tokens_out', { mode: 'number' }).notNull().default(0),
    cost: numeric('cost', { precision: 14, scale: 6, mode: 'number' }).notNull().default(0),
    lastMessageAt: at('last_message_at'),
    closedAt: at('closed_at'),
    ...timestamps,
  },
  {
    key: ['id'],
    extra: (t) => [
      // NO ACTION rather than SET NULL: Citus refuses SET NULL on a key that holds the distribution
      // column. Deleting a widget or purging a contact detaches its conversations first
      // (detachConversations), in the same transaction.
      foreignKey({
        name: 'ai_conversations_widget_fk',
        columns: [t.tenantId, t.widgetId],
        foreignColumns: [widgets.tenantId, widgets.id],
      }),
      foreignKey({
        name: 'ai_conversations_contact_fk',
        columns: [t.tenantId, t.contactId],
        foreignColumns: [contacts.tenantId, contacts.id],
      }),
      index('ai_conversations_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
      index('ai_conversations_widget_idx').on(t.tenantId, t.widgetId),
      index('ai_conversations_agent_idx').on(t.tenantId, t.agentId),
      check('ai_conversations_mode_check', sql.raw(`mode in ('text', 'meeting')`)),
      check('ai_conversations_status_check', sql.raw(`status in ('open', 'closed')`)),
      check('ai_conversations_visitor_check', sql.raw('char_length(visitor_id) <= 100')),
      check('ai_conversations_title_check', sql.raw('char_length(title) <= 300')),
    ],
  },
);

/** One turn of a conversation, with what it cost. */
export const conversationMessages = tenantTable(
  'ai_messages',
  {
    id: uuid('id').notNull().defaultRandom(),
    conversationId: uuid('conversation_id').notNull(),
    role: text('role', { enum: MESSAGE_ROLES }).notNull(),
    content: text('content').notNull(),
    attachments: jsonb('attachments').$type<Array<{ name: string; contentType: string; size: number; url?: string }>>(),
    model: text('model'),
    tokensIn: integer('tokens_in').notNull().default(0),
    tokensOut: integer('tokens_out').notNull().default(0),
    cost: numeric('cost', { precision: 14, scale: 6, mode: 'number' }).notNull().default(0),
    latencyMs: integer('latency_ms'),
    citations: jsonb('citations').$type<Citation[]>(),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  {
    key: ['id'],
    extra: (t) => [
      foreignKey({
        name: 'ai_messages_conversation_fk',
        columns: [t.tenantId, t.conversationId],
        foreignColumns: [conversations.tenantId, conversations.id],
      }).onDelete('cascade'),
      index('ai_messages_conversation_idx').on(t.tenantId, t.conversationId, t.createdAt, t.id),
      check('ai_messages_role_check', sql.raw(`role in ('user', 'assistant', 'system')`)),
      check('ai_messages_content_check', sql.raw('char_length(content) <= 100000')),
    ],
  },
);
