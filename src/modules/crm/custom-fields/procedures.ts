import { and, asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import { adminProcedure, router, tenantProcedure } from '../../../api/procedures.ts';
import { actorOf, changeSummary, recordAudit } from '../../../audit/record.ts';
import { type TenantPrincipal, type Tx, withTenant } from '../../../db/tenant.ts';
import { emitEvent } from '../../../events/emit.ts';
import { companies } from '../companies/schema.ts';
import { contacts } from '../contacts/schema.ts';
import { idInput } from '../fields.ts';
import {
  CUSTOM_FIELD_ENTITIES,
  CUSTOM_FIELD_KEY,
  CUSTOM_FIELD_TYPES,
  type CustomFieldEntity,
  customFieldDefinitions,
} from './schema.ts';

/** Enough for any real form; keeps validation and the CSV header bounded. */
const MAX_DEFINITIONS_PER_ENTITY = 100;

const definitionOutput = z.object({
  id: z.guid(),
  entity: z.enum(CUSTOM_FIELD_ENTITIES),
  key: z.string(),
  label: z.string(),
  type: z.enum(CUSTOM_FIELD_TYPES),
  options: z.array(z.string()),
  required: z.boolean(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const definitionColumns = {
  id: customFieldDefinitions.id,
  entity: customFieldDefinitions.entity,
  key: customFieldDefinitions.key,
  label: customFieldDefinitions.label,
  type: customFieldDefinitions.type,
  options: customFieldDefinitions.options,
  required: customFieldDefinitions.required,
  createdAt: customFieldDefinitions.createdAt,
  updatedAt: customFieldDefinitions.updatedAt,
};

type DefinitionRow = Pick<typeof customFieldDefinitions.$inferSelect, keyof typeof definitionColumns>;

const toOutput = (row: DefinitionRow) => ({
  ...row,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

const optionsInput = z
  .array(z.string().trim().min(1).max(100))
  .max(100)
  .transform((o) => [...new Set(o)]);

async function findDefinition(tx: Tx, principal: TenantPrincipal, id: string): Promise<DefinitionRow> {
  const [row] = await tx
    .select(definitionColumns)
    .from(customFieldDefinitions)
    .where(and(eq(customFieldDefinitions.tenantId, principal.tenantId), eq(customFieldDefinitions.id, id)));
  if (!row) throw new AppError('NOT_FOUND');
  return row;
}

function checkOptions(type: string, options: string[]): void {
  if (type === 'select' && options.length === 0) {
    throw new AppError('VALIDATION_FAILED', undefined, [
      { path: 'options', message: 'a select field needs at least one option' },
    ]);
  }
  if (type !== 'select' && options.length > 0) {
    throw new AppError('VALIDATION_FAILED', undefined, [{ path: 'options', message: 'only select fields have options' }]);
  }
}

/** Removes a field's values from every record of the entity, so no record keeps a value no definition describes. */
async function dropValues(tx: Tx, principal: TenantPrincipal, entity: CustomFieldEntity, key: string): Promise<void> {
  const table = entity === 'contacts' ? contacts : companies;
  await tx
    .update(table)
    .set({ customFields: sql`${table.customFields} - ${key}::text` })
    .where(and(eq(table.tenantId, principal.tenantId), sql`${table.customFields} ? ${key}::text`));
}

const tags = ['crm'];

/**
 * Custom field definitions: members read them (forms, imports), admins
 * manage them. Every change is audited.
 */
export const customFieldsRouter = router({
  list: tenantProcedure
    .meta({
      scope: 'crm:read',
      summary: 'Custom field definitions of contacts and companies',
      tags,
      rest: { method: 'GET', path: '/crm/custom-fields' },
    })
    .input(z.object({ entity: z.enum(CUSTOM_FIELD_ENTITIES).optional() }))
    .output(z.object({ items: z.array(definitionOutput) }))
    .query(async ({ ctx, input }) => {
      const rows = await withTenant(ctx.principal, (tx) =>
        tx
          .select(definitionColumns)
          .from(customFieldDefinitions)
          .where(
            and(
              eq(customFieldDefinitions.tenantId, ctx.principal.tenantId),
              input.entity ? eq(customFieldDefinitions.entity, input.entity) : undefined,
            ),
          )
          .orderBy(asc(customFieldDefinitions.entity), asc(customFieldDefinitions.key))
          .limit(MAX_DEFINITIONS_PER_ENTITY * CUSTOM_FIELD_ENTITIES.length),
      );
      return { items: rows.map(toOutput) };
    }),

  create: adminProcedure
    .meta({
      scope: 'crm:write',
      summary: 'Define a custom field (admin)',
      tags,
      rest: { method: 'POST', path: '/crm/custom-fields', status: 201 },
    })
    .input(
      z.object({
        entity: z.enum(CUSTOM_FIELD_ENTITIES),
        key: z.string().regex(CUSTOM_FIELD_KEY, 'lower-case letters, digits and _, starting with a letter'),
        label: z.string().trim().min(1).max(100),
        type: z.enum(CUSTOM_FIELD_TYPES),
        options: optionsInput.default([]),
        required: z.boolean().default(false),
      }),
    )
    .output(definitionOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      checkOptions(input.type, input.options);
      const row = await withTenant(principal, async (tx) => {
        const [count] = await tx
          .select({ n: sql<number>`count(*)::int` })
          .from(customFieldDefinitions)
          .where(and(eq(customFieldDefinitions.tenantId, principal.tenantId), eq(customFieldDefinitions.entity, input.entity)));
        if ((count?.n ?? 0) >= MAX_DEFINITIONS_PER_ENTITY) {
          throw new AppError('UNPROCESSABLE', `At most ${MAX_DEFINITIONS_PER_ENTITY} custom fields per entity.`);
        }
        const [created] = await tx
          .insert(customFieldDefinitions)
          .values({ tenantId: principal.tenantId, ...input })
          .returning(definitionColumns);
        if (!created) throw new AppError('INTERNAL');
        const summary = { entity: input.entity, key: input.key, type: input.type, required: input.required };
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'custom_field.created',
          targetType: 'custom_field',
          targetId: created.id,
          after: { ...summary, label: input.label, options: input.options },
        });
        await emitEvent(tx, actorOf(principal, ctx), 'custom_field.created', { id: created.id, ...summary });
        return created;
      });
      return toOutput(row);
    }),

  update: adminProcedure
    .meta({
      scope: 'crm:write',
      summary: "Change a custom field's label, options or required flag (admin); its key and type are fixed",
      tags,
      rest: { method: 'PATCH', path: '/crm/custom-fields/{id}' },
    })
    .input(
      idInput.extend({
        label: z.string().trim().min(1).max(100).optional(),
        options: optionsInput.optional(),
        required: z.boolean().optional(),
      }),
    )
    .output(definitionOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const { id, ...changes } = input;
      const row = await withTenant(principal, async (tx) => {
        const previous = await findDefinition(tx, principal, id);
        if (changes.options) checkOptions(previous.type, changes.options);
        const [updated] = await tx
          .update(customFieldDefinitions)
          .set({ ...changes, updatedAt: new Date() })
          .where(and(eq(customFieldDefinitions.tenantId, principal.tenantId), eq(customFieldDefinitions.id, id)))
          .returning(definitionColumns);
        if (!updated) throw new AppError('NOT_FOUND');
        const fields = Object.keys(changes) as (keyof typeof changes)[];
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'custom_field.updated',
          targetType: 'custom_field',
          targetId: id,
          ...changeSummary(previous, updated, fields),
        });
        await emitEvent(tx, actorOf(principal, ctx), 'custom_field.updated', { id, key: updated.key, fields });
        return updated;
      });
      return toOutput(row);
    }),

  delete: adminProcedure
    .meta({
      scope: 'crm:write',
      summary: 'Remove a custom field and its values from every record (admin)',
      tags,
      rest: { method: 'DELETE', path: '/crm/custom-fields/{id}' },
    })
    .input(idInput)
    .output(z.object({ deleted: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      await withTenant(principal, async (tx) => {
        const [deleted] = await tx
          .delete(customFieldDefinitions)
          .where(and(eq(customFieldDefinitions.tenantId, principal.tenantId), eq(customFieldDefinitions.id, input.id)))
          .returning({ entity: customFieldDefinitions.entity, key: customFieldDefinitions.key });
        if (!deleted) throw new AppError('NOT_FOUND');
        await dropValues(tx, principal, deleted.entity, deleted.key);
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'custom_field.deleted',
          targetType: 'custom_field',
          targetId: input.id,
          before: { entity: deleted.entity, key: deleted.key },
        });
        await emitEvent(tx, actorOf(principal, ctx), 'custom_field.deleted', { id: input.id, ...deleted });
      });
      return { deleted: true as const };
    }),
});
