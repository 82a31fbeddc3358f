import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../api/errors.ts';
import { keyset, listInput, page, pageOf } from '../../api/pagination.ts';
import { router, tenantProcedure } from '../../api/procedures.ts';
import { actorOf, recordAudit } from '../../audit/record.ts';
import { type Tx, withTenant } from '../../db/tenant.ts';
import { type EventActor, emitEvent } from '../../events/emit.ts';
import { CHANNELS, DIRECTIONS, MESSAGE_STATUSES, messages, optOuts } from './schema.ts';
import { idInput, iso, notFoundUnless, READ, tags, WRITE } from './shared.ts';

const messageOutput = z.object({
  id: z.guid(),
  campaignId: z.guid().nullable(),
  recipientId: z.guid().nullable(),
  contactId: z.guid().nullable(),
  direction: z.enum(DIRECTIONS),
  channel: z.enum(CHANNELS),
  recipient: z.string(),
  subject: z.string().nullable(),
  content: z.string(),
  status: z.enum(MESSAGE_STATUSES),
  providerMessageId: z.string().nullable(),
  error: z.string().nullable(),
  queuedAt: z.iso.datetime(),
  sentAt: z.iso.datetime().nullable(),
  deliveredAt: z.iso.datetime().nullable(),
  readAt: z.iso.datetime().nullable(),
  failedAt: z.iso.datetime().nullable(),
});

export type MessageRow = typeof messages.$inferSelect;
export const toMessageOutput = (row: MessageRow) => ({
  id: row.id,
  campaignId: row.campaignId,
  recipientId: row.recipientId,
  contactId: row.contactId,
  direction: row.direction,
  channel: row.channel,
  recipient: row.recipient,
  subject: row.subject,
  content: row.content,
  status: row.status,
  providerMessageId: row.providerMessageId,
  error: row.error,
  queuedAt: row.queuedAt.toISOString(),
  sentAt: iso(row.sentAt),
  deliveredAt: iso(row.deliveredAt),
  readAt: iso(row.readAt),
  failedAt: iso(row.failedAt),
});

const messageReads = {
  list: tenantProcedure
    .meta({
      summary: 'Message history, newest first by default',
      tags,
      scope: READ,
      rest: { method: 'GET', path: '/campaigns/messages' },
    })
    .input(
      listInput(['queuedAt'], '-queuedAt').extend({
        campaignId: z.guid().optional(),
        contactId: z.guid().optional(),
        status: z.enum(MESSAGE_STATUSES).optional(),
        channel: z.enum(CHANNELS).optional(),
      }),
    )
    .output(pageOf(messageOutput))
    .query(async ({ ctx, input }) => {
      const { where, orderBy, limit } = keyset(input, { queuedAt: messages.queuedAt }, messages.id);
      const rows = await withTenant(ctx.principal, (tx) =>
        tx
          .select()
          .from(messages)
          .where(
            and(
              eq(messages.tenantId, ctx.principal.tenantId),
              input.campaignId ? eq(messages.campaignId, input.campaignId) : undefined,
              input.contactId ? eq(messages.contactId, input.contactId) : undefined,
              input.status ? eq(messages.status, input.status) : undefined,
              input.channel ? eq(messages.channel, input.channel) : undefined,
              where,
            ),
          )
          .orderBy(...orderBy)
          .limit(limit),
      );
      const result = page(rows, input, (row) => [row.queuedAt, row.id]);
      return { items: result.items.map(toMessageOutput), nextCursor: result.nextCursor };
    }),

  get: tenantProcedure
    .meta({ summary: 'One message', tags, scope: READ, rest: { method: 'GET', path: '/campaigns/messages/{id}' } })
    .input(idInput)
    .output(messageOutput)
    .query(async ({ ctx, input }) => {
      const [row] = await withTenant(ctx.principal, (tx) =>
        tx
          .select()
          .from(messages)
          .where(and(eq(messages.tenantId, ctx.principal.tenantId), eq(messages.id, input.id))),
      );
      return toMessageOutput(notFoundUnless(row));
    }),
};

/** Where a reported status may come from; repeating the current status is a no-op. */
const STATUS_FROM: Record<'delivered' | 'read' | 'failed', readonly string[]> = {
  delivered: ['sent'],
  read: ['sent', 'delivered'],
  failed: ['queued', 'sent'],
};
const STATUS_TIME = { delivered: 'deliveredAt', read: 'readAt', failed: 'failedAt' } as const;

export interface StatusReport {
  status: 'delivered' | 'read' | 'failed';
  providerMessageId?: string | undefined;
  error?: string | undefined;
}

/**
 * Applies a provider's status report to one message of the tenant, named by
 * its id or by its provider message id, inside the caller's tenant
 * transaction: the API procedure and the gateway's signed callback share it.
 * Repeating the current status is a no-op; an impossible move is 409.
 */
