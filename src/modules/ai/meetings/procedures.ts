import { type AnyColumn, and, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import { iso } from '../../../api/output.ts';
import { keyset, listInput, page, pageOf } from '../../../api/pagination.ts';
import { tenantProcedure } from '../../../api/procedures.ts';
import { actorOf, recordAudit } from '../../../audit/record.ts';
import { memberships } from '../../../db/core-schema.ts';
import { type TenantPrincipal, type Tx, withTenant } from '../../../db/tenant.ts';
import { emitEvent } from '../../../events/emit.ts';
import { contacts } from '../../crm/contacts/schema.ts';
import { conversations } from '../conversations/schema.ts';
import { recordCost } from '../costs/record.ts';
import { JOIN_TOKEN_TTL_SECONDS, joinToken, liveKitSettings } from './livekit.ts';
import { type MeetingParticipant, meetings } from './schema.ts';

const tags = ['ai'];
const READ = 'ai:read' as const;
const WRITE = 'ai:write' as const;

export const MEETING_STATUSES = ['scheduled', 'live', 'ended'] as const;
type MeetingStatus = (typeof MEETING_STATUSES)[number];

const participantInput = z
  .object({
    userId: z.guid().optional(),
    contactId: z.guid().optional(),
    name: z.string().trim().min(1).max(200),
    email: z.email().max(320).optional(),
  })
  .strict();

const participantsInput = z.array(participantInput).max(100);

const meetingOutput = z.object({
  id: z.guid(),
  title: z.string(),
  description: z.string().nullable(),
  status: z.enum(MEETING_STATUSES),
  scheduledAt: z.iso.datetime().nullable(),
  startedAt: z.iso.datetime().nullable(),
  endedAt: z.iso.datetime().nullable(),
  participants: z.array(participantInput),
  createdBy: z.object({ kind: z.enum(['user', 'api_key']), id: z.guid() }),
  livekitRoom: z.string(),
  conversationId: z.guid().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const meetingColumns = {
  id: meetings.id,
  title: meetings.title,
  description: meetings.description,
  scheduledAt: meetings.scheduledAt,
  startedAt: meetings.startedAt,
  endedAt: meetings.endedAt,
  participants: meetings.participants,
  attendees: meetings.attendees,
  createdBy: meetings.createdBy,
  createdByKind: meetings.createdByKind,
  livekitRoom: meetings.livekitRoom,
  conversationId: meetings.conversationId,
  createdAt: meetings.createdAt,
  updatedAt: meetings.updatedAt,
};

type MeetingRow = {
  id: string;
  title: string;
  description: string | null;
  scheduledAt: Date | null;
  startedAt: Date | null;
  endedAt: Date | null;
  participants: MeetingParticipant[];
  attendees: string[];
  createdBy: string;
  createdByKind: 'user' | 'api_key';
  livekitRoom: string;
  conversationId: string | null;
  createdAt: Date;
  updatedAt: Date;
};

const statusOf = (row: { startedAt: Date | null; endedAt: Date | null }): MeetingStatus =>
  row.endedAt ? 'ended' : row.startedAt ? 'live' : 'scheduled';

/** The meeting `id` of the tenant: every statement names the tenant too. */
const byId = (tenantId: string, id: string) => and(eq(meetings.tenantId, tenantId), eq(meetings.id, id));

function toMeetingOutput(row: MeetingRow) {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    status: statusOf(row),
    scheduledAt: iso(row.scheduledAt),
    startedAt: iso(row.startedAt),
    endedAt: iso(row.endedAt),
    participants: row.participants,
    createdBy: { kind: row.createdByKind, id: row.createdBy },
    livekitRoom: row.livekitRoom,
    conversationId: row.conversationId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

async function findMeeting(tx: Tx, tenantId: string, id: string, lock = false): Promise<MeetingRow> {
  const query = tx.select(meetingColumns).from(meetings).where(byId(tenantId, id));
  const [row] = lock ? await query.for('update') : await query;
  if (!row) throw new AppError('NOT_FOUND');
  return row as MeetingRow;
}

/** Participants must name the tenant's own members and contacts (422 otherwise; another tenant's ids look missing). */
async function checkParticipants(tx: Tx, tenantId: string, participants: MeetingParticipant[]): Promise<void> {
  const userIds = [...new Set(participants.flatMap((p) => (p.userId ? [p.userId] : [])))];
  const contactIds = [...new Set(participants.flatMap((p) => (p.contactId ? [p.contactId] : [])))];
  if (userIds.length > 0) {
    const found = await tx
      .select({ id: memberships.userId })
      .from(memberships)
      .where(and(eq(memberships.tenantId, tenantId), inArray(memberships.userId, userIds)));
    if (found.length !== userIds.length) {
      throw new AppError('UNPROCESSABLE', 'A participant names a user who is not a member of this tenant.');
    }
  }
  if (contactIds.length > 0) {
    const found = await tx
      .select({ id: contacts.id })
      .from(contacts)
      .where(and(eq(contacts.tenantId, tenantId), inArray(contacts.id, contactIds)));
    if (found.length !== contactIds.length)
      throw new AppError('UNPROCESSABLE', 'A participant names a contact that does not exist.');
  }
}

const creatorOf = (principal: TenantPrincipal) =>
  principal.kind === 'member'
    ? { createdBy: principal.userId, createdByKind: 'user' as const }
    : { createdBy: principal.apiKeyId, createdByKind: 'api_key' as const };

/** The LiveKit identity of the caller: stable per person or key, and never another tenant's. */
const identityOf = (principal: TenantPrincipal) =>
  principal.kind === 'member' ? `user:${principal.userId}` : `api_key:${principal.apiKeyId}`;

const idInput = z.object({ id: z.guid() });
const scheduledAtInput = z.iso.datetime({ offset: true }).nullable().optional();

/** Participant-minutes of a finished meeting: attendees (or invited participants) times whole minutes, at least one. */
export function participantMinutes(row: {
  startedAt: Date;
  endedAt: Date;
  attendees: string[];
  participants: unknown[];
}): number {
  const minutes = Math.max(1, Math.ceil((row.endedAt.getTime() - row.startedAt.getTime()) / 60_000));
  const people = Math.max(1, row.attendees.length || row.participants.length);
  return minutes * people;
}

export const meetingProcedures = {
  list: tenantProcedure
    .meta({ summary: 'Meetings, newest first by default', tags, scope: READ, rest: { method: 'GET', path: '/ai/meetings' } })
    .input(listInput(['createdAt', 'scheduledAt'], '-createdAt').extend({ status: z.enum(MEETING_STATUSES).optional() }))
    .output(pageOf(meetingOutput))
    .query(async ({ ctx, input }) => {
      const { principal } = ctx;
      const { where, orderBy, limit } = keyset(
        input,
        // Unscheduled meetings sort by their creation time; keyset needs a column type, the expression behaves as one.
        {
          createdAt: meetings.createdAt,
          scheduledAt: sql`coalesce(${meetings.scheduledAt}, ${meetings.createdAt})` as unknown as AnyColumn,
        },
        meetings.id,
      );
      const statusWhere =
        input.status === 'ended'
          ? sql`${meetings.endedAt} is not null`
          : input.status === 'live'
            ? sql`${meetings.startedAt} is not null and ${meetings.endedAt} is null`
            : input.status === 'scheduled'
              ? sql`${meetings.startedAt} is null`
              : undefined;
      const rows = await withTenant(principal, (tx) =>
        tx
          .select(meetingColumns)
          .from(meetings)
          .where(and(eq(meetings.tenantId, principal.tenantId), statusWhere, where))
          .orderBy(...orderBy)
          .limit(limit),
      );
      const result = page(rows as MeetingRow[], input, (row, field) => [
        field === 'scheduledAt' ? (row.scheduledAt ?? row.createdAt) : row.createdAt,
        row.id,
      ]);
      return { items: result.items.map(toMeetingOutput), nextCursor: result.nextCursor };
    }),

  get: tenantProcedure
    .meta({ summary: 'One meeting', tags, scope: READ, rest: { method: 'GET', path: '/ai/meetings/{id}' } })
    .input(idInput)
    .output(meetingOutput)
    .query(async ({ ctx, input }) =>
      toMeetingOutput(await withTenant(ctx.principal, (tx) => findMeeting(tx, ctx.principal.tenantId, input.id))),
    ),

  create: tenantProcedure
    .meta({
      summary: 'Create a meeting room, with its meeting-mode conversation',
      tags,
      scope: WRITE,
      rest: { method: 'POST', path: '/ai/meetings', status: 201 },
    })
    .input(
      z.object({
        title: z.string().trim().min(1).max(300),
        description: z.string().max(5000).nullable().optional(),
        scheduledAt: scheduledAtInput,
        participants: participantsInput.default([]),
      }),
    )
    .output(meetingOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const row = await withTenant(principal, async (tx) => {
        await checkParticipants(tx, principal.tenantId, input.participants);
        const [conversation] = await tx
          .insert(conversations)
          .values({ tenantId: principal.tenantId, mode: 'meeting', title: input.title })
          .returning({ id: conversations.id });
        if (!conversation) throw new Error('conversation not created');
        const id = crypto.randomUUID();
        await tx.insert(meetings).values({
          tenantId: principal.tenantId,
          id,
          title: input.title,
          description: input.description ?? null,
          scheduledAt: input.scheduledAt ? new Date(input.scheduledAt) : null,
          participants: input.participants,
          ...creatorOf(principal),
          // Room names are global on the LiveKit server: the random meeting id makes them unique and unguessable.
          livekitRoom: `palisade-${id}`,
          conversationId: conversation.id,
        });
        await emitEvent(tx, actorOf(principal, ctx), 'ai.meeting.created', {
          id,
          title: input.title,
          conversationId: conversation.id,
        });
        return findMeeting(tx, principal.tenantId, id);
      });
      return toMeetingOutput(row);
    }),

  update: tenantProcedure
    .meta({
      summary: 'Change a meeting that has not ended (409 INVALID_TRANSITION once ended)',
      tags,
      scope: WRITE,
      rest: { method: 'PATCH', path: '/ai/meetings/{id}' },
    })
    .input(
      idInput.extend({
        title: z.string().trim().min(1).max(300).optional(),
        description: z.string().max(5000).nullable().optional(),
        scheduledAt: scheduledAtInput,
        participants: participantsInput.optional(),
      }),
    )
    .output(meetingOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const row = await withTenant(principal, async (tx) => {
        const meeting = await findMeeting(tx, principal.tenantId, input.id, true);
        if (meeting.endedAt) throw new AppError('INVALID_TRANSITION', 'This meeting has ended.', { from: 'ended' });
        if (input.participants) await checkParticipants(tx, principal.tenantId, input.participants);
        await tx
          .update(meetings)
          .set({
            ...(input.title === undefined ? {} : { title: input.title }),
            ...(input.description === undefined ? {} : { description: input.description }),
            ...(input.scheduledAt === undefined ? {} : { scheduledAt: input.scheduledAt ? new Date(input.scheduledAt) : null }),
            ...(input.participants === undefined ? {} : { participants: input.participants }),
            updatedAt: sql`now()`,
          })
          .where(byId(principal.tenantId, input.id));
        await emitEvent(tx, actorOf(principal, ctx), 'ai.meeting.updated', { id: input.id });
        return findMeeting(tx, principal.tenantId, input.id);
      });
      return toMeetingOutput(row);
    }),

  delete: tenantProcedure
    .meta({
      summary: 'Delete a meeting that is not live (its conversation and cost events stay)',
      tags,
      scope: WRITE,
      rest: { method: 'DELETE', path: '/ai/meetings/{id}' },
    })
    .input(idInput)
    .output(meetingOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const row = await withTenant(principal, async (tx) => {
        const meeting = await findMeeting(tx, principal.tenantId, input.id, true);
        if (statusOf(meeting) === 'live') {
          throw new AppError('INVALID_TRANSITION', 'End the meeting before deleting it.', { from: 'live' });
        }
        await tx.delete(meetings).where(byId(principal.tenantId, input.id));
        const who = actorOf(principal, ctx);
        await recordAudit(tx, who, {
          action: 'ai.meeting.deleted',
          targetType: 'ai_meeting',
          targetId: input.id,
          before: { title: meeting.title, status: statusOf(meeting), conversationId: meeting.conversationId },
        });
        await emitEvent(tx, who, 'ai.meeting.deleted', { id: input.id });
        return meeting;
      });
      return toMeetingOutput(row);
    }),

  start: tenantProcedure
    .meta({
      summary: 'Start a meeting (409 INVALID_TRANSITION when it has started already)',
      tags,
      scope: WRITE,
      rest: { method: 'POST', path: '/ai/meetings/{id}/start' },
    })
    .input(idInput)
    .output(meetingOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const row = await withTenant(principal, async (tx) => {
        const meeting = await findMeeting(tx, principal.tenantId, input.id, true);
        if (meeting.startedAt) throw new AppError('INVALID_TRANSITION', undefined, { from: statusOf(meeting) });
        await tx.update(meetings).set({ startedAt: sql`now()`, updatedAt: sql`now()` }).where(byId(principal.tenantId, input.id));
        await emitEvent(tx, actorOf(principal, ctx), 'ai.meeting.started', { id: input.id, room: meeting.livekitRoom });
        return findMeeting(tx, principal.tenantId, input.id);
      });
      return toMeetingOutput(row);
    }),

  end: tenantProcedure
    .meta({
      summary: "End a live meeting: closes its conversation and records the meeting's LiveKit participant-minutes as a cost",
      tags,
      scope: WRITE,
      rest: { method: 'POST', path: '/ai/meetings/{id}/end' },
    })
    .input(
      idInput.extend({
        /** Measured participant-minutes (for example from LiveKit's room webhooks); estimated from attendees and duration when absent. */
        participantMinutes: z.number().min(0).max(10_000_000).optional(),
      }),
    )
    .output(meetingOutput.extend({ cost: z.object({ id: z.guid(), participantMinutes: z.number(), amount: z.number() }) }))
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      return withTenant(principal, async (tx) => {
        const meeting = await findMeeting(tx, principal.tenantId, input.id, true);
        if (!meeting.startedAt || meeting.endedAt)
          throw new AppError('INVALID_TRANSITION', undefined, { from: statusOf(meeting) });
        const [ended] = await tx
          .update(meetings)
          .set({ endedAt: sql`greatest(now(), ${meetings.startedAt})`, updatedAt: sql`now()` })
          .where(byId(principal.tenantId, input.id))
          .returning({ endedAt: meetings.endedAt });
        const endedAt = ended?.endedAt ?? new Date();
        if (meeting.conversationId) {
          await tx
            .update(conversations)
            .set({ status: 'closed', closedAt: sql`now()`, updatedAt: sql`now()` })
            .where(and(eq(conversations.tenantId, principal.tenantId), eq(conversations.id, meeting.conversationId)));
        }
        const units = input.participantMinutes ?? participantMinutes({ ...meeting, startedAt: meeting.startedAt, endedAt });
        const cost = await recordCost(tx, principal.tenantId, {
          service: 'livekit',
          units,
          unit: 'participant_minutes',
          sessionId: meeting.conversationId,
          metadata: { meetingId: meeting.id, room: meeting.livekitRoom, measured: input.participantMinutes !== undefined },
        });
        await emitEvent(tx, actorOf(principal, ctx), 'ai.meeting.ended', {
          id: input.id,
          participantMinutes: units,
          amount: cost.amount,
        });
        const row = await findMeeting(tx, principal.tenantId, input.id);
        return { ...toMeetingOutput(row), cost: { id: cost.id, participantMinutes: units, amount: cost.amount } };
      });
    }),

  joinToken: tenantProcedure
    .meta({
      summary: `A LiveKit join token for this meeting's room only, valid ${JOIN_TOKEN_TTL_SECONDS / 60} minutes (503 MEETINGS_NOT_CONFIGURED without LiveKit)`,
      tags,
      scope: WRITE,
      rest: { method: 'POST', path: '/ai/meetings/{id}/join-token' },
    })
    .input(idInput.extend({ name: z.string().trim().min(1).max(200).optional() }))
    .output(z.object({ token: z.string(), url: z.string(), room: z.string(), identity: z.string(), expiresAt: z.iso.datetime() }))
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const identity = identityOf(principal);
      // The meeting is looked up first: another tenant's id is 404 whether or not LiveKit is configured.
      const room = await withTenant(principal, async (tx) => {
        const meeting = await findMeeting(tx, principal.tenantId, input.id, true);
        if (meeting.endedAt) throw new AppError('INVALID_TRANSITION', 'This meeting has ended.', { from: 'ended' });
        const settings = liveKitSettings(ctx.services.config);
        if (!meeting.attendees.includes(identity) && meeting.attendees.length < 1000) {
          await tx
            .update(meetings)
            .set({ attendees: sql`array_append(${meetings.attendees}, ${identity})` })
            .where(byId(principal.tenantId, input.id));
        }
        return { name: meeting.livekitRoom, settings };
      });
      const name = input.name ?? (principal.kind === 'member' ? principal.name || principal.email : 'API client');
      const issued = await joinToken(room.settings, { room: room.name, identity, name });
      return {
        token: issued.token,
        url: room.settings.url,
        room: room.name,
        identity,
        expiresAt: issued.expiresAt.toISOString(),
      };
    }),
};
