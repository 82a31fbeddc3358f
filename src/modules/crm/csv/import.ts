import { randomUUID } from 'node:crypto';
import { AppError, type FieldIssue } from '../../../api/errors.ts';
import { actorOf, type RequestFacts } from '../../../audit/record.ts';
import { type TenantPrincipal, type Tx, withTenant } from '../../../db/tenant.ts';
import type { EventActor } from '../../../events/emit.ts';
import { isDomain, normalizeDomain } from '../companies/model.ts';
import { applyCustomFields, customFieldFromText, type FieldDefinition } from '../custom-fields/validate.ts';

/**
 * The streaming CSV import every CRM resource shares: header check, one
 * record validated at a time, batches written in partial or atomic mode,
 * deduplication by a key, and the capped report. A resource supplies a
 * CsvImporter (its columns, how a record becomes a row, how a batch is
 * written); contacts/import.ts and companies/import.ts are the two.
 */

/** One parsed CSV record: its values by (lower-cased) header, and the file line it ends on. */
export interface CsvRow {
  line: number;
  values: Record<string, string>;
}

/** Thrown by the row source when the file is not valid CSV; the import stops at that line. */
export class MalformedCsv extends Error {
  constructor(
    readonly line: number | null,
    message: string,
  ) {
    super(message);
    this.name = 'MalformedCsv';
  }
}

export interface ImportOptions {
  /** All or nothing: one transaction, rolled back if any row is rejected. */
  atomic: boolean;
  /** What a row whose key belongs to a stored record (or an earlier row) does. */
  duplicates: 'skip' | 'update';
}

export interface CellError {
  /** The column at fault; null when the record as a whole is (a malformed file). */
  column: string | null;
  message: string;
}

export interface RejectedRow {
  /** 1-based record number, header excluded. */
  row: number;
  /** The file line the record ends on. */
  line: number | null;
  errors: CellError[];
}

/** What every import reports; `Extra` names the further counts a resource keeps (contacts: companiesCreated). */
export type ImportReport<Extra extends string = never> = {
  mode: 'atomic' | 'partial';
  committed: boolean;
  rows: number;
  created: number;
  updated: number;
  skipped: number;
  rejected: number;
  /** The first MAX_REPORTED rejections; `rejected` counts them all. */
  rejectedRows: RejectedRow[];
} & Record<Extra, number>;

/** Columns of an export that the import accepts and ignores, so that an export imports back. */
export const READ_ONLY_COLUMNS = ['id', 'created_at', 'updated_at'] as const;
export const CUSTOM_COLUMN_PREFIX = 'cf.';

/** Rows per transaction in partial mode, and per write in both: bounds memory and lock time. */
const BATCH_SIZE = 500;
/** Rejections listed in the report: enough to fix a file, bounded for a file of any size. */
const MAX_REPORTED = 1000;

/** What every imported row carries: its record number and the values of its filled custom field cells. */
export interface ImportRecord {
  row: number;
  customFields: Record<string, unknown>;
}

/** What writing one batch did; `rejected` rows get their file lines from the engine. */
export interface BatchResult<Extra extends string = never> {
  created: string[];
  updated: string[];
  skipped: number;
  rejected: RejectedRow[];
  counts: Record<Extra, number>;
}

export interface ImportContext<Lookups> {
  principal: TenantPrincipal;
  actor: EventActor;
  /** Names the import in its events, one per batch. */
  importId: string;
  options: ImportOptions;
  lookups: Lookups;
}

/** What a resource tells the engine. `Lookups` is read once per import, before the first record. */
export interface CsvImporter<
  Row extends ImportRecord,
  Lookups extends { definitions: FieldDefinition[] },
  Extra extends string = never,
> {
  /** The columns the import reads (besides READ_ONLY_COLUMNS and `cf.<key>`). */
  columns: readonly string[];
  /** Columns the header must have. */
  required: readonly string[];
  /** The resource's further counts, reported after `rejected`. */
  extras: readonly Extra[];
  load(tx: Tx, principal: TenantPrincipal): Promise<Lookups>;
  /**
   * One record on its own (references to other rows or to the database are
   * resolved per batch). Problems go to `cells`; null when no row can be built.
   */
  validate(row: number, cells: RowCells, lookups: Lookups): Row | null;
  /** Writes one batch in the given transaction, and emits the batch's event there. */
  write(tx: Tx, batch: Row[], context: ImportContext<Lookups>): Promise<BatchResult<Extra>>;
}

/**
 * One record's cells, read column by column. Every problem is collected with
 * its column, so a rejection lists all of them at once.
 */
export class RowCells {
  readonly errors: CellError[] = [];
  constructor(private readonly values: Record<string, string>) {}

  reject(column: string, message: string): void {
    this.errors.push({ column, message });
  }

  /** The trimmed cell, or null when it is empty or the column is absent. */
  text(column: string, max: number): string | null {
    const value = (this.values[column] ?? '').trim();
    if (value.length > max) this.reject(column, `at most ${max} characters`);
    return value === '' ? null : value;
  }

