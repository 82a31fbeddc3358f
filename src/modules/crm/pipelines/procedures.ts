import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import { keyset, listInput, page, pageOf } from '../../../api/pagination.ts';
import { router, tenantProcedure } from '../../../api/procedures.ts';
import { actorOf } from '../../../audit/record.ts';
import { type TenantPrincipal, type Tx, withTenant } from '../../../db/tenant.ts';
import { emitEvent } from '../../../events/emit.ts';
import { idInput } from '../fields.ts';
import { leads } from '../leads/schema.ts';
import { findPipeline, findStage, pipelineColumns, pipelineOutput, renumber, statusOf, withStages } from './model.ts';
import { pipelines, stages } from './schema.ts';

const MAX_STAGES = 50;

const stageFields = {
  name: z.string().trim().min(1).max(100),
  winProbability: z.number().int().min(0).max(100),
  isWon: z.boolean(),
  isLost: z.boolean(),
};

const neverWonAndLost = (s: { isWon?: boolean | undefined; isLost?: boolean | undefined }) => !(s.isWon && s.isLost);
const wonAndLost = { message: 'a stage cannot be both won and lost', path: ['isLost'] };

const stageInput = z
  .object({
    name: stageFields.name,
    winProbability: stageFields.winProbability.default(0),
    isWon: stageFields.isWon.default(false),
    isLost: stageFields.isLost.default(false),
  })
  .refine(neverWonAndLost, wonAndLost);

async function countLeads(tx: Tx, principal: TenantPrincipal, where: { pipelineId: string } | { stageId: string }) {
  const [row] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(leads)
    .where(
      and(
        eq(leads.tenantId, principal.tenantId),
        'pipelineId' in where ? eq(leads.pipelineId, where.pipelineId) : eq(leads.stageId, where.stageId),
      ),
    );
  return row?.n ?? 0;
}

const tags = ['crm'];

/**
 * Pipelines and their stages. Members manage them, like the leads in them;
 * a pipeline or stage that still holds leads cannot be removed.
 */
