import { and, asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import { keyset, listInput, page, pageOf } from '../../../api/pagination.ts';
import { router, tenantProcedure } from '../../../api/procedures.ts';
import { actorOf } from '../../../audit/record.ts';
import { type TenantPrincipal, type Tx, withTenant } from '../../../db/tenant.ts';
import { emitEvent } from '../../../events/emit.ts';
import { ACTIVITY_SORT, activityOutput, activityPage, timelineFilter } from '../activities/model.ts';
import { bulkDeleteProcedure, bulkUpdateProcedure } from '../bulk.ts';
import { idInput } from '../fields.ts';
import { findStage, type StageRow, statusOf } from '../pipelines/model.ts';
import { stages } from '../pipelines/schema.ts';
import { assertReferences } from '../references.ts';
import { findLead, historyColumns, historyOutput, leadColumns, leadOutput, recordStageEntry, toLeadOutput } from './model.ts';
import { LEAD_STATUSES, leadStageHistory, leads } from './schema.ts';
import { currencyRequired, deleteLead, leadChanges, leadTitle, updateLead } from './write.ts';

const LEAD_SORT = ['createdAt', 'updatedAt', 'title'] as const;
const sortColumns = { createdAt: leads.createdAt, updatedAt: leads.updatedAt, title: leads.title };

/** A missing stage as null; any other failure still fails the request. */
const missingAsNull = (error: unknown) => {
  if (error instanceof AppError && error.code === 'NOT_FOUND') return null;
  throw error;
};

/** The stage a new lead starts in: the one named, which must be of the pipeline, or the pipeline's first. */
async function startingStage(tx: Tx, principal: TenantPrincipal, pipelineId: string, stageId: string | undefined) {
  if (stageId) {
    const stage = await findStage(tx, principal, stageId).catch(missingAsNull);
    if (!stage || stage.pipelineId !== pipelineId) {
      throw new AppError('UNPROCESSABLE', 'Some referenced records do not exist.', [
        { path: 'stageId', message: 'no such stage in this pipeline' },
      ]);
    }
    return stage;
  }
  const [first] = await tx
    .select({ id: stages.id, pipelineId: stages.pipelineId, name: stages.name, isWon: stages.isWon, isLost: stages.isLost })
    .from(stages)
    .where(and(eq(stages.tenantId, principal.tenantId), eq(stages.pipelineId, pipelineId)))
    .orderBy(asc(stages.position))
    .limit(1);
  if (!first) {
    throw new AppError('UNPROCESSABLE', 'Some referenced records do not exist.', [
      { path: 'pipelineId', message: 'no such pipeline' },
    ]);
  }
  return first;
}

const placement = (stage: Pick<StageRow, 'isWon' | 'isLost'>) => {
  const status = statusOf(stage);
  return { status, closedAt: status === 'open' ? null : new Date() };
};

const tags = ['crm'];

export const leadsRouter = router({
  list: tenantProcedure
    .meta({
      scope: 'crm:read',
      summary: 'Leads, filtered by pipeline, stage, status, contact, company or owner',
      tags,
      rest: { method: 'GET', path: '/crm/leads' },
    })
    .input(
      listInput(LEAD_SORT, '-createdAt').extend({
        pipelineId: z.guid().optional(),
        stageId: z.guid().optional(),
        status: z.enum(LEAD_STATUSES).optional(),
        contactId: z.guid().optional(),
        companyId: z.guid().optional(),
        ownerUserId: z.guid().optional(),
      }),
    )
    .output(pageOf(leadOutput))
    .query(async ({ ctx, input }) => {
      const { where, orderBy, limit } = keyset(input, sortColumns, leads.id);
      const rows = await withTenant(ctx.principal, (tx) =>
        tx
          .select(leadColumns)
          .from(leads)
          .where(
            and(
              eq(leads.tenantId, ctx.principal.tenantId),
              input.pipelineId ? eq(leads.pipelineId, input.pipelineId) : undefined,
              input.stageId ? eq(leads.stageId, input.stageId) : undefined,
              input.status ? eq(leads.status, input.status) : undefined,
              input.contactId ? eq(leads.contactId, input.contactId) : undefined,
              input.companyId ? eq(leads.companyId, input.companyId) : undefined,
              input.ownerUserId ? eq(leads.ownerUserId, input.ownerUserId) : undefined,
              where,
            ),
          )
          .orderBy(...orderBy)
          .limit(limit),
      );
      const result = page(rows, input, (row, field) => [row[field as (typeof LEAD_SORT)[number]], row.id]);
      return { items: result.items.map(toLeadOutput), nextCursor: result.nextCursor };
    }),

  get: tenantProcedure
    .meta({ scope: 'crm:read', summary: 'One lead', tags, rest: { method: 'GET', path: '/crm/leads/{id}' } })
    .input(idInput)
    .output(leadOutput)
    .query(async ({ ctx, input }) =>
      toLeadOutput(await withTenant(ctx.principal, (tx) => findLead(tx, ctx.principal, input.id))),
    ),

  create: tenantProcedure
    .meta({
      scope: 'crm:write',
      summary: "Add a lead to a pipeline, in the named stage or the pipeline's first",
      tags,
      rest: { method: 'POST', path: '/crm/leads', status: 201 },
    })
    .input(leadChanges.extend({ title: leadTitle, pipelineId: z.guid(), stageId: z.guid().optional() }))
    .output(leadOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      if (input.value && !input.currency) throw new AppError('VALIDATION_FAILED', undefined, [currencyRequired]);
      const row = await withTenant(principal, async (tx) => {
        await assertReferences(tx, principal, input);
        const stage = await startingStage(tx, principal, input.pipelineId, input.stageId);
        const [created] = await tx
          .insert(leads)
          .values({
            tenantId: principal.tenantId,
            title: input.title,
            pipelineId: input.pipelineId,
            stageId: stage.id,
            contactId: input.contactId ?? null,
            companyId: input.companyId ?? null,
            value: input.value ?? null,
            currency: input.currency ?? null,
            expectedCloseDate: input.expectedCloseDate ?? null,
            ownerUserId: input.ownerUserId ?? null,
            ...placement(stage),
          })
          .returning(leadColumns);
        if (!created) throw new AppError('INTERNAL');
        await recordStageEntry(tx, principal, { leadId: created.id, pipelineId: input.pipelineId, from: null, to: stage });
        await emitEvent(tx, actorOf(principal, ctx), 'lead.created', {
          id: created.id,
          title: created.title,
          pipelineId: created.pipelineId,
          stageId: created.stageId,
          status: created.status,
        });
        return created;
      });
      return toLeadOutput(row);
    }),

  update: tenantProcedure
    .meta({
      scope: 'crm:write',
      summary: 'Change a lead (its stage changes only through move)',
      tags,
      rest: { method: 'PATCH', path: '/crm/leads/{id}' },
    })
    .input(idInput.extend(leadChanges.shape))
    .output(leadOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const { id, ...changes } = input;
      const row = await withTenant(principal, async (tx) => {
        await findLead(tx, principal, id);
        await assertReferences(tx, principal, changes);
        return updateLead(tx, principal, actorOf(principal, ctx), id, changes);
      });
      return toLeadOutput(row);
    }),

  move: tenantProcedure
    .meta({
      scope: 'crm:write',
      summary: "Move a lead to another stage (of any pipeline); recorded in the lead's history",
      tags,
      rest: { method: 'POST', path: '/crm/leads/{id}/move' },
    })
    .input(idInput.extend({ stageId: z.guid() }))
    .output(leadOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const row = await withTenant(principal, async (tx) => {
        // Locked first, so two concurrent moves record one history each, in order.
        const previous = await findLead(tx, principal, input.id, true);
        const target = await findStage(tx, principal, input.stageId).catch(missingAsNull);
        if (!target) {
          throw new AppError('UNPROCESSABLE', 'Some referenced records do not exist.', [
            { path: 'stageId', message: 'no such stage' },
          ]);
        }
        if (target.id === previous.stageId) return previous;
        const from = await findStage(tx, principal, previous.stageId);
        const [moved] = await tx
          .update(leads)
          .set({ pipelineId: target.pipelineId, stageId: target.id, ...placement(target), updatedAt: new Date() })
          .where(and(eq(leads.tenantId, principal.tenantId), eq(leads.id, input.id)))
          .returning(leadColumns);
        if (!moved) throw new AppError('NOT_FOUND');
        await recordStageEntry(tx, principal, { leadId: input.id, pipelineId: target.pipelineId, from, to: target });
        await emitEvent(tx, actorOf(principal, ctx), 'lead.stage_changed', {
          id: input.id,
          pipelineId: target.pipelineId,
          fromStageId: from.id,
          toStageId: target.id,
          status: moved.status,
        });
        return moved;
      });
      return toLeadOutput(row);
    }),

  delete: tenantProcedure
    .meta({
      scope: 'crm:write',
      summary: 'Remove a lead, its history and the activities linked to it alone',
      tags,
      rest: { method: 'DELETE', path: '/crm/leads/{id}' },
    })
    .input(idInput)
    .output(z.object({ deleted: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      await withTenant(ctx.principal, (tx) => deleteLead(tx, ctx.principal, actorOf(ctx.principal, ctx), input.id));
      return { deleted: true as const };
    }),

  bulkUpdate: bulkUpdateProcedure('lead', {
    summary: 'Apply the same changes to up to 100 leads (not their stage: move each); one result per id',
    // Everything an update may change but the title, which names one deal.
    changes: leadChanges.omit({ title: true }),
    check: (tx, principal, changes) => assertReferences(tx, principal, changes),
    updateOne: updateLead,
  }),

  bulkDelete: bulkDeleteProcedure('lead', {
    summary: 'Remove up to 100 leads, with their history and the activities linked to them alone; one result per id',
    deleteOne: deleteLead,
  }),

  history: tenantProcedure
    .meta({
      scope: 'crm:read',
      summary: 'Every stage a lead entered, oldest first',
      tags,
      rest: { method: 'GET', path: '/crm/leads/{id}/history' },
    })
    .input(listInput(['movedAt'], 'movedAt').extend({ id: z.guid() }))
    .output(pageOf(historyOutput))
    .query(({ ctx, input }) =>
      withTenant(ctx.principal, async (tx) => {
        await findLead(tx, ctx.principal, input.id);
        const { where, orderBy, limit } = keyset(input, { movedAt: leadStageHistory.movedAt }, leadStageHistory.id);
        const rows = await tx
          .select(historyColumns)
          .from(leadStageHistory)
          .where(and(eq(leadStageHistory.tenantId, ctx.principal.tenantId), eq(leadStageHistory.leadId, input.id), where))
          .orderBy(...orderBy)
          .limit(limit);
        const result = page(rows, input, (row) => [row.movedAt, row.id]);
        return { items: result.items.map((r) => ({ ...r, movedAt: r.movedAt.toISOString() })), nextCursor: result.nextCursor };
      }),
    ),

  timeline: tenantProcedure
    .meta({
      scope: 'crm:read',
      summary: "A lead's activities, newest first",
      tags,
      rest: { method: 'GET', path: '/crm/leads/{id}/timeline' },
    })
    .input(listInput(ACTIVITY_SORT, '-createdAt').extend({ id: z.guid() }))
    .output(pageOf(activityOutput))
    .query(({ ctx, input }) =>
      withTenant(ctx.principal, async (tx) => {
        await findLead(tx, ctx.principal, input.id);
        return activityPage(tx, ctx.principal, timelineFilter(tx, ctx.principal, { leadId: input.id }), input);
      }),
    ),
});
