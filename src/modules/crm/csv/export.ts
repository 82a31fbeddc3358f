import { type TenantPrincipal, type Tx, withTenant } from '../../../db/tenant.ts';
import type { CustomFieldEntity } from '../custom-fields/schema.ts';
import { customFieldToText, loadDefinitions } from '../custom-fields/validate.ts';
import { CUSTOM_COLUMN_PREFIX } from './import.ts';

/** Rows per read: each batch is its own short transaction, so a slow reader never holds a connection. */
const BATCH_SIZE = 1000;

/** What every exported record has besides the columns its resource writes. */
export interface ExportRecord {
  id: string;
  customFields: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

export interface CsvExporter<R extends ExportRecord> {
  entity: CustomFieldEntity;
  /** The columns the resource's import reads, in order; `cells` returns them for one record. */
  columns: readonly string[];
  /**
   * Up to `limit` records with ids above `after`, in id order (an index range
   * scan of the primary key: a stable order for a table that changes while
   * it is read, and no sort of the whole tenant per batch).
   */
  batch(tx: Tx, after: string | null, limit: number): Promise<R[]>;
  cells(record: R): string[];
}

/**
 * A resource's records as CSV records: the header, then one array of cells
 * per record, read one batch at a time as the consumer pulls. The columns are
 * those the import reads, with the id and times around them (which the import
 * ignores) and one `cf.<key>` per custom field, so an export imports back.
 */
export async function* exportRecords<R extends ExportRecord>(
  principal: TenantPrincipal,
  exporter: CsvExporter<R>,
): AsyncGenerator<string[]> {
  const definitions = await withTenant(principal, (tx) => loadDefinitions(tx, principal, exporter.entity));
  const keys = definitions.map((d) => d.key).sort();
  yield ['id', ...exporter.columns, 'created_at', 'updated_at', ...keys.map((k) => `${CUSTOM_COLUMN_PREFIX}${k}`)];
  let after: string | null = null;
  for (;;) {
    const from: string | null = after;
    const rows: R[] = await withTenant(principal, (tx) => exporter.batch(tx, from, BATCH_SIZE));
    for (const r of rows) {
      yield [
        r.id,
        ...exporter.cells(r),
        r.createdAt.toISOString(),
        r.updatedAt.toISOString(),
        ...keys.map((k) => customFieldToText(r.customFields[k])),
      ];
    }
    const last = rows.at(-1);
    if (!last || rows.length < BATCH_SIZE) return;
    after = last.id;
  }
}