export const pipelinesRouter = router({
  list: tenantProcedure
    .meta({ scope: 'crm:read', summary: 'Pipelines with their stages', tags, rest: { method: 'GET', path: '/crm/pipelines' } })
    .input(listInput(['name', 'createdAt'], 'name'))
    .output(pageOf(pipelineOutput))
    .query(({ ctx, input }) =>
      withTenant(ctx.principal, async (tx) => {
        const { where, orderBy, limit } = keyset(input, { name: pipelines.name, createdAt: pipelines.createdAt }, pipelines.id);
        const rows = await tx
          .select(pipelineColumns)
          .from(pipelines)
          .where(and(eq(pipelines.tenantId, ctx.principal.tenantId), where))
          .orderBy(...orderBy)
          .limit(limit);
        const result = page(rows, input, (row, field) => [row[field as 'name' | 'createdAt'], row.id]);
        return { items: await withStages(tx, ctx.principal, result.items), nextCursor: result.nextCursor };
      }),
    ),

  get: tenantProcedure
    .meta({
      scope: 'crm:read',
      summary: 'One pipeline with its stages',
      tags,
      rest: { method: 'GET', path: '/crm/pipelines/{id}' },
    })
    .input(idInput)
    .output(pipelineOutput)
    .query(({ ctx, input }) => withTenant(ctx.principal, (tx) => findPipeline(tx, ctx.principal, input.id))),

  create: tenantProcedure
    .meta({
      scope: 'crm:write',
      summary: 'Add a pipeline with its stages, in order',
      tags,
      rest: { method: 'POST', path: '/crm/pipelines', status: 201 },
    })
    .input(z.object({ name: z.string().trim().min(1).max(100), stages: z.array(stageInput).min(1).max(MAX_STAGES) }))
    .output(pipelineOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      return withTenant(principal, async (tx) => {
        const [created] = await tx
          .insert(pipelines)
          .values({ tenantId: principal.tenantId, name: input.name })
          .returning({ id: pipelines.id });
        if (!created) throw new AppError('INTERNAL');
        await tx
          .insert(stages)
          .values(input.stages.map((s, position) => ({ tenantId: principal.tenantId, pipelineId: created.id, position, ...s })));
        await emitEvent(tx, actorOf(principal, ctx), 'pipeline.created', { id: created.id, name: input.name });
        return findPipeline(tx, principal, created.id);
      });
    }),

  update: tenantProcedure
    .meta({ scope: 'crm:write', summary: 'Rename a pipeline', tags, rest: { method: 'PATCH', path: '/crm/pipelines/{id}' } })
    .input(idInput.extend({ name: z.string().trim().min(1).max(100) }))
    .output(pipelineOutput)
    .mutation(({ ctx, input }) =>
      withTenant(ctx.principal, async (tx) => {
        const [updated] = await tx
          .update(pipelines)
          .set({ name: input.name, updatedAt: new Date() })
          .where(and(eq(pipelines.tenantId, ctx.principal.tenantId), eq(pipelines.id, input.id)))
          .returning({ id: pipelines.id });
        if (!updated) throw new AppError('NOT_FOUND');
        await emitEvent(tx, actorOf(ctx.principal, ctx), 'pipeline.updated', { id: input.id, fields: ['name'] });
        return findPipeline(tx, ctx.principal, input.id);
      }),
    ),

  delete: tenantProcedure
    .meta({
      scope: 'crm:write',
      summary: 'Remove a pipeline and its stages; refused while it holds leads',
      tags,
      rest: { method: 'DELETE', path: '/crm/pipelines/{id}' },
    })
    .input(idInput)
    .output(z.object({ deleted: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      await withTenant(principal, async (tx) => {
        await findPipeline(tx, principal, input.id, true);
        if ((await countLeads(tx, principal, { pipelineId: input.id })) > 0) {
          throw new AppError('UNPROCESSABLE', 'The pipeline still holds leads: move or delete them first.');
        }
        await tx.delete(pipelines).where(and(eq(pipelines.tenantId, principal.tenantId), eq(pipelines.id, input.id)));
        await emitEvent(tx, actorOf(principal, ctx), 'pipeline.deleted', { id: input.id });
      });
      return { deleted: true as const };
    }),

  addStage: tenantProcedure
    .meta({
      scope: 'crm:write',
      summary: 'Add a stage to a pipeline, at the end or at a position',
      tags,
      rest: { method: 'POST', path: '/crm/pipelines/{id}/stages', status: 201 },
    })
    .input(
      z
        .object({ id: z.guid(), position: z.number().int().min(0).optional() })
        .extend(stageInput.shape)
        .refine(neverWonAndLost, wonAndLost),
    )
    .output(pipelineOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const { id, position, ...stage } = input;
      return withTenant(principal, async (tx) => {
        const pipeline = await findPipeline(tx, principal, id, true);
        if (pipeline.stages.length >= MAX_STAGES)
          throw new AppError('UNPROCESSABLE', `At most ${MAX_STAGES} stages per pipeline.`);
        const [created] = await tx
          .insert(stages)
          .values({ tenantId: principal.tenantId, pipelineId: id, position: pipeline.stages.length, ...stage })
          .returning({ id: stages.id });
        if (!created) throw new AppError('INTERNAL');
        const order = pipeline.stages.map((s) => s.id);
        order.splice(Math.min(position ?? order.length, order.length), 0, created.id);
        await renumber(tx, principal, order);
        await emitEvent(tx, actorOf(principal, ctx), 'pipeline_stage.created', { id: created.id, pipelineId: id });
        return findPipeline(tx, principal, id);
      });
    }),

  updateStage: tenantProcedure
    .meta({
      scope: 'crm:write',
      summary: "Change or move a stage; changing its won/lost flags updates its leads' status",
      tags,
      rest: { method: 'PATCH', path: '/crm/stages/{id}' },
    })
    .input(
      idInput
        .extend({
          name: stageFields.name.optional(),
          winProbability: stageFields.winProbability.optional(),
          isWon: stageFields.isWon.optional(),
          isLost: stageFields.isLost.optional(),
          position: z.number().int().min(0).optional(),
        })
        .refine(neverWonAndLost, wonAndLost),
    )
    .output(pipelineOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const { id, position, ...changes } = input;
      return withTenant(principal, async (tx) => {
        const current = await findStage(tx, principal, id);
        const pipeline = await findPipeline(tx, principal, current.pipelineId, true);
        const next = { ...current, ...changes };
        if (next.isWon && next.isLost) {
          throw new AppError('VALIDATION_FAILED', undefined, [{ path: 'isLost', message: wonAndLost.message }]);
        }
        await tx
          .update(stages)
          .set({ ...changes, updatedAt: new Date() })
          .where(and(eq(stages.tenantId, principal.tenantId), eq(stages.id, id)));
        if (next.isWon !== current.isWon || next.isLost !== current.isLost) {
          const status = statusOf(next);
          await tx
            .update(leads)
            .set({ status, closedAt: status === 'open' ? null : new Date(), updatedAt: new Date() })
            .where(and(eq(leads.tenantId, principal.tenantId), eq(leads.stageId, id)));
        }
        if (position !== undefined) {
          const order = pipeline.stages.map((s) => s.id).filter((s) => s !== id);
          order.splice(Math.min(position, order.length), 0, id);
          await renumber(tx, principal, order);
        }
        const fields = Object.keys(input).filter((k) => k !== 'id');
        await emitEvent(tx, actorOf(principal, ctx), 'pipeline_stage.updated', { id, pipelineId: current.pipelineId, fields });
        return findPipeline(tx, principal, current.pipelineId);
      });
    }),

  deleteStage: tenantProcedure
    .meta({
      scope: 'crm:write',
      summary: "Remove a stage; refused while it holds leads or if it is the pipeline's last",
      tags,
      rest: { method: 'DELETE', path: '/crm/stages/{id}' },
    })
    .input(idInput)
    .output(pipelineOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      return withTenant(principal, async (tx) => {
        const stage = await findStage(tx, principal, input.id);
        const pipeline = await findPipeline(tx, principal, stage.pipelineId, true);
        if (pipeline.stages.length <= 1) throw new AppError('UNPROCESSABLE', 'A pipeline keeps at least one stage.');
        if ((await countLeads(tx, principal, { stageId: input.id })) > 0) {
          throw new AppError('UNPROCESSABLE', 'The stage still holds leads: move them first.');
        }
        await tx.delete(stages).where(and(eq(stages.tenantId, principal.tenantId), eq(stages.id, input.id)));
        await renumber(
          tx,
          principal,
          pipeline.stages.map((s) => s.id).filter((s) => s !== input.id),
        );
        await emitEvent(tx, actorOf(principal, ctx), 'pipeline_stage.deleted', { id: input.id, pipelineId: stage.pipelineId });
        return findPipeline(tx, principal, stage.pipelineId);
      });
    }),
});