export async function applyMessageStatus(
  tx: Tx,
  actor: EventActor,
  tenantId: string,
  find: { id: string } | { providerMessageId: string },
  input: StatusReport,
): Promise<MessageRow> {
  const named =
    'id' in find
      ? eq(messages.id, find.id)
      : and(eq(messages.providerMessageId, find.providerMessageId), eq(messages.direction, 'outbound'));
  const [current] = await tx
    .select()
    .from(messages)
    .where(and(eq(messages.tenantId, tenantId), named))
    .limit(1)
    .for('update');
  const message = notFoundUnless(current);
  const where = and(eq(messages.tenantId, tenantId), eq(messages.id, message.id));
  if (message.status === input.status) return message;
  if (!STATUS_FROM[input.status].includes(message.status)) {
    throw new AppError('INVALID_TRANSITION', `A ${message.status} message cannot become ${input.status}.`, {
      from: message.status,
    });
  }
  const [updated] = await tx
    .update(messages)
    .set({
      status: input.status,
      [STATUS_TIME[input.status]]: sql`now()`,
      ...(input.status === 'read' && !message.deliveredAt ? { deliveredAt: sql`now()` } : {}),
      ...(input.providerMessageId ? { providerMessageId: input.providerMessageId } : {}),
      ...(input.status === 'failed' ? { error: input.error ?? 'reported failed' } : {}),
      updatedAt: sql`now()`,
    })
    .where(where)
    .returning();
  await emitEvent(tx, actor, 'campaign_message.status_changed', {
    id: message.id,
    campaignId: message.campaignId,
    from: message.status,
    to: input.status,
  });
  return notFoundUnless(updated);
}

const messageStatusProcedure = tenantProcedure
  .meta({
    summary: "Report a message's delivery status (delivered, read, failed), as a provider saw it",
    tags,
    scope: WRITE,
    rest: { method: 'POST', path: '/campaigns/messages/{id}/status' },
  })
  .input(
    idInput.extend({
      status: z.enum(['delivered', 'read', 'failed']),
      providerMessageId: z.string().trim().min(1).max(200).optional(),
      error: z.string().trim().max(500).optional(),
    }),
  )
  .output(messageOutput)
  .mutation(async ({ ctx, input }) => {
    const { principal } = ctx;
    const row = await withTenant(principal, (tx) =>
      applyMessageStatus(tx, actorOf(principal, ctx), principal.tenantId, { id: input.id }, input),
    );
    return toMessageOutput(row);
  });

const optOutOutput = z.object({
  id: z.guid(),
  contactId: z.guid(),
  channel: z.enum(CHANNELS),
  createdAt: z.iso.datetime(),
});
type OptOutRow = typeof optOuts.$inferSelect;
const toOptOutOutput = (row: OptOutRow) => ({
  id: row.id,
  contactId: row.contactId,
  channel: row.channel,
  createdAt: row.createdAt.toISOString(),
});

export const optOutsRouter = router({
  list: tenantProcedure
    .meta({ summary: 'Contacts opted out of a channel', tags, scope: READ, rest: { method: 'GET', path: '/campaigns/opt-outs' } })
    .input(listInput(['createdAt'], '-createdAt').extend({ contactId: z.guid().optional() }))
    .output(pageOf(optOutOutput))
    .query(async ({ ctx, input }) => {
      const { where, orderBy, limit } = keyset(input, { createdAt: optOuts.createdAt }, optOuts.id);
      const rows = await withTenant(ctx.principal, (tx) =>
        tx
          .select()
          .from(optOuts)
          .where(
            and(
              eq(optOuts.tenantId, ctx.principal.tenantId),
              input.contactId ? eq(optOuts.contactId, input.contactId) : undefined,
              where,
            ),
          )
          .orderBy(...orderBy)
          .limit(limit),
      );
      const result = page(rows, input, (row) => [row.createdAt, row.id]);
      return { items: result.items.map(toOptOutOutput), nextCursor: result.nextCursor };
    }),

  create: tenantProcedure
    .meta({
      summary: 'Opt a contact out of a channel (idempotent); honoured at snapshot and again at send time',
      tags,
      scope: WRITE,
      rest: { method: 'POST', path: '/campaigns/opt-outs', status: 201 },
    })
    .input(z.object({ contactId: z.guid(), channel: z.enum(CHANNELS) }))
    .output(optOutOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const row = await withTenant(principal, async (tx) => {
        await tx
          .insert(optOuts)
          .values({ tenantId: principal.tenantId, contactId: input.contactId, channel: input.channel })
          .onConflictDoNothing();
        const [existing] = await tx
          .select()
          .from(optOuts)
          .where(
            and(
              eq(optOuts.tenantId, principal.tenantId),
              eq(optOuts.contactId, input.contactId),
              eq(optOuts.channel, input.channel),
            ),
          );
        const optOut = notFoundUnless(existing);
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'campaign_opt_out.created',
          targetType: 'crm_contact',
          targetId: input.contactId,
          after: { channel: input.channel },
        });
        await emitEvent(tx, actorOf(principal, ctx), 'campaign_opt_out.created', { id: optOut.id, ...input });
        return optOut;
      });
      return toOptOutOutput(row);
    }),

  delete: tenantProcedure
    .meta({
      summary: 'Withdraw an opt-out: the contact may be messaged on that channel again',
      tags,
      scope: WRITE,
      rest: { method: 'DELETE', path: '/campaigns/opt-outs/{id}' },
    })
    .input(idInput)
    .output(optOutOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const row = await withTenant(principal, async (tx) => {
        const [deleted] = await tx
          .delete(optOuts)
          .where(and(eq(optOuts.tenantId, principal.tenantId), eq(optOuts.id, input.id)))
          .returning();
        const optOut = notFoundUnless(deleted);
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'campaign_opt_out.deleted',
          targetType: 'crm_contact',
          targetId: optOut.contactId,
          before: { channel: optOut.channel },
        });
        await emitEvent(tx, actorOf(principal, ctx), 'campaign_opt_out.deleted', { id: optOut.id, contactId: optOut.contactId });
        return optOut;
      });
      return toOptOutOutput(row);
    }),
});

export const messagesRouter = router({ ...messageReads, updateStatus: messageStatusProcedure });
