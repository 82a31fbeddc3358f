import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import { keyset, listInput, page, pageOf } from '../../../api/pagination.ts';
import { adminProcedure, router, tenantProcedure } from '../../../api/procedures.ts';
import { updateFieldsOf } from '../../../api/update-fields.ts';
import { actorOf, changeSummary, recordAudit } from '../../../audit/record.ts';
import { type DataPrincipal, type Tx, withTenant } from '../../../db/tenant.ts';
import { emitEvent } from '../../../events/emit.ts';
import { iso } from '../../campaigns/shared.ts';
import { agents, agentUsage } from './schema.ts';

const tags = ['ai'];
const READ = 'ai:read' as const;
const WRITE = 'ai:write' as const;

const columns = {
  tenantId: agents.tenantId,
  id: agents.id,
  name: agents.name,
  description: agents.description,
  avatarUrl: agents.avatarUrl,
  systemPrompt: agents.systemPrompt,
  model: agents.model,
  temperature: agents.temperature,
  maxTokens: agents.maxTokens,
  topP: agents.topP,
  presencePenalty: agents.presencePenalty,
  frequencyPenalty: agents.frequencyPenalty,
  knowledgeCategories: agents.knowledgeCategories,
  active: agents.active,
  sharing: agents.sharing,
  sharedWith: agents.sharedWith,
  createdAt: agents.createdAt,
  updatedAt: agents.updatedAt,
  usageConversations: sql<number>`coalesce(${agentUsage.conversations}, 0)`,
  usageMessages: sql<number>`coalesce(${agentUsage.messages}, 0)`,
  usageTokens: sql<number>`coalesce(${agentUsage.tokens}, 0)`,
  usageLastUsedAt: agentUsage.lastUsedAt,
};

export type AgentRow = {
  tenantId: string;
  id: string;
  name: string;
  description: string | null;
  avatarUrl: string | null;
  systemPrompt: string;
  model: string;
  temperature: number;
  maxTokens: number;
  topP: number;
  presencePenalty: number;
  frequencyPenalty: number;
  knowledgeCategories: string[];
  active: boolean;
  sharing: 'private' | 'global' | 'selective';
  sharedWith: string[];
  createdAt: Date;
  updatedAt: Date;
  usageConversations: number;
  usageMessages: number;
  usageTokens: number;
  usageLastUsedAt: Date | null;
};

