import { type SQL, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import { AppError } from '../../api/errors.ts';
import { applyCustomFields, type FieldDefinition } from './custom-fields/validate.ts';

/** Field schemas and small helpers shared by the CRM resources. */

export const idInput = z.object({ id: z.guid() });

export const tagsInput = z
  .array(z.string().trim().min(1).max(50))
  .max(50)
  .transform((tags) => [...new Set(tags)]);

/** The names of the fields a change sets (an optional field left out, or undefined, is not set): what `*.updated` events list. */
export const changedFields = (changes: object): string[] =>
  Object.entries(changes).flatMap(([field, value]) => (value === undefined ? [] : [field]));

/** How a change sets tags: replaced by `tags`; bulk changes add and remove instead. */
export interface TagChanges {
  tags?: string[] | undefined;
  addTags?: string[] | undefined;
  removeTags?: string[] | undefined;
}

/**
 * The columns an update of a record with tags and custom fields writes:
 * the plain changes, the tags as changed, and the custom fields merged into
 * the stored ones and checked against the definitions (required ones too),
 * failing with VALIDATION_FAILED field by field.
 */
export function mergedChanges<C extends TagChanges & { customFields?: Record<string, unknown> | undefined }>(
  previous: { tags: string[]; customFields: Record<string, unknown> },
  changes: C,
  definitions: readonly FieldDefinition[],
) {
  const { customFields, addTags, removeTags, ...plain } = changes;
  const { values, issues } = applyCustomFields(definitions, previous.customFields, customFields);
  if (issues.length > 0) throw new AppError('VALIDATION_FAILED', undefined, issues);
  let tags = changes.tags ?? previous.tags;
  if (addTags) tags = [...new Set([...tags, ...addTags])];
  if (removeTags) tags = tags.filter((t) => !removeTags.includes(t));
  return { ...plain, tags, customFields: values, updatedAt: new Date() };
}

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

/**
 * `column` starts with the lower-cased `prefix`, as a range an index on `(tenant_id, column text_pattern_ops)`
 * can serve inside a tenant. Under row-level security PostgreSQL lets only leakproof conditions drive an
 * index scan; `lower()` and `LIKE` are not leakproof, the pattern comparisons `~>=~` and `~<~` are. So the
 * column holds lower-cased text already (a stored generated column) and the bounds are parameters:
 * text_pattern_ops compares bytes, UTF-8 bytes sort as code points, and every string that starts with the
 * prefix lies between it and the prefix with its last code point incremented.
 */
export function startsWith(column: AnyPgColumn, prefix: string): SQL {
  const from = prefix.toLowerCase();
  const to = prefixUpperBound(from);
  return to === null ? sql`${column} ~>=~ ${from}` : sql`(${column} ~>=~ ${from} and ${column} ~<~ ${to})`;
}

/** The least string above every string that starts with `prefix`, or null when there is none. */
function prefixUpperBound(prefix: string): string | null {
  const points = [...prefix].map((c) => c.codePointAt(0) ?? 0);
  while (points.length > 0) {
    const last = points.pop() ?? 0;
    if (last < 0x10ffff) {
      // Surrogate code points are not characters; the next one after them is U+E000.
      const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
      return String.fromCodePoint(...points, next);
    }
  }
  return null;
}
