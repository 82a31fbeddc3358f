import { sql } from 'drizzle-orm';
import { bigint, boolean, check, doublePrecision, index, integer, pgPolicy, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { appRole, CURRENT_TENANT_SQL, tenantTable, timestamps } from '../../../db/tenant-table.ts';

export const AGENT_SHARING = ['private', 'global', 'selective'] as const;
export type AgentSharing = (typeof AGENT_SHARING)[number];

/**
 * An AI personality. Rows belong to one tenant (the tenant policies of
 * tenantTable) and are readable by other tenants only when shared by a live
 * tenant: the extra permissive SELECT policy below is the whole of
 * cross-tenant sharing. No
 * policy lets another tenant insert, update or delete, so "use yes, change no"
 * is enforced by PostgreSQL.
 */
export const agents = tenantTable(
  'ai_agents',
  {
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    description: text('description'),
    avatarUrl: text('avatar_url'),
    systemPrompt: text('system_prompt').notNull(),
    model: text('model').notNull(),
    temperature: doublePrecision('temperature').notNull().default(0.7),
    maxTokens: integer('max_tokens').notNull().default(1024),
    topP: doublePrecision('top_p').notNull().default(1),
    presencePenalty: doublePrecision('presence_penalty').notNull().default(0),
    frequencyPenalty: doublePrecision('frequency_penalty').notNull().default(0),
    knowledgeCategories: text('knowledge_categories').array().notNull().default(sql`'{}'::text[]`),
    active: boolean('active').notNull().default(true),
    sharing: text('sharing', { enum: AGENT_SHARING }).notNull().default('private'),
    sharedWith: uuid('shared_with').array().notNull().default(sql`'{}'::uuid[]`),
    ...timestamps,
  },
  {
    key: ['id'],
    extra: (t) => [
      index('ai_agents_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
      index('ai_agents_tenant_name_idx').on(t.tenantId, t.name, t.id),
      index('ai_agents_id_idx').on(t.id),
      index('ai_agents_global_idx').on(t.sharing).where(sql.raw(`sharing <> 'private'`)),
      index('ai_agents_shared_with_idx').using('gin', t.sharedWith),
      check('ai_agents_sharing_check', sql.raw(`sharing in ('private', 'global', 'selective')`)),
      check('ai_agents_selective_check', sql.raw(`sharing = 'selective' or cardinality(shared_with) = 0`)),
      check('ai_agents_name_check', sql.raw('char_length(name) between 1 and 200')),
      check('ai_agents_prompt_check', sql.raw('char_length(system_prompt) between 1 and 20000')),
      check('ai_agents_temperature_check', sql.raw('temperature between 0 and 2')),
      check('ai_agents_top_p_check', sql.raw('top_p > 0 and top_p <= 1')),
      check('ai_agents_max_tokens_check', sql.raw('max_tokens between 1 and 32000')),
      check('ai_agents_penalties_check', sql.raw('presence_penalty between -2 and 2 and frequency_penalty between -2 and 2')),
      pgPolicy('ai_agents_shared_select', {
        for: 'select',
        to: appRole,
        // Only inside a live tenant: without a context, or with an id that names no tenant, every table
        // reads as empty, shared agents included. The tenants policy lets the current tenant's row through.
        // And only from a live owner: a deleted tenant's agents go with it. The owner's row is not visible
        // to the viewing tenant, so app.tenant_is_live (migration 0025) asks; it comes last so that
        // PostgreSQL calls it only for rows the cheap conditions already admit.
        using: sql.raw(
          `exists (select 1 from app.tenants t where t.id = ${CURRENT_TENANT_SQL} and t.deleted_at is null)` +
            ` and (sharing = 'global' or (sharing = 'selective' and ${CURRENT_TENANT_SQL} = any(shared_with)))` +
            ' and app.tenant_is_live(tenant_id)',
        ),
      }),
    ],
  },
);

/**
 * What one tenant's use of an agent added up to. Kept per using tenant, so a
 * tenant using a shared agent never writes to the owner's row and the owner
 * never sees who else uses it.
 */
export const agentUsage = tenantTable(
  'ai_agent_usage',
  {
    agentId: uuid('agent_id').notNull(),
    conversations: integer('conversations').notNull().default(0),
    messages: integer('messages').notNull().default(0),
    tokens: bigint('tokens', { mode: 'number' }).notNull().default(0),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
  },
  { key: ['agentId'] },
);
