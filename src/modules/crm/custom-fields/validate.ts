import { and, eq } from 'drizzle-orm';
import type { FieldIssue } from '../../../api/errors.ts';
import type { TenantPrincipal, Tx } from '../../../db/tenant.ts';
import { type CustomFieldEntity, type CustomFieldType, customFieldDefinitions } from './schema.ts';

export interface FieldDefinition {
  key: string;
  type: CustomFieldType;
  options: string[];
  required: boolean;
}

export async function loadDefinitions(tx: Tx, principal: TenantPrincipal, entity: CustomFieldEntity): Promise<FieldDefinition[]> {
  return tx
    .select({
      key: customFieldDefinitions.key,
      type: customFieldDefinitions.type,
      options: customFieldDefinitions.options,
      required: customFieldDefinitions.required,
    })
    .from(customFieldDefinitions)
    .where(and(eq(customFieldDefinitions.tenantId, principal.tenantId), eq(customFieldDefinitions.entity, entity)));
}

const MAX_TEXT = 1000;

/** Why `value` is not a valid value of the field, or null when it is. */
function problemWith(definition: FieldDefinition, value: unknown): string | null {
  switch (definition.type) {
    case 'text':
      return typeof value === 'string' && value.length <= MAX_TEXT ? null : `must be text of at most ${MAX_TEXT} characters`;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? null : 'must be a number';
    case 'boolean':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'date':
      return typeof value === 'string' && isCalendarDate(value) ? null : 'must be a date as YYYY-MM-DD';
    case 'select':
      return typeof value === 'string' && definition.options.includes(value)
        ? null
        : `must be one of: ${definition.options.join(', ')}`;
  }
}

function isCalendarDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
}

/**
 * Validates custom field values against the tenant's definitions. `changes`
 * are merged into `current` (null removes a value); the result must hold
 * only defined keys with values of their type, and every required field.
 * Issues are field-level, at `customFields.<key>`.
 */
export function applyCustomFields(
  definitions: readonly FieldDefinition[],
  current: Record<string, unknown>,
  changes: Record<string, unknown> | undefined,
): { values: Record<string, unknown>; issues: FieldIssue[] } {
  const byKey = new Map(definitions.map((d) => [d.key, d]));
  const values: Record<string, unknown> = { ...current };
  const issues: FieldIssue[] = [];
  for (const [key, value] of Object.entries(changes ?? {})) {
    const definition = byKey.get(key);
    if (!definition) {
      issues.push({ path: `customFields.${key}`, message: 'no such custom field' });
      continue;
    }
    if (value === null) {
      delete values[key];
      continue;
    }
    const problem = problemWith(definition, value);
    if (problem) issues.push({ path: `customFields.${key}`, message: problem });
    else values[key] = value;
  }
  for (const definition of definitions) {
    if (
      definition.required &&
      values[definition.key] === undefined &&
      !issues.some((i) => i.path === `customFields.${definition.key}`)
    ) {
      issues.push({ path: `customFields.${definition.key}`, message: 'is required' });
    }
  }
  return { values, issues };
}

/** A CSV cell as the value of a custom field, or an error message. Empty cells mean "no value". */
export function customFieldFromText(definition: FieldDefinition, text: string): { value: unknown } | { problem: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { value: null };
  let value: unknown = trimmed;
  if (definition.type === 'number') value = Number(trimmed);
  if (definition.type === 'boolean') {
    const lower = trimmed.toLowerCase();
    value = ['true', 'yes', '1'].includes(lower) ? true : ['false', 'no', '0'].includes(lower) ? false : trimmed;
  }
  const problem = problemWith(definition, value);
  return problem ? { problem } : { value };
}

/** A custom field value as a CSV cell. */
export function customFieldToText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : String(value);
}
