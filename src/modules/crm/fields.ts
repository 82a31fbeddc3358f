import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';

/** Field schemas and small helpers shared by the CRM resources. */

export const idInput = z.object({ id: z.guid() });

export const tagsInput = z
  .array(z.string().trim().min(1).max(50))
  .max(50)
  .transform((tags) => [...new Set(tags)]);

export const emailInput = z.email().max(320);

/** A decimal amount with at most 12 integer and 2 fractional digits, kept as a string so nothing is rounded. */
export const moneyInput = z
  .union([z.number().nonnegative(), z.string().trim()])
  .transform((v) => String(v))
  .refine((v) => /^\d{1,12}(\.\d{1,2})?$/.test(v), 'a non-negative amount with at most 2 decimals');

export const currencyInput = z
  .string()
  .trim()
  .transform((v) => v.toUpperCase())
  .refine((v) => /^[A-Z]{3}$/.test(v), 'an ISO 4217 code such as EUR');

export const dateInput = z.iso.date();

export { iso } from '../../api/output.ts';

export const deletedFilter = z.enum(['exclude', 'include', 'only']).default('exclude');

/** Query-string booleans arrive as text; `z.coerce.boolean()` would read "false" as true. */
export const queryBoolean = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

/**
 * A tsquery that matches documents containing every word of `text` as a word
 * prefix ("ann smi" finds "Ann Smith"). Only letters and digits survive, so
 * the query text cannot carry tsquery operators; it is still a bound value.
 * Returns null when nothing searchable is left.
 */
export function prefixTsquery(text: string): string | null {
  const terms = text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .slice(0, 10);
  return terms.length === 0 ? null : terms.map((t) => `${t}:*`).join(' & ');
}

/** `document @@ <prefix query of text>`, or a predicate that matches nothing when the text has no words. */
export function matchesText(document: SQL, text: string): SQL {
  const query = prefixTsquery(text);
  return query === null ? sql`false` : sql`${document} @@ to_tsquery('simple', ${query})`;
}

/** A LIKE pattern for "starts with", with LIKE's own wildcards escaped. */
export function startsWith(prefix: string): string {
  return `${prefix.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
