import { and, asc, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import type { TenantPrincipal, Tx } from '../../../db/tenant.ts';
import type { LeadStatus } from '../leads/schema.ts';
import { pipelines, stages } from './schema.ts';

export const stageOutput = z.object({
  id: z.guid(),
  pipelineId: z.guid(),
  name: z.string(),
  position: z.number().int(),
  winProbability: z.number().int(),
  isWon: z.boolean(),
  isLost: z.boolean(),
});

export const pipelineOutput = z.object({
  id: z.guid(),
  name: z.string(),
  stages: z.array(stageOutput),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

export const stageColumns = {
  id: stages.id,
  pipelineId: stages.pipelineId,
  name: stages.name,
  position: stages.position,
  winProbability: stages.winProbability,
  isWon: stages.isWon,
  isLost: stages.isLost,
};

export type StageRow = z.infer<typeof stageOutput>;

export const pipelineColumns = {
  id: pipelines.id,
  name: pipelines.name,
  createdAt: pipelines.createdAt,
  updatedAt: pipelines.updatedAt,
};

type PipelineRow = Pick<typeof pipelines.$inferSelect, keyof typeof pipelineColumns>;

/** A lead's status follows its stage. */
export const statusOf = (stage: { isWon: boolean; isLost: boolean }): LeadStatus =>
  stage.isWon ? 'won' : stage.isLost ? 'lost' : 'open';

export async function stagesOf(tx: Tx, principal: TenantPrincipal, pipelineIds: string[]): Promise<StageRow[]> {
  if (pipelineIds.length === 0) return [];
  return tx
    .select(stageColumns)
    .from(stages)
    .where(and(eq(stages.tenantId, principal.tenantId), inArray(stages.pipelineId, pipelineIds)))
    .orderBy(asc(stages.pipelineId), asc(stages.position), asc(stages.id));
}

export async function withStages(tx: Tx, principal: TenantPrincipal, rows: PipelineRow[]) {
  const all = await stagesOf(
    tx,
    principal,
    rows.map((r) => r.id),
  );
  return rows.map((row) => ({
    ...row,
    stages: all.filter((s) => s.pipelineId === row.id),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  }));
}

/** A pipeline with its stages; locks the pipeline row when its structure is about to change. */
export async function findPipeline(tx: Tx, principal: TenantPrincipal, id: string, lock = false) {
  const query = tx
    .select(pipelineColumns)
    .from(pipelines)
    .where(and(eq(pipelines.tenantId, principal.tenantId), eq(pipelines.id, id)));
  const [row] = lock ? await query.for('update') : await query;
  if (!row) throw new AppError('NOT_FOUND');
  const [result] = await withStages(tx, principal, [row]);
  if (!result) throw new AppError('NOT_FOUND');
  return result;
}

export async function findStage(tx: Tx, principal: TenantPrincipal, id: string): Promise<StageRow> {
  const [row] = await tx
    .select(stageColumns)
    .from(stages)
    .where(and(eq(stages.tenantId, principal.tenantId), eq(stages.id, id)));
  if (!row) throw new AppError('NOT_FOUND');
  return row;
}

/** Writes positions 0..n-1 in the given order, so positions stay dense and unambiguous. */
export async function renumber(tx: Tx, principal: TenantPrincipal, orderedIds: string[]): Promise<void> {
  for (const [position, id] of orderedIds.entries()) {
    await tx
      .update(stages)
      .set({ position, updatedAt: new Date() })
      .where(and(eq(stages.tenantId, principal.tenantId), eq(stages.id, id)));
  }
}