const agentOutput = z.object({
  id: z.guid(),
  name: z.string(),
  description: z.string().nullable(),
  avatarUrl: z.string().nullable(),
  /** The owner's instructions; hidden (null) from tenants the agent is shared with. */
  systemPrompt: z.string().nullable(),
  model: z.string(),
  temperature: z.number(),
  maxTokens: z.number().int(),
  topP: z.number(),
  presencePenalty: z.number(),
  frequencyPenalty: z.number(),
  knowledgeCategories: z.array(z.string()),
  active: z.boolean(),
  sharing: z.enum(['private', 'global', 'selective']),
  /** The tenants a selective agent is shared with; only its owner sees them. */
  sharedWith: z.array(z.guid()),
  /** False for an agent another tenant shares with you: you may use it, never change it. */
  owned: z.boolean(),
  usage: z.object({
    conversations: z.number().int(),
    messages: z.number().int(),
    tokens: z.number().int(),
    lastUsedAt: z.iso.datetime().nullable(),
  }),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

/** The API view of an agent as the tenant `viewer` sees it. */
function toOutput(row: AgentRow, viewer: string) {
  const owned = row.tenantId === viewer;
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    avatarUrl: row.avatarUrl,
    systemPrompt: owned ? row.systemPrompt : null,
    model: row.model,
    temperature: row.temperature,
    maxTokens: row.maxTokens,
    topP: row.topP,
    presencePenalty: row.presencePenalty,
    frequencyPenalty: row.frequencyPenalty,
    knowledgeCategories: row.knowledgeCategories,
    active: row.active,
    sharing: row.sharing,
    sharedWith: owned ? row.sharedWith : [],
    owned,
    usage: {
      conversations: Number(row.usageConversations),
      messages: Number(row.usageMessages),
      tokens: Number(row.usageTokens),
      lastUsedAt: row.usageLastUsedAt ? iso(row.usageLastUsedAt) : null,
    },
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Agents visible in the transaction's tenant (own, plus those shared with it), with the tenant's own usage of each. */
function visibleAgents(tx: Tx, tenantId: string) {
  return tx
    .select(columns)
    .from(agents)
    .leftJoin(agentUsage, and(eq(agentUsage.tenantId, tenantId), eq(agentUsage.agentId, agents.id)));
}

/** An agent the tenant may use: its own or one shared with it (the sharing policy decides). */
export async function findUsableAgent(tx: Tx, tenantId: string, id: string): Promise<AgentRow> {
  const [row] = await visibleAgents(tx, tenantId).where(eq(agents.id, id));
  if (!row) throw new AppError('NOT_FOUND');
  return row as AgentRow;
}

/** Adds one use of an agent to the using tenant's own statistics. */
export async function countAgentUse(
  tx: Tx,
  principal: DataPrincipal,
  agentId: string,
  use: { conversations?: number; messages?: number; tokens?: number },
): Promise<void> {
  const values = { conversations: use.conversations ?? 0, messages: use.messages ?? 0, tokens: use.tokens ?? 0 };
  await tx
    .insert(agentUsage)
    .values({ tenantId: principal.tenantId, agentId, ...values, lastUsedAt: new Date() })
    .onConflictDoUpdate({
      target: [agentUsage.tenantId, agentUsage.agentId],
      set: {
        conversations: sql`${agentUsage.conversations} + ${values.conversations}`,
        messages: sql`${agentUsage.messages} + ${values.messages}`,
        tokens: sql`${agentUsage.tokens} + ${values.tokens}`,
        lastUsedAt: sql`now()`,
      },
    });
}

const category = z.string().trim().min(1).max(100);
const agentFields = z.object({
  name: z.string().trim().min(1).max(200),
  description: z.string().trim().max(2000).nullable().optional(),
  avatarUrl: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .nullable()
    .optional(),
  systemPrompt: z.string().trim().min(1).max(20000),
  model: z.string().trim().min(1).max(200).default('gpt-4o-mini'),
  temperature: z.number().min(0).max(2).default(0.7),
  maxTokens: z.number().int().min(1).max(32000).default(1024),
  topP: z.number().gt(0).max(1).default(1),
  presencePenalty: z.number().min(-2).max(2).default(0),
  frequencyPenalty: z.number().min(-2).max(2).default(0),
  knowledgeCategories: z.array(category).max(50).default([]),
  active: z.boolean().default(true),
});
const agentPatch = updateFieldsOf(agentFields).extend({ id: z.guid() });

const sharingInput = z
  .object({
    id: z.guid(),
    sharing: z.enum(['private', 'global', 'selective']),
    sharedWith: z.array(z.guid()).max(1000).default([]),
  })
  .refine((v) => v.sharing === 'selective' || v.sharedWith.length === 0, {
    path: ['sharedWith'],
    message: 'only a selective agent lists tenants',
  })
  .refine((v) => v.sharing !== 'selective' || v.sharedWith.length > 0, {
    path: ['sharedWith'],
    message: 'a selective agent lists at least one tenant',
  });

/**
 * Changing an agent goes through the tenant policies only, so another
 * tenant's shared agent matches no row. A visible agent that did not match is
 * someone else's shared agent: say so instead of a bare 404.
 */
async function refuseUnowned(tx: Tx, tenantId: string, id: string): Promise<never> {
  const [visible] = await tx.select({ tenantId: agents.tenantId }).from(agents).where(eq(agents.id, id));
  if (visible && visible.tenantId !== tenantId) throw new AppError('SHARED_AGENT_READ_ONLY');
  throw new AppError('NOT_FOUND');
}

const idInput = z.object({ id: z.guid() });
const listAgentsInput = listInput(['createdAt', 'name']).extend({
  /** own: this tenant's agents; shared: other tenants' agents shared with it; all: both. */
  owner: z.enum(['own', 'shared', 'all']).default('all'),
  active: z.boolean().optional(),
});

export const agentsRouter = router({
  list: tenantProcedure
    .meta({
      summary: 'Agents: your own and those shared with you',
      tags,
      scope: READ,
      rest: { method: 'GET', path: '/ai/agents' },
    })
    .input(listAgentsInput)
    .output(pageOf(agentOutput))
    .query(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      const { where, orderBy, limit } = keyset(input, { createdAt: agents.createdAt, name: agents.name }, agents.id);
      const ownership =
        input.owner === 'own'
          ? eq(agents.tenantId, tenantId)
          : input.owner === 'shared'
            ? sql`${agents.tenantId} <> ${tenantId}`
            : undefined;
      const rows = await withTenant(ctx.principal, (tx) =>
        visibleAgents(tx, tenantId)
          .where(and(ownership, input.active === undefined ? undefined : eq(agents.active, input.active), where))
          .orderBy(...orderBy)
          .limit(limit),
      );
      const result = page(rows as AgentRow[], input, (row, field) => [row[field as 'createdAt' | 'name'], row.id]);
      return { items: result.items.map((r) => toOutput(r, tenantId)), nextCursor: result.nextCursor };
    }),

  get: tenantProcedure
    .meta({ summary: 'One agent', tags, scope: READ, rest: { method: 'GET', path: '/ai/agents/{id}' } })
    .input(idInput)
    .output(agentOutput)
    .query(async ({ ctx, input }) => {
      const row = await withTenant(ctx.principal, (tx) => findUsableAgent(tx, ctx.principal.tenantId, input.id));
      return toOutput(row, ctx.principal.tenantId);
    }),

  create: tenantProcedure
    .meta({ summary: 'Create an agent', tags, scope: WRITE, rest: { method: 'POST', path: '/ai/agents', status: 201 } })
    .input(agentFields)
    .output(agentOutput)
    .mutation(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      const row = await withTenant(ctx.principal, async (tx) => {
        const [created] = await tx
          .insert(agents)
          .values({ tenantId, ...input })
          .returning({ id: agents.id });
        if (!created) throw new Error('agent not created');
        const actor = actorOf(ctx.principal, ctx);
        await recordAudit(tx, actor, {
          action: 'agent.created',
          targetType: 'agent',
          targetId: created.id,
          data: { name: input.name },
        });
        await emitEvent(tx, actor, 'agent.created', { id: created.id, name: input.name });
        return findUsableAgent(tx, tenantId, created.id);
      });
      return toOutput(row, tenantId);
    }),

  update: tenantProcedure
    .meta({ summary: 'Change an agent you own', tags, scope: WRITE, rest: { method: 'PATCH', path: '/ai/agents/{id}' } })
    .input(agentPatch)
    .output(agentOutput)
    .mutation(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      const { id, ...changes } = input;
      const row = await withTenant(ctx.principal, async (tx) => {
        const [locked] = await tx
          .select({ id: agents.id })
          .from(agents)
          .where(and(eq(agents.tenantId, tenantId), eq(agents.id, id)))
          .for('update');
        if (!locked) return refuseUnowned(tx, tenantId, id);
        const before = await findUsableAgent(tx, tenantId, id);
        if (Object.keys(changes).length > 0) {
          await tx
            .update(agents)
            .set({ ...changes, updatedAt: new Date() })
            .where(and(eq(agents.tenantId, tenantId), eq(agents.id, id)));
        }
        const after = await findUsableAgent(tx, tenantId, id);
        const actor = actorOf(ctx.principal, ctx);
        const fields = Object.keys(changes) as (keyof AgentRow & string)[];
        await recordAudit(tx, actor, {
          action: 'agent.updated',
          targetType: 'agent',
          targetId: id,
          ...changeSummary(before, after, fields),
        });
        await emitEvent(tx, actor, 'agent.updated', { id, fields });
        return after;
      });
      return toOutput(row, tenantId);
    }),

  share: adminProcedure
    .meta({
      summary: 'Share an agent: private, with every tenant (global), or with listed tenants (selective)',
      tags,
      scope: WRITE,
      rest: { method: 'PUT', path: '/ai/agents/{id}/sharing' },
    })
    .input(sharingInput)
    .output(agentOutput)
    .mutation(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      const sharedWith = [...new Set(input.sharedWith.filter((t) => t !== tenantId))];
      const row = await withTenant(ctx.principal, async (tx) => {
        const [before] = await tx
          .select({ sharing: agents.sharing, sharedWith: agents.sharedWith })
          .from(agents)
          .where(and(eq(agents.tenantId, tenantId), eq(agents.id, input.id)))
          .for('update');
        if (!before) return refuseUnowned(tx, tenantId, input.id);
        await tx
          .update(agents)
          .set({ sharing: input.sharing, sharedWith, updatedAt: new Date() })
          .where(and(eq(agents.tenantId, tenantId), eq(agents.id, input.id)));
        const actor = actorOf(ctx.principal, ctx);
        await recordAudit(tx, actor, {
          action: 'agent.sharing_changed',
          targetType: 'agent',
          targetId: input.id,
          before,
          after: { sharing: input.sharing, sharedWith },
        });
        await emitEvent(tx, actor, 'agent.sharing_changed', { id: input.id, sharing: input.sharing, sharedWith });
        return findUsableAgent(tx, tenantId, input.id);
      });
      return toOutput(row, tenantId);
    }),

  delete: tenantProcedure
    .meta({ summary: 'Delete an agent you own', tags, scope: WRITE, rest: { method: 'DELETE', path: '/ai/agents/{id}' } })
    .input(idInput)
    .output(z.object({ id: z.guid(), deleted: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      await withTenant(ctx.principal, async (tx) => {
        const [gone] = await tx
          .delete(agents)
          .where(and(eq(agents.tenantId, tenantId), eq(agents.id, input.id)))
          .returning({ id: agents.id, name: agents.name });
        if (!gone) return refuseUnowned(tx, tenantId, input.id);
        await tx.delete(agentUsage).where(and(eq(agentUsage.tenantId, tenantId), eq(agentUsage.agentId, input.id)));
        const actor = actorOf(ctx.principal, ctx);
        await recordAudit(tx, actor, {
          action: 'agent.deleted',
          targetType: 'agent',
          targetId: input.id,
          data: { name: gone.name },
        });
        await emitEvent(tx, actor, 'agent.deleted', { id: input.id });
      });
      return { id: input.id, deleted: true as const };
    }),
});
