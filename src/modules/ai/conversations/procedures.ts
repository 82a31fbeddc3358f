import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import { keyset, listInput, page, pageOf } from '../../../api/pagination.ts';
import { router, tenantProcedure } from '../../../api/procedures.ts';
import { actorOf, recordAudit } from '../../../audit/record.ts';
import { type Tx, withTenant } from '../../../db/tenant.ts';
import { emitEvent } from '../../../events/emit.ts';
import { contacts } from '../../crm/contacts/schema.ts';
import { countAgentUse, findUsableAgent } from '../agents/procedures.ts';
import { chat, type MessageRow, transcript } from './chat.ts';
import { detachFromConversation } from './detach.ts';
import { conversations } from './schema.ts';

const tags = ['ai'];
const READ = 'ai:read' as const;
const WRITE = 'ai:write' as const;
const TRANSCRIPT_LIMIT = 500;

const conversationColumns = {
  id: conversations.id,
  mode: conversations.mode,
  agentId: conversations.agentId,
  widgetId: conversations.widgetId,
  visitorId: conversations.visitorId,
  contactId: conversations.contactId,
  title: conversations.title,
  status: conversations.status,
  messageCount: conversations.messageCount,
  tokensIn: conversations.tokensIn,
  tokensOut: conversations.tokensOut,
  cost: conversations.cost,
  lastMessageAt: conversations.lastMessageAt,
  closedAt: conversations.closedAt,
  createdAt: conversations.createdAt,
  updatedAt: conversations.updatedAt,
};
type ConversationRow = {
  id: string;
  mode: 'text' | 'meeting';
  agentId: string | null;
  widgetId: string | null;
  visitorId: string | null;
  contactId: string | null;
  title: string | null;
  status: 'open' | 'closed';
  messageCount: number;
  tokensIn: number;
  tokensOut: number;
  cost: number;
  lastMessageAt: Date | null;
  closedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
};

