import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { toAppError } from '../../api/errors.ts';
import type { Tx } from '../../db/tenant.ts';

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
