import { sql } from 'drizzle-orm';
import { boolean, check, foreignKey, index, integer, text, unique, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { tenantTable, timestamps } from '../../../db/tenant-table.ts';

/** A sales process: an ordered list of stages that leads move through. */
export const pipelines = tenantTable(
  'crm_pipelines',
  {
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    ...timestamps,
  },
  {
    key: ['id'],
    extra: (t) => [
      uniqueIndex('crm_pipelines_name_key').on(t.tenantId, t.name),
      check('crm_pipelines_name_check', sql.raw('char_length(name) between 1 and 100')),
    ],
  },
);

export const stages = tenantTable(
  'crm_pipeline_stages',
  {
    id: uuid('id').notNull().defaultRandom(),
    pipelineId: uuid('pipeline_id').notNull(),
    name: text('name').notNull(),
    /** 0-based order within the pipeline; kept dense by the procedures. */
    position: integer('position').notNull(),
    /** Percent, 0 to 100. */
    winProbability: integer('win_probability').notNull().default(0),
    isWon: boolean('is_won').notNull().default(false),
    isLost: boolean('is_lost').notNull().default(false),
    ...timestamps,
  },
  {
    key: ['id'],
    extra: (t) => [
      foreignKey({
        name: 'crm_pipeline_stages_pipeline_fk',
        columns: [t.tenantId, t.pipelineId],
        foreignColumns: [pipelines.tenantId, pipelines.id],
      }).onDelete('cascade'),
      // Lets a lead's foreign key require that its stage belongs to its pipeline.
      unique('crm_pipeline_stages_pipeline_stage_key').on(t.tenantId, t.pipelineId, t.id),
      index('crm_pipeline_stages_position_idx').on(t.tenantId, t.pipelineId, t.position),
      check('crm_pipeline_stages_name_check', sql.raw('char_length(name) between 1 and 100')),
      check('crm_pipeline_stages_position_check', sql.raw('position >= 0')),
      check('crm_pipeline_stages_probability_check', sql.raw('win_probability between 0 and 100')),
      check('crm_pipeline_stages_outcome_check', sql.raw('not (is_won and is_lost)')),
    ],
  },
);