export const conversationOutput = z.object({
  id: z.guid(),
  mode: z.enum(['text', 'meeting']),
  agentId: z.guid().nullable(),
  widgetId: z.guid().nullable(),
  visitorId: z.string().nullable(),
  contactId: z.guid().nullable(),
  title: z.string().nullable(),
  status: z.enum(['open', 'closed']),
  totals: z.object({
    messages: z.number().int(),
    tokensIn: z.number().int(),
    tokensOut: z.number().int(),
    cost: z.number(),
  }),
  lastMessageAt: z.iso.datetime().nullable(),
  closedAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const iso = (d: Date | null) => d?.toISOString() ?? null;

function toConversation(row: ConversationRow) {
  return {
    id: row.id,
    mode: row.mode,
    agentId: row.agentId,
    widgetId: row.widgetId,
    visitorId: row.visitorId,
    contactId: row.contactId,
    title: row.title,
    status: row.status,
    totals: {
      messages: row.messageCount,
      tokensIn: Number(row.tokensIn),
      tokensOut: Number(row.tokensOut),
      cost: Number(row.cost),
    },
    lastMessageAt: iso(row.lastMessageAt),
    closedAt: iso(row.closedAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export const messageOutput = z.object({
  id: z.guid(),
  conversationId: z.guid(),
  role: z.enum(['user', 'assistant', 'system']),
  content: z.string(),
  attachments: z.array(z.object({ name: z.string(), contentType: z.string(), size: z.number(), url: z.string().optional() })),
  model: z.string().nullable(),
  tokensIn: z.number().int(),
  tokensOut: z.number().int(),
  cost: z.number(),
  latencyMs: z.number().int().nullable(),
  citations: z.array(
    z.object({ documentId: z.guid(), documentTitle: z.string(), position: z.number().int(), snippet: z.string() }),
  ),
  createdAt: z.iso.datetime(),
});

export function toMessage(row: MessageRow) {
  return {
    ...row,
    attachments: row.attachments ?? [],
    cost: Number(row.cost),
    citations: row.citations ?? [],
    createdAt: row.createdAt.toISOString(),
  };
}

export async function findConversation(tx: Tx, tenantId: string, id: string): Promise<ConversationRow> {
  const [row] = await tx
    .select(conversationColumns)
    .from(conversations)
    .where(and(eq(conversations.tenantId, tenantId), eq(conversations.id, id)));
  if (!row) throw new AppError('NOT_FOUND');
  return row as ConversationRow;
}

/** A new conversation with a usable agent (own or shared). */
export async function startConversation(
  tx: Tx,
  tenantId: string,
  input: {
    agentId: string;
    title?: string | null;
    contactId?: string | null;
    widgetId?: string | null;
    visitorId?: string | null;
    visitorTokenHash?: string | null;
    mode?: 'text' | 'meeting';
  },
): Promise<string> {
  const agent = await findUsableAgent(tx, tenantId, input.agentId).catch(() => {
    throw new AppError('UNPROCESSABLE', undefined, [{ path: 'agentId', message: 'no such agent' }]);
  });
  if (!agent.active) throw new AppError('UNPROCESSABLE', undefined, [{ path: 'agentId', message: 'the agent is switched off' }]);
  if (input.contactId) {
    const [contact] = await tx
      .select({ id: contacts.id })
      .from(contacts)
      .where(and(eq(contacts.tenantId, tenantId), eq(contacts.id, input.contactId)));
    if (!contact) throw new AppError('UNPROCESSABLE', undefined, [{ path: 'contactId', message: 'no such contact' }]);
  }
  const [row] = await tx
    .insert(conversations)
    .values({
      tenantId,
      agentId: agent.id,
      mode: input.mode ?? 'text',
      title: input.title ?? null,
      contactId: input.contactId ?? null,
      widgetId: input.widgetId ?? null,
      visitorId: input.visitorId ?? null,
      visitorTokenHash: input.visitorTokenHash ?? null,
    })
    .returning({ id: conversations.id });
  if (!row) throw new Error('conversation not created');
  return row.id;
}

const idInput = z.object({ id: z.guid() });
const listConversationsInput = listInput(['createdAt']).extend({
  status: z.enum(['open', 'closed']).optional(),
  mode: z.enum(['text', 'meeting']).optional(),
  agentId: z.guid().optional(),
  widgetId: z.guid().optional(),
  contactId: z.guid().optional(),
});

const content = z.string().trim().min(1).max(20_000);
const attachment = z.object({
  name: z.string().min(1).max(300),
  contentType: z.string().min(1).max(200),
  size: z
    .number()
    .int()
    .min(0)
    .max(1024 * 1024 * 1024),
  url: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .optional(),
});
export const sendInput = z.object({ id: z.guid(), content, attachments: z.array(attachment).max(10).optional() });

export const conversationsRouter = router({
  list: tenantProcedure
    .meta({ summary: 'Conversations', tags, scope: READ, rest: { method: 'GET', path: '/ai/conversations' } })
    .input(listConversationsInput)
    .output(pageOf(conversationOutput))
    .query(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      const { where, orderBy, limit } = keyset(input, { createdAt: conversations.createdAt }, conversations.id);
      const filters = [
        input.status ? eq(conversations.status, input.status) : undefined,
        input.mode ? eq(conversations.mode, input.mode) : undefined,
        input.agentId ? eq(conversations.agentId, input.agentId) : undefined,
        input.widgetId ? eq(conversations.widgetId, input.widgetId) : undefined,
        input.contactId ? eq(conversations.contactId, input.contactId) : undefined,
      ];
      const rows = await withTenant(ctx.principal, (tx) =>
        tx
          .select(conversationColumns)
          .from(conversations)
          .where(and(eq(conversations.tenantId, tenantId), ...filters, where))
          .orderBy(...orderBy)
          .limit(limit),
      );
      const result = page(rows as ConversationRow[], input, (row) => [row.createdAt, row.id]);
      return { items: result.items.map(toConversation), nextCursor: result.nextCursor };
    }),

  get: tenantProcedure
    .meta({
      summary: 'A conversation with its transcript',
      tags,
      scope: READ,
      rest: { method: 'GET', path: '/ai/conversations/{id}' },
    })
    .input(idInput)
    .output(conversationOutput.extend({ messages: z.array(messageOutput) }))
    .query(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      return withTenant(ctx.principal, async (tx) => {
        const row = await findConversation(tx, tenantId, input.id);
        const messages = await transcript(tx, tenantId, input.id, TRANSCRIPT_LIMIT);
        return { ...toConversation(row), messages: (messages as MessageRow[]).map(toMessage) };
      });
    }),

  create: tenantProcedure
    .meta({
      summary: 'Start a conversation with an agent (your own or one shared with you)',
      tags,
      scope: WRITE,
      rest: { method: 'POST', path: '/ai/conversations', status: 201 },
    })
    .input(
      z.object({
        agentId: z.guid(),
        title: z.string().trim().min(1).max(300).nullable().optional(),
        contactId: z.guid().nullable().optional(),
      }),
    )
    .output(conversationOutput)
    .mutation(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      return withTenant(ctx.principal, async (tx) => {
        const id = await startConversation(tx, tenantId, input);
        await countAgentUse(tx, ctx.principal, input.agentId, { conversations: 1 });
        await emitEvent(tx, actorOf(ctx.principal, ctx), 'conversation.created', { id, agentId: input.agentId, mode: 'text' });
        return toConversation(await findConversation(tx, tenantId, id));
      });
    }),

  send: tenantProcedure
    .meta({
      summary: 'Ask the agent; returns the question and the answer (stream it with POST …/messages/stream)',
      tags,
      scope: WRITE,
      rest: { method: 'POST', path: '/ai/conversations/{id}/messages', status: 201 },
    })
    .input(sendInput)
    .output(z.object({ question: messageOutput, answer: messageOutput, offline: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      const result = await chat(
        {
          principal: ctx.principal,
          actor: actorOf(ctx.principal, ctx),
          config: ctx.services.config,
          conversationId: input.id,
          content: input.content,
          attachments: input.attachments,
        },
        () => {},
      );
      return { question: toMessage(result.question), answer: toMessage(result.answer), offline: result.offline };
    }),

  close: tenantProcedure
    .meta({ summary: 'Close a conversation', tags, scope: WRITE, rest: { method: 'POST', path: '/ai/conversations/{id}/close' } })
    .input(idInput)
    .output(conversationOutput)
    .mutation(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      return withTenant(ctx.principal, async (tx) => {
        const [closed] = await tx
          .update(conversations)
          .set({ status: 'closed', closedAt: sql`coalesce(${conversations.closedAt}, now())`, updatedAt: sql`now()` })
          .where(and(eq(conversations.tenantId, tenantId), eq(conversations.id, input.id)))
          .returning({ id: conversations.id });
        if (!closed) throw new AppError('NOT_FOUND');
        await emitEvent(tx, actorOf(ctx.principal, ctx), 'conversation.closed', { id: input.id });
        return toConversation(await findConversation(tx, tenantId, input.id));
      });
    }),

  delete: tenantProcedure
    .meta({
      summary: 'Delete a conversation and its messages',
      tags,
      scope: WRITE,
      rest: { method: 'DELETE', path: '/ai/conversations/{id}' },
    })
    .input(idInput)
    .output(z.object({ id: z.guid(), deleted: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      await withTenant(ctx.principal, async (tx) => {
        await detachFromConversation(tx, tenantId, input.id);
        const [gone] = await tx
          .delete(conversations)
          .where(and(eq(conversations.tenantId, tenantId), eq(conversations.id, input.id)))
          .returning({ id: conversations.id });
        if (!gone) throw new AppError('NOT_FOUND');
        const actor = actorOf(ctx.principal, ctx);
        await recordAudit(tx, actor, { action: 'conversation.deleted', targetType: 'conversation', targetId: input.id });
        await emitEvent(tx, actor, 'conversation.deleted', { id: input.id });
      });
      return { id: input.id, deleted: true as const };
    }),
});