  required(column: string, max: number): string | null {
    const value = this.text(column, max);
    if (!value) this.reject(column, 'is required');
    return value;
  }

  /** Several values separated by ';' (a comma would need quoting). */
  list(column: string): string[] {
    return (this.values[column] ?? '')
      .split(';')
      .map((v) => v.trim())
      .filter(Boolean);
  }

  tags(column = 'tags'): string[] {
    const tags = [...new Set(this.list(column))];
    if (tags.length > 50 || tags.some((t) => t.length > 50)) this.reject(column, 'at most 50 tags of 50 characters');
    return tags;
  }

  /** A normalized domain (as companies store it), so `https://www.Acme.com/` and `acme.com` are one key. */
  domain(column: string): string | null {
    const raw = this.text(column, 253);
    const domain = raw ? normalizeDomain(raw) : null;
    if (domain && !isDomain(domain)) this.reject(column, 'not a domain such as example.com');
    return domain;
  }

  /** The filled `cf.<key>` cells as values of their fields. */
  customFields(definitions: readonly FieldDefinition[]): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    for (const definition of definitions) {
      const column = `${CUSTOM_COLUMN_PREFIX}${definition.key}`;
      const cell = this.values[column];
      if (cell === undefined) continue;
      const parsed = customFieldFromText(definition, cell);
      if ('problem' in parsed) this.reject(column, parsed.problem);
      else if (parsed.value !== null) values[definition.key] = parsed.value;
    }
    return values;
  }
}

function checkHeader(
  columns: string[],
  importer: { columns: readonly string[]; required: readonly string[] },
  definitions: FieldDefinition[],
): void {
  const known = new Set<string>([...importer.columns, ...READ_ONLY_COLUMNS]);
  const keys = new Set(definitions.map((d) => d.key));
  const issues: FieldIssue[] = [];
  for (const column of columns) {
    if (known.has(column)) continue;
    if (column.startsWith(CUSTOM_COLUMN_PREFIX) && keys.has(column.slice(CUSTOM_COLUMN_PREFIX.length))) continue;
    issues.push({ path: `header.${column}`, message: 'unknown column' });
  }
  for (const column of importer.required) {
    if (!columns.includes(column)) issues.push({ path: `header.${column}`, message: `the ${column} column is required` });
  }
  if (issues.length > 0) throw new AppError('VALIDATION_FAILED', 'The CSV header has unknown or missing columns.', issues);
}

const columnOf = (path: string) =>
  path.startsWith('customFields.') ? `${CUSTOM_COLUMN_PREFIX}${path.slice('customFields.'.length)}` : path;

/** A rejection for custom field issues found while writing (required fields, checked against the merged values). */
const rejectedFor = (row: number, issues: FieldIssue[]): RejectedRow => ({
  row,
  line: null,
  errors: issues.map((i) => ({ column: columnOf(i.path), message: i.message })),
});

/** A stored record that a row may duplicate. */
export interface StoredRecord {
  id: string;
  key: string;
  customFields: Record<string, unknown>;
}

/** How one resource's rows are deduplicated and written (each runs in the batch's transaction). */
export interface DeduplicatedWrite<Row extends ImportRecord> {
  /** The deduplication key (a lower-cased email, a domain), or null: such a row is always new. */
  keyOf(row: Row): string | null;
  /** The live records holding any of these keys. */
  stored(keys: string[]): Promise<StoredRecord[]>;
  /** Merges a later row's filled cells into an earlier row with the same key (custom fields are merged by the engine). */
  merge(into: Row, later: Row): void;
  /** Inserts new records; one whose key someone else took since the lookup is left out. The ids inserted. */
  insert(rows: Row[]): Promise<string[]>;
  /** Writes a duplicate's filled cells and the merged custom fields over the stored record. */
  update(id: string, row: Row, customFields: Record<string, unknown>): Promise<void>;
}

/**
 * The deduplicating write of one batch: a row whose key belongs to a stored
 * record, or to an earlier row of the file, is a duplicate, skipped or used
 * to update that record. New rows must satisfy the custom field definitions
 * (required fields) on their own, updated ones once merged.
 */
