import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../api/errors.ts';
import { keyset, listInput, page, pageOf } from '../../api/pagination.ts';
import { tenantProcedure } from '../../api/procedures.ts';
import { actorOf, recordAudit } from '../../audit/record.ts';
import { type TenantPrincipal, type Tx, withTenant } from '../../db/tenant.ts';
import { emitEvent } from '../../events/emit.ts';
import { JOBS_CHANNEL } from '../../jobs/runner.ts';
import { jobs } from '../../jobs/schema.ts';
import { isGatewayChannel } from './gateway.ts';
import {
  assertTransition,
  cancelCampaign,
  DELIVERABLE_CHANNELS,
  launch,
  START_SCHEDULED_CAMPAIGN_JOB,
  type Transition,
} from './lifecycle.ts';
import {
  CAMPAIGN_STATUSES,
  CHANNELS,
  campaignGroups,
  campaigns,
  gateways,
  RECIPIENT_STATUSES,
  recipients,
  templates,
} from './schema.ts';
import { idInput, invalid, iso, notFoundUnless, READ, tags, WRITE } from './shared.ts';

const countsOutput = z.object(Object.fromEntries(['total', ...RECIPIENT_STATUSES].map((s) => [s, z.number().int()])));

const campaignOutput = z.object({
  id: z.guid(),
  name: z.string(),
  templateId: z.guid(),
  channel: z.enum(CHANNELS),
  groupIds: z.array(z.guid()),
  status: z.enum(CAMPAIGN_STATUSES),
  scheduledAt: z.iso.datetime().nullable(),
  startedAt: z.iso.datetime().nullable(),
  finishedAt: z.iso.datetime().nullable(),
  counts: countsOutput,
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const campaignColumns = {
  id: campaigns.id,
  name: campaigns.name,
  templateId: campaigns.templateId,
  channel: templates.channel,
  status: campaigns.status,
  scheduledAt: campaigns.scheduledAt,
  startedAt: campaigns.startedAt,
  finishedAt: campaigns.finishedAt,
  createdAt: campaigns.createdAt,
  updatedAt: campaigns.updatedAt,
  groupIds: sql<
    string[]
  >`coalesce((select array_agg(g.group_id order by g.group_id) from ${campaignGroups} g where g.tenant_id = ${campaigns.tenantId} and g.campaign_id = ${campaigns.id}), '{}')`,
  counts: sql<
    Record<string, number>
  >`(select coalesce(jsonb_object_agg(s.status, s.n), '{}'::jsonb) from (select r.status, count(*)::int as n from ${recipients} r where r.tenant_id = ${campaigns.tenantId} and r.campaign_id = ${campaigns.id} group by r.status) s)`,
};

type CampaignRow = {
  id: string;
  name: string;
  templateId: string;
  channel: (typeof CHANNELS)[number];
  status: (typeof CAMPAIGN_STATUSES)[number];
  scheduledAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  groupIds: string[];
  counts: Record<string, number>;
};

function toCampaignOutput(row: CampaignRow) {
  const counts: Record<string, number> = { total: 0 };
  for (const status of RECIPIENT_STATUSES) {
    counts[status] = Number(row.counts[status] ?? 0);
    counts.total = (counts.total ?? 0) + (counts[status] ?? 0);
  }
  return {
    ...row,
    groupIds: row.groupIds ?? [],
    counts,
    scheduledAt: iso(row.scheduledAt),
    startedAt: iso(row.startedAt),
    finishedAt: iso(row.finishedAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const baseQuery = (tx: Tx) =>
  tx
    .select(campaignColumns)
    .from(campaigns)
    .innerJoin(templates, and(eq(templates.tenantId, campaigns.tenantId), eq(templates.id, campaigns.templateId)));

export async function findCampaign(tx: Tx, tenantId: string, id: string, lock = false): Promise<CampaignRow> {
  if (lock) {
    await tx
      .select({ id: campaigns.id })
      .from(campaigns)
      .where(and(eq(campaigns.tenantId, tenantId), eq(campaigns.id, id)))
      .for('update');
  }
  const [row] = await baseQuery(tx).where(and(eq(campaigns.tenantId, tenantId), eq(campaigns.id, id)));
  return notFoundUnless(row) as CampaignRow;
}

const groupIdsInput = z
  .array(z.guid())
  .min(1)
  .max(50)
  .transform((ids) => [...new Set(ids)]);

async function setGroups(tx: Tx, tenantId: string, campaignId: string, groupIds: string[]): Promise<void> {
  await tx.delete(campaignGroups).where(and(eq(campaignGroups.tenantId, tenantId), eq(campaignGroups.campaignId, campaignId)));
  // The composite foreign key refuses another tenant's group (422).
  await tx.insert(campaignGroups).values(groupIds.map((groupId) => ({ tenantId, campaignId, groupId })));
}

function changeStatus(transition: Transition) {
  return tenantProcedure
    .meta({
      summary: `${transition[0]?.toUpperCase()}${transition.slice(1)} a campaign (409 INVALID_TRANSITION from a status that does not allow it)`,
      tags,
      scope: WRITE,
      rest: { method: 'POST', path: `/campaigns/{id}/${transition}` },
    })
    .input(idInput)
    .output(campaignOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const row = await withTenant(principal, (tx) => transitionCampaign(tx, principal, ctx, input.id, transition));
      return toCampaignOutput(row);
    });
}

async function transitionCampaign(
  tx: Tx,
  principal: TenantPrincipal,
  request: { requestId: string; ip?: string | null; userAgent?: string | null },
  id: string,
  transition: Transition,
): Promise<CampaignRow> {
  const who = actorOf(principal, request);
  const campaign = await findCampaign(tx, principal.tenantId, id, true);
  assertTransition(transition, campaign.status);
  const where = and(eq(campaigns.tenantId, principal.tenantId), eq(campaigns.id, id));
  if (transition === 'start') {
    if (!DELIVERABLE_CHANNELS.includes(campaign.channel)) {
      throw invalid('channel', `delivery through the ${campaign.channel} channel is not available yet`);
    }
    if (isGatewayChannel(campaign.channel)) {
      const [gateway] = await tx.select({ id: gateways.id }).from(gateways).where(eq(gateways.tenantId, principal.tenantId));
      if (!gateway)
        throw invalid('channel', `the ${campaign.channel} channel needs the tenant's gateway (PUT /campaigns/gateway)`);
    }
    const later = campaign.status === 'draft' && campaign.scheduledAt !== null && campaign.scheduledAt > new Date();
    if (later) {
      await tx.update(campaigns).set({ status: 'scheduled', updatedAt: sql`now()` }).where(where);
      await tx.insert(jobs).values({
        tenantId: principal.tenantId,
        kind: START_SCHEDULED_CAMPAIGN_JOB,
        refId: id,
        runAt: campaign.scheduledAt ?? new Date(),
      });
      await emitEvent(tx, who, 'campaign.scheduled', { id, scheduledAt: iso(campaign.scheduledAt) });
    } else {
      await launch(tx, who, id, campaign.channel);
    }
    await recordAudit(tx, who, {
      action: later ? 'campaign.scheduled' : 'campaign.started',
      targetType: 'campaign',
      targetId: id,
      before: { status: campaign.status },
    });
  } else if (transition === 'cancel') {
    await cancelCampaign(tx, who, id, campaign.status);
  } else {
    await tx
      .update(campaigns)
      .set({ status: transition === 'pause' ? 'paused' : 'running', updatedAt: sql`now()` })
      .where(where);
    if (transition === 'resume') await tx.execute(sql`select pg_notify(${JOBS_CHANNEL}, '')`);
    await emitEvent(tx, who, transition === 'pause' ? 'campaign.paused' : 'campaign.resumed', { id, from: campaign.status });
  }
  return findCampaign(tx, principal.tenantId, id);
}

export const CAMPAIGN_SORT = ['createdAt', 'name'] as const;

export const campaignProcedures = {
  list: tenantProcedure
    .meta({ summary: 'Campaigns with their progress counters', tags, scope: READ, rest: { method: 'GET', path: '/campaigns' } })
    .input(listInput(CAMPAIGN_SORT).extend({ status: z.enum(CAMPAIGN_STATUSES).optional() }))
    .output(pageOf(campaignOutput))
    .query(async ({ ctx, input }) => {
      const { where, orderBy, limit } = keyset(input, { createdAt: campaigns.createdAt, name: campaigns.name }, campaigns.id);
      const rows = await withTenant(ctx.principal, (tx) =>
        baseQuery(tx)
          .where(
            and(
              eq(campaigns.tenantId, ctx.principal.tenantId),
              input.status ? eq(campaigns.status, input.status) : undefined,
              where,
            ),
          )
          .orderBy(...orderBy)
          .limit(limit),
      );
      const result = page(rows as CampaignRow[], input, (row, field) => [row[field as 'createdAt' | 'name'], row.id]);
      return { items: result.items.map(toCampaignOutput), nextCursor: result.nextCursor };
    }),

  get: tenantProcedure
    .meta({
      summary: 'One campaign with its progress counters',
      tags,
      scope: READ,
      rest: { method: 'GET', path: '/campaigns/{id}' },
    })
    .input(idInput)
    .output(campaignOutput)
    .query(async ({ ctx, input }) =>
      toCampaignOutput(await withTenant(ctx.principal, (tx) => findCampaign(tx, ctx.principal.tenantId, input.id))),
    ),

  create: tenantProcedure
    .meta({ summary: 'Create a draft campaign', tags, scope: WRITE, rest: { method: 'POST', path: '/campaigns', status: 201 } })
    .input(
      z.object({
        name: z.string().trim().min(1).max(200),
        templateId: z.guid(),
        groupIds: groupIdsInput,
        scheduledAt: z.iso.datetime().nullable().optional(),
      }),
    )
    .output(campaignOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const row = await withTenant(principal, async (tx) => {
        const [created] = await tx
          .insert(campaigns)
          .values({
            tenantId: principal.tenantId,
            name: input.name,
            templateId: input.templateId,
            scheduledAt: input.scheduledAt ? new Date(input.scheduledAt) : null,
          })
          .returning({ id: campaigns.id });
        const id = notFoundUnless(created).id;
        await setGroups(tx, principal.tenantId, id, input.groupIds);
        await emitEvent(tx, actorOf(principal, ctx), 'campaign.created', { id, name: input.name });
        return findCampaign(tx, principal.tenantId, id);
      });
      return toCampaignOutput(row);
    }),

  update: tenantProcedure
    .meta({ summary: 'Change a draft campaign', tags, scope: WRITE, rest: { method: 'PATCH', path: '/campaigns/{id}' } })
    .input(
      idInput.extend({
        name: z.string().trim().min(1).max(200).optional(),
        templateId: z.guid().optional(),
        groupIds: groupIdsInput.optional(),
        scheduledAt: z.iso.datetime().nullable().optional(),
      }),
    )
    .output(campaignOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const row = await withTenant(principal, async (tx) => {
        const campaign = await findCampaign(tx, principal.tenantId, input.id, true);
        if (campaign.status !== 'draft') {
          throw new AppError('INVALID_TRANSITION', 'Only a draft campaign can be changed.', { from: campaign.status });
        }
        await tx
          .update(campaigns)
          .set({
            ...(input.name === undefined ? {} : { name: input.name }),
            ...(input.templateId === undefined ? {} : { templateId: input.templateId }),
            ...(input.scheduledAt === undefined ? {} : { scheduledAt: input.scheduledAt ? new Date(input.scheduledAt) : null }),
            updatedAt: sql`now()`,
          })
          .where(and(eq(campaigns.tenantId, principal.tenantId), eq(campaigns.id, input.id)));
        if (input.groupIds) await setGroups(tx, principal.tenantId, input.id, input.groupIds);
        await emitEvent(tx, actorOf(principal, ctx), 'campaign.updated', { id: input.id });
        return findCampaign(tx, principal.tenantId, input.id);
      });
      return toCampaignOutput(row);
    }),

  delete: tenantProcedure
    .meta({
      summary: 'Delete a campaign that is a draft or finished, with its recipients and history',
      tags,
      scope: WRITE,
      rest: { method: 'DELETE', path: '/campaigns/{id}' },
    })
    .input(idInput)
    .output(campaignOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const row = await withTenant(principal, async (tx) => {
        const campaign = await findCampaign(tx, principal.tenantId, input.id, true);
        if (!['draft', 'completed', 'cancelled', 'failed'].includes(campaign.status)) {
          throw new AppError('INVALID_TRANSITION', 'Cancel the campaign before deleting it.', { from: campaign.status });
        }
        await tx.delete(campaigns).where(and(eq(campaigns.tenantId, principal.tenantId), eq(campaigns.id, input.id)));
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'campaign.deleted',
          targetType: 'campaign',
          targetId: input.id,
          before: { name: campaign.name, status: campaign.status },
        });
        await emitEvent(tx, actorOf(principal, ctx), 'campaign.deleted', { id: input.id });
        return campaign;
      });
      return toCampaignOutput(row);
    }),

  start: changeStatus('start'),
  pause: changeStatus('pause'),
  resume: changeStatus('resume'),
  cancel: changeStatus('cancel'),
};
