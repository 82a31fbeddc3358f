import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { AppError, toAppError } from '../../api/errors.ts';
import { tenantProcedure } from '../../api/procedures.ts';
import { actorOf, recordAudit } from '../../audit/record.ts';
import { type TenantPrincipal, type Tx, withTenant } from '../../db/tenant.ts';
import type { EventActor } from '../../events/emit.ts';
import type { CustomFieldEntity } from './custom-fields/schema.ts';
import { applyCustomFields, type FieldDefinition, loadDefinitions } from './custom-fields/validate.ts';
import { tagsInput } from './fields.ts';

/** At most one page of ids per bulk request, so a request's transaction stays short. */
export const MAX_BULK_IDS = 100;

export const bulkIds = z
  .array(z.guid())
  .min(1)
  .max(MAX_BULK_IDS)
  .transform((ids) => [...new Set(ids)]);

export const bulkOutput = z.object({
  items: z.array(
    z.object({
      id: z.guid(),
      status: z.enum(['updated', 'deleted', 'failed']),
      error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }).optional(),
    }),
  ),
});

export type BulkItem = z.infer<typeof bulkOutput>['items'][number];

/**
 * Runs `act` for every id inside the caller's transaction, each behind a
 * savepoint: an item that fails (missing, invalid, a conflict) is rolled back
 * alone and reported with its error code, the others stay. Errors of our own
 * (5xx) abort the whole request.
 */
export async function eachItem(
  tx: Tx,
  ids: readonly string[],
  success: 'updated' | 'deleted',
  act: (id: string) => Promise<void>,
): Promise<BulkItem[]> {
  const results: BulkItem[] = [];
  for (const id of ids) {
    await tx.execute(sql`savepoint crm_bulk_item`);
    try {
      await act(id);
      await tx.execute(sql`release savepoint crm_bulk_item`);
      results.push({ id, status: success });
    } catch (error) {
      const appError = toAppError(error);
      if (appError.status >= 500) throw error;
      await tx.execute(sql`rollback to savepoint crm_bulk_item`);
      results.push({
        id,
        status: 'failed',
        error: {
          code: appError.code,
          message: appError.message,
          ...(appError.details === undefined ? {} : { details: appError.details }),
        },
      });
    }
  }
  return results;
}

/** The resources with bulk routes, by the singular that names their events and audit entries. */
const BULK_PATHS = { contact: '/crm/contacts', company: '/crm/companies', lead: '/crm/leads' } as const;
export type BulkResource = keyof typeof BULK_PATHS;

const hasAChange = (changes: Record<string, unknown>) => Object.values(changes).some((v) => v !== undefined);

/** Bulk changes may add and remove tags besides replacing them. */
export const tagChanges = { addTags: tagsInput.optional(), removeTags: tagsInput.optional() };

/**
 * The tenant's custom field definitions for a bulk update. The values, the
 * same for every item, are checked once, for their shapes only: a required
 * field may be filled on one item and not on another, which is checked per
 * item on the merged values.
 */
export async function bulkDefinitions(
  tx: Tx,
  principal: TenantPrincipal,
  entity: CustomFieldEntity,
  customFields: Record<string, unknown> | undefined,
): Promise<FieldDefinition[]> {
  const definitions = await loadDefinitions(tx, principal, entity);
  const shapes = applyCustomFields(
    definitions.map((d) => ({ ...d, required: false })),
    {},
    customFields,
  );
  if (shapes.issues.length > 0) {
    throw new AppError(
      'VALIDATION_FAILED',
      undefined,
      shapes.issues.map((i) => ({ ...i, path: `changes.${i.path}` })),
    );
  }
  return definitions;
}

/** A bulk route's meta: `POST /crm/<resources>/bulk-<action>`, for members and crm:write keys. */
const bulkMeta = (resource: BulkResource, action: 'update' | 'delete', summary: string) => ({
  scope: 'crm:write' as const,
  summary,
  tags: ['crm'],
  rest: { method: 'POST' as const, path: `${BULK_PATHS[resource]}/bulk-${action}` },
});

export interface BulkUpdate<Changes extends z.ZodType<Record<string, unknown>>, Checked> {
  summary: string;
  /** What may be set on many records at once: nothing that identifies one of them. */
  changes: Changes;
  /** Checks what is the same for every item, once: a failure here fails the whole request. */
  check(tx: Tx, principal: TenantPrincipal, changes: z.output<Changes>): Promise<Checked>;
  /** Changes one item and emits its event; a failure fails that item alone. */
  updateOne(
    tx: Tx,
    principal: TenantPrincipal,
    actor: EventActor,
    id: string,
    changes: z.output<Changes>,
    checked: Checked,
  ): Promise<unknown>;
}

/**
 * `{ ids, changes }`, typed by the resource's changes. Written out because
 * TypeScript cannot see through z.object's mapped type while `Changes` is
 * still a type parameter; the schema is exactly what the cast says.
 */
const bulkUpdateInput = <Changes extends z.ZodType<Record<string, unknown>>>(changes: Changes) =>
  z.object({ ids: bulkIds, changes: changes.refine(hasAChange, 'name at least one change') }) as unknown as z.ZodType<
    { ids: string[]; changes: z.output<Changes> },
    { ids: string[]; changes: z.input<Changes> }
  >;

/** `POST /crm/<resources>/bulk-update { ids, changes }`: the same changes on up to 100 records, one result per id. */
export function bulkUpdateProcedure<Changes extends z.ZodType<Record<string, unknown>>, Checked>(
  resource: BulkResource,
  spec: BulkUpdate<Changes, Checked>,
) {
  return tenantProcedure
    .meta(bulkMeta(resource, 'update', spec.summary))
    .input(bulkUpdateInput(spec.changes))
    .output(bulkOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const { changes } = input;
      const items = await withTenant(principal, async (tx) => {
        const checked = await spec.check(tx, principal, changes);
        const actor = actorOf(principal, ctx);
        return eachItem(tx, input.ids, 'updated', async (id) => {
          await spec.updateOne(tx, principal, actor, id, changes, checked);
        });
      });
      return { items };
    });
}

/**
 * `POST /crm/<resources>/bulk-delete { ids }`: deletes up to 100 records, one
 * result per id, and records one audit entry (`<resource>.bulk_deleted`) naming
 * those deleted, in the same transaction.
 */
export function bulkDeleteProcedure(
  resource: BulkResource,
  spec: {
    summary: string;
    /** Deletes one item and emits its event; NOT_FOUND when it is missing. */
    deleteOne(tx: Tx, principal: TenantPrincipal, actor: EventActor, id: string): Promise<void>;
  },
) {
  return tenantProcedure
    .meta(bulkMeta(resource, 'delete', spec.summary))
    .input(z.object({ ids: bulkIds }))
    .output(bulkOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const items = await withTenant(principal, async (tx) => {
        const actor = actorOf(principal, ctx);
        const results = await eachItem(tx, input.ids, 'deleted', (id) => spec.deleteOne(tx, principal, actor, id));
        const deleted = results.filter((r) => r.status === 'deleted').map((r) => r.id);
        if (deleted.length > 0) {
          await recordAudit(tx, actor, {
            action: `${resource}.bulk_deleted`,
            targetType: resource,
            data: { ids: deleted, count: deleted.length },
          });
        }
        return results;
      });
      return { items };
    });
}