export async function writeDeduplicated<Row extends ImportRecord>(
  batch: Row[],
  options: ImportOptions,
  definitions: readonly FieldDefinition[],
  write: DeduplicatedWrite<Row>,
): Promise<BatchResult> {
  const result: BatchResult = { created: [], updated: [], skipped: 0, rejected: [], counts: {} };
  const keys = [...new Set(batch.flatMap((r) => write.keyOf(r) ?? []))];
  const existing = new Map((keys.length > 0 ? await write.stored(keys) : []).map((s) => [s.key, s]));
  const inserts: Row[] = [];
  const pendingByKey = new Map<string, Row>();
  for (const r of batch) {
    const key = write.keyOf(r);
    const stored = key ? existing.get(key) : undefined;
    const pending = key ? pendingByKey.get(key) : undefined;
    if (!stored && !pending) {
      const check = applyCustomFields(definitions, {}, r.customFields);
      if (check.issues.length > 0) {
        result.rejected.push(rejectedFor(r.row, check.issues));
        continue;
      }
      r.customFields = check.values;
      inserts.push(r);
      if (key) pendingByKey.set(key, r);
      continue;
    }
    if (options.duplicates === 'skip') {
      result.skipped++;
      continue;
    }
    if (pending) {
      // The same key twice in one batch: the later row's filled cells win, as they would over a stored record.
      const customFields = { ...pending.customFields, ...r.customFields };
      write.merge(pending, r);
      pending.customFields = customFields;
      continue;
    }
    if (!stored) continue;
    const merged = applyCustomFields(definitions, stored.customFields, r.customFields);
    if (merged.issues.length > 0) {
      result.rejected.push(rejectedFor(r.row, merged.issues));
      continue;
    }
    await write.update(stored.id, r, merged.values);
    result.updated.push(stored.id);
  }
  if (inserts.length > 0) {
    const inserted = await write.insert(inserts);
    result.created.push(...inserted);
    // A record created by someone else since the lookup above: its row is then a skipped duplicate.
    result.skipped += inserts.length - inserted.length;
  }
  return result;
}

class RollBack extends Error {}

/**
 * Imports records from parsed CSV rows as they arrive: each record is
 * validated on its own, valid ones are written in batches, rejected ones
 * are reported with their reasons. Memory is bounded by the batch size and
 * the report cap, whatever the size of the file.
 *
 * Partial mode commits each batch in its own transaction. Atomic mode runs
 * the whole import in one transaction and rolls it back if any row is
 * rejected, failing with VALIDATION_FAILED and the rejections as details.
 */
export async function runImport<
  Row extends ImportRecord,
  Lookups extends { definitions: FieldDefinition[] },
  Extra extends string,
>(
  importer: CsvImporter<Row, Lookups, Extra>,
  principal: TenantPrincipal,
  request: RequestFacts,
  rows: AsyncIterable<CsvRow>,
  options: ImportOptions,
): Promise<ImportReport<Extra>> {
  const counts = Object.fromEntries(importer.extras.map((e) => [e, 0])) as Record<Extra, number>;
  const report = {
    mode: options.atomic ? 'atomic' : 'partial',
    committed: false,
    rows: 0,
    created: 0,
    updated: 0,
    skipped: 0,
    rejected: 0,
    ...counts,
    rejectedRows: [],
  } as ImportReport<Extra>;
  const importId = randomUUID();
  const actor = actorOf(principal, request);
  const reject = (rejection: RejectedRow) => {
    report.rejected++;
    if (report.rejectedRows.length < MAX_REPORTED) report.rejectedRows.push(rejection);
  };
  const consume = async (run: <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>) => {
    const lookups = await run((tx) => importer.load(tx, principal));
    const context: ImportContext<Lookups> = { principal, actor, importId, options, lookups };
    let batch: Row[] = [];
    const lines = new Map<number, number>();
    const flush = async () => {
      if (batch.length === 0) return;
      const written = await run((tx) => importer.write(tx, batch, context));
      report.created += written.created.length;
      report.updated += written.updated.length;
      report.skipped += written.skipped;
      for (const extra of importer.extras) (report as Record<Extra, number>)[extra] += written.counts[extra];
      for (const r of written.rejected) reject({ ...r, line: lines.get(r.row) ?? null });
      batch = [];
      lines.clear();
    };
    try {
      for await (const record of rows) {
        if (report.rows === 0) checkHeader(Object.keys(record.values), importer, lookups.definitions);
        report.rows++;
        const cells = new RowCells(record.values);
        const valid = importer.validate(report.rows, cells, lookups);
        if (!valid || cells.errors.length > 0) {
          reject({ row: report.rows, line: record.line, errors: cells.errors });
          continue;
        }
        batch.push(valid);
        lines.set(valid.row, record.line);
        if (batch.length >= BATCH_SIZE) await flush();
      }
    } catch (error) {
      if (!(error instanceof MalformedCsv)) throw error;
      reject({ row: report.rows + 1, line: error.line, errors: [{ column: null, message: error.message }] });
    }
    await flush();
  };

  if (!options.atomic) {
    await consume((fn) => withTenant(principal, fn));
    report.committed = true;
    return report;
  }
  try {
    await withTenant(principal, async (tx) => {
      await consume((fn) => fn(tx));
      if (report.rejected > 0) throw new RollBack();
    });
    report.committed = true;
    return report;
  } catch (error) {
    if (!(error instanceof RollBack)) throw error;
    const details: FieldIssue[] = report.rejectedRows.flatMap((r) =>
      r.errors.map((e) => ({ path: `rows.${r.row}${e.column ? `.${e.column}` : ''}`, message: e.message })),
    );
    throw new AppError(
      'VALIDATION_FAILED',
      `Nothing was imported: ${report.rejected} of ${report.rows} rows are invalid.`,
      details.slice(0, MAX_REPORTED),
    );
  }
}
