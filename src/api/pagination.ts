import { type AnyColumn, asc, desc, type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from './errors.ts';

/** Query-string booleans arrive as text; `z.coerce.boolean()` would read "false" as true. */
export const queryBoolean = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

/**
 * Cursor pagination with sorting from an allowlist. `sort` is one of the
 * allowed fields, optionally prefixed with `-` for descending; anything else
 * fails validation (400). The cursor is opaque: the last row's sort value and
 * id, so pages stay stable while rows are added.
 */
export function listInput<const F extends readonly [string, ...string[]]>(sortFields: F, defaultSort: string = sortFields[0]) {
  const options = [...sortFields, ...sortFields.map((f) => `-${f}`)] as [string, ...string[]];
  return z.object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(512).optional(),
    sort: z.enum(options).default(defaultSort),
  });
}

export type ListInput = { limit: number; cursor?: string | undefined; sort: string };

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

interface Keyset {
  where: SQL | undefined;
  orderBy: SQL[];
  limit: number;
}

/** The WHERE, ORDER BY and LIMIT of one page, given the allowed sort columns and the row id column. */
export function keyset(input: ListInput, columns: Record<string, AnyColumn>, idColumn: AnyColumn): Keyset {
  const descending = input.sort.startsWith('-');
  const field = descending ? input.sort.slice(1) : input.sort;
  const column = columns[field];
  if (!column) throw new AppError('VALIDATION_FAILED', undefined, [{ path: 'sort', message: 'unknown sort field' }]);
  const order = descending ? desc : asc;
  let where: SQL | undefined;
  if (input.cursor) {
    const [value, id] = decodeCursor(input.cursor);
    where = descending ? sql`(${column}, ${idColumn}) < (${value}, ${id})` : sql`(${column}, ${idColumn}) > (${value}, ${id})`;
  }
  return { where, orderBy: [order(column), order(idColumn)], limit: input.limit + 1 };
}

/** Trims the extra row fetched by `keyset` and builds the next cursor from the last row kept. */
export function page<R>(rows: R[], input: ListInput, cursorOf: (row: R, field: string) => [unknown, string]) {
  const field = input.sort.replace(/^-/, '');
  const items = rows.slice(0, input.limit);
  const last = items.at(-1);
  const nextCursor = rows.length > input.limit && last ? encodeCursor(cursorOf(last, field)) : null;
  return { items, nextCursor };
}

function encodeCursor([value, id]: [unknown, string]): string {
  const plain = value instanceof Date ? value.toISOString() : value;
  return Buffer.from(JSON.stringify([plain, id])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[1] === 'string' && parsed[0] !== null) {
      return [String(parsed[0]), parsed[1]];
    }
  } catch {
    // fall through to the validation error
  }
  throw new AppError('VALIDATION_FAILED', undefined, [{ path: 'cursor', message: 'invalid cursor' }]);
}
