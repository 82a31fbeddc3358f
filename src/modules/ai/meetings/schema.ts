import { sql } from 'drizzle-orm';
import { check, index, jsonb, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { tenantTable, timestamps } from '../../../db/tenant-table.ts';

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** Someone invited to a meeting: a member (userId), a CRM contact (contactId), or just a name and email. */
export interface MeetingParticipant {
  userId?: string;
  contactId?: string;
  name: string;
  email?: string;
}

export const MEETING_CREATOR_KINDS = ['user', 'api_key'] as const;

/**
 * A meeting room on the LiveKit server. Each room has a meeting-mode
 * conversation (app.ai_conversations) created with it, for its transcript and
 * costs; the foreign key to it is declared in the custom migration
 * `ai_meetings_conversation_fk` as `ON DELETE SET NULL (conversation_id)`,
 * which the schema builder cannot express. `attendees` are the identities
 * that were given join tokens, for the participant-minutes recorded at the end.
 */
export const meetings = tenantTable(
  'ai_meetings',
  {
    id: uuid('id').notNull().defaultRandom(),
    title: text('title').notNull(),
    description: text('description'),
    scheduledAt: at('scheduled_at'),
    startedAt: at('started_at'),
    endedAt: at('ended_at'),
    participants: jsonb('participants').$type<MeetingParticipant[]>().notNull().default([]),
    attendees: text('attendees').array().notNull().default(sql`'{}'::text[]`),
    createdBy: uuid('created_by').notNull(),
    createdByKind: text('created_by_kind', { enum: MEETING_CREATOR_KINDS }).notNull(),
    livekitRoom: text('livekit_room').notNull(),
    conversationId: uuid('conversation_id'),
    ...timestamps,
  },
  {
    key: ['id'],
    extra: (t) => [
      uniqueIndex('ai_meetings_room_key').on(t.tenantId, t.livekitRoom),
      index('ai_meetings_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
      index('ai_meetings_tenant_scheduled_idx').on(t.tenantId, t.scheduledAt, t.id),
      index('ai_meetings_conversation_idx').on(t.tenantId, t.conversationId),
      check('ai_meetings_title_check', sql.raw('char_length(title) between 1 and 300')),
      check('ai_meetings_description_check', sql.raw('char_length(description) <= 5000')),
      check('ai_meetings_creator_kind_check', sql.raw(`created_by_kind in ('user', 'api_key')`)),
      check('ai_meetings_times_check', sql.raw('ended_at is null or (started_at is not null and ended_at >= started_at)')),
      check(
        'ai_meetings_participants_check',
        sql.raw(`jsonb_typeof(participants) = 'array' and jsonb_array_length(participants) <= 100`),
      ),
      check('ai_meetings_attendees_check', sql.raw('cardinality(attendees) <= 1000')),
    ],
  },
);
