import { randomUUID } from 'node:crypto';
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { AppError, type FieldIssue } from '../../../api/errors.ts';
import { actorOf, type RequestFacts } from '../../../audit/record.ts';
import { users } from '../../../auth/schema.ts';
import { memberships } from '../../../db/core-schema.ts';
import { type TenantPrincipal, type Tx, withTenant } from '../../../db/tenant.ts';
import { emitEvent } from '../../../events/emit.ts';
import { isDomain, normalizeDomain } from '../companies/model.ts';
import { companies } from '../companies/schema.ts';
import { applyCustomFields, customFieldFromText, type FieldDefinition, loadDefinitions } from '../custom-fields/validate.ts';
import { emailInput } from '../fields.ts';
import { contacts } from './schema.ts';

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
  /** What a row whose email belongs to a live contact does. */
  duplicates: 'skip' | 'update';
}

export interface RejectedRow {
  /** 1-based record number, header excluded. */
  row: number;
  /** The file line the record ends on. */
  line: number | null;
  errors: { column: string | null; message: string }[];
}

export interface ImportReport {
  mode: 'atomic' | 'partial';
  committed: boolean;
  rows: number;
  created: number;
  updated: number;
  skipped: number;
  rejected: number;
  companiesCreated: number;
  /** The first MAX_REPORTED rejections; `rejected` counts them all. */
  rejectedRows: RejectedRow[];
}

/** Columns the import reads; the export's read-only columns are accepted and ignored, so an export imports back. */
export const IMPORT_COLUMNS = [
  'name',
  'email',
  'other_emails',
  'phones',
  'title',
  'tags',
  'source',
  'owner_email',
  'company_domain',
  'company_name',
] as const;
export const READ_ONLY_COLUMNS = ['id', 'created_at', 'updated_at'] as const;
export const CUSTOM_COLUMN_PREFIX = 'cf.';

/** Rows per transaction in partial mode, and per write in both: bounds memory and lock time. */
const BATCH_SIZE = 500;
/** Rejections listed in the report: enough to fix a file, bounded for a file of any size. */
const MAX_REPORTED = 1000;

/** Multi-valued cells separate values with ';' (a comma would need quoting). */
const list = (text: string | undefined) =>
  (text ?? '')
    .split(';')
    .map((v) => v.trim())
    .filter(Boolean);

interface ValidRow {
  row: number;
  name: string;
  email: string | null;
  otherEmails: string[];
  phones: string[];
  title: string | null;
  tags: string[];
  source: string | null;
  ownerUserId: string | null;
  companyDomain: string | null;
  companyName: string | null;
  /** Values of the filled custom field cells. */
  customFields: Record<string, unknown>;
}

interface Lookups {
  definitions: FieldDefinition[];
  membersByEmail: Map<string, string>;
}

function checkHeader(columns: string[], definitions: FieldDefinition[]): void {
  const known = new Set<string>([...IMPORT_COLUMNS, ...READ_ONLY_COLUMNS]);
  const keys = new Set(definitions.map((d) => d.key));
  const issues: FieldIssue[] = [];
  for (const column of columns) {
    if (known.has(column)) continue;
    if (column.startsWith(CUSTOM_COLUMN_PREFIX) && keys.has(column.slice(CUSTOM_COLUMN_PREFIX.length))) continue;
    issues.push({ path: `header.${column}`, message: 'unknown column' });
  }
  if (!columns.includes('name')) issues.push({ path: 'header.name', message: 'the name column is required' });
  if (issues.length > 0) throw new AppError('VALIDATION_FAILED', 'The CSV header has unknown or missing columns.', issues);
}

/** Validates one record on its own; references to other rows or to the database are resolved per batch. */
function validateRow(row: number, values: Record<string, string>, lookups: Lookups): ValidRow | RejectedRow['errors'] {
  const errors: RejectedRow['errors'] = [];
  const text = (column: string, max: number): string | null => {
    const value = (values[column] ?? '').trim();
    if (value.length > max) errors.push({ column, message: `at most ${max} characters` });
    return value === '' ? null : value;
  };
  const name = text('name', 200);
  if (!name) errors.push({ column: 'name', message: 'is required' });
  const email = text('email', 320);
  if (email && !emailInput.safeParse(email).success) errors.push({ column: 'email', message: 'not an email address' });
  const otherEmails = list(values.other_emails);
  if (otherEmails.length > 20) errors.push({ column: 'other_emails', message: 'at most 20 addresses' });
  if (otherEmails.some((e) => !emailInput.safeParse(e).success))
    errors.push({ column: 'other_emails', message: 'not an email address' });
  const phones = list(values.phones);
  if (phones.length > 20 || phones.some((p) => p.length > 50))
    errors.push({ column: 'phones', message: 'at most 20 numbers of 50 characters' });
  const tags = [...new Set(list(values.tags))];
  if (tags.length > 50 || tags.some((t) => t.length > 50))
    errors.push({ column: 'tags', message: 'at most 50 tags of 50 characters' });
  const title = text('title', 200);
  const source = text('source', 100);
  const ownerEmail = text('owner_email', 320);
  const ownerUserId = ownerEmail ? (lookups.membersByEmail.get(ownerEmail.toLowerCase()) ?? null) : null;
  if (ownerEmail && !ownerUserId) errors.push({ column: 'owner_email', message: 'not a member of this tenant' });
  const rawDomain = text('company_domain', 253);
  const companyDomain = rawDomain ? normalizeDomain(rawDomain) : null;
  if (companyDomain && !isDomain(companyDomain)) {
    errors.push({ column: 'company_domain', message: 'not a domain such as example.com' });
  }
  const companyName = text('company_name', 200);
  const customFields: Record<string, unknown> = {};
  for (const definition of lookups.definitions) {
    const column = `${CUSTOM_COLUMN_PREFIX}${definition.key}`;
    const cell = values[column];
    if (cell === undefined) continue;
    const parsed = customFieldFromText(definition, cell);
    if ('problem' in parsed) errors.push({ column, message: parsed.problem });
    else if (parsed.value !== null) customFields[definition.key] = parsed.value;
  }
  if (errors.length > 0 || !name) return errors;
  return { row, name, email, otherEmails, phones, title, tags, source, ownerUserId, companyDomain, companyName, customFields };
}

interface BatchResult {
  created: string[];
  updated: string[];
  skipped: number;
  companiesCreated: string[];
  rejected: RejectedRow[];
}

/** Company ids by domain, creating the companies the batch names that do not exist yet. */
async function companiesByDomain(tx: Tx, principal: TenantPrincipal, batch: ValidRow[]) {
  const names = new Map<string, string>();
  for (const r of batch)
    if (r.companyDomain && !names.has(r.companyDomain)) names.set(r.companyDomain, r.companyName ?? r.companyDomain);
  const ids = new Map<string, string>();
  if (names.size === 0) return { ids, created: [] as string[] };
  const select = () =>
    tx
      .select({ id: companies.id, domain: companies.domain })
      .from(companies)
      .where(and(eq(companies.tenantId, principal.tenantId), inArray(companies.domain, [...names.keys()])));
  for (const c of await select()) if (c.domain) ids.set(c.domain, c.id);
  const missing = [...names].filter(([domain]) => !ids.has(domain));
  let created: string[] = [];
  if (missing.length > 0) {
    // Another writer may create the same domain meanwhile: skip it and read it back.
    const inserted = await tx
      .insert(companies)
      .values(missing.map(([domain, name]) => ({ tenantId: principal.tenantId, name, domain })))
      .onConflictDoNothing()
      .returning({ id: companies.id, domain: companies.domain });
    created = inserted.map((c) => c.id);
    for (const c of await select()) if (c.domain) ids.set(c.domain, c.id);
  }
  return { ids, created };
}

async function writeBatch(
  tx: Tx,
  principal: TenantPrincipal,
  request: RequestFacts,
  importId: string,
  batch: ValidRow[],
  options: ImportOptions,
  definitions: FieldDefinition[],
): Promise<BatchResult> {
  const result: BatchResult = { created: [], updated: [], skipped: 0, companiesCreated: [], rejected: [] };
  const emails = [...new Set(batch.flatMap((r) => (r.email ? [r.email.toLowerCase()] : [])))];
  const existing = new Map<string, { id: string; customFields: Record<string, unknown> }>();
  if (emails.length > 0) {
    const rows = await tx
      .select({ id: contacts.id, email: sql<string>`lower(${contacts.email})`, customFields: contacts.customFields })
      .from(contacts)
      .where(
        and(
          eq(contacts.tenantId, principal.tenantId),
          isNull(contacts.deletedAt),
          inArray(sql`lower(${contacts.email})`, emails),
        ),
      );
    for (const r of rows) existing.set(r.email, r);
  }
  const companiesFound = await companiesByDomain(tx, principal, batch);
  result.companiesCreated = companiesFound.created;

  // Rows to insert, by email: a later row with the same email is a duplicate of the earlier one.
  const inserts: ValidRow[] = [];
  const pendingByEmail = new Map<string, ValidRow>();
  const fieldsOf = (r: ValidRow) => ({
    name: r.name,
    otherEmails: r.otherEmails,
    phones: r.phones,
    title: r.title,
    tags: r.tags,
    source: r.source,
    ownerUserId: r.ownerUserId,
    companyId: r.companyDomain ? (companiesFound.ids.get(r.companyDomain) ?? null) : null,
  });
  for (const r of batch) {
    const key = r.email?.toLowerCase();
    const stored = key ? existing.get(key) : undefined;
    const pending = key ? pendingByEmail.get(key) : undefined;
    if (!stored && !pending) {
      const check = applyCustomFields(definitions, {}, r.customFields);
      if (check.issues.length > 0) {
        result.rejected.push({
          row: r.row,
          line: null,
          errors: check.issues.map((i) => ({ column: columnOf(i.path), message: i.message })),
        });
        continue;
      }
      r.customFields = check.values;
      inserts.push(r);
      if (key) pendingByEmail.set(key, r);
      continue;
    }
    if (options.duplicates === 'skip') {
      result.skipped++;
      continue;
    }
    if (pending) {
      // Same email twice in one batch: the later row's filled cells win, as they would over a stored contact.
      Object.assign(pending, filledOf(r), { customFields: { ...pending.customFields, ...r.customFields } });
      continue;
    }
    if (!stored) continue;
    const merged = applyCustomFields(definitions, stored.customFields, r.customFields);
    if (merged.issues.length > 0) {
      result.rejected.push({
        row: r.row,
        line: null,
        errors: merged.issues.map((i) => ({ column: columnOf(i.path), message: i.message })),
      });
      continue;
    }
    const { companyDomain: _domain, companyName: _name, ...filled } = filledOf(r);
    const companyId = r.companyDomain ? companiesFound.ids.get(r.companyDomain) : undefined;
    await tx
      .update(contacts)
      .set({ ...filled, ...(companyId ? { companyId } : {}), customFields: merged.values, updatedAt: new Date() })
      .where(and(eq(contacts.tenantId, principal.tenantId), eq(contacts.id, stored.id)));
    result.updated.push(stored.id);
  }

  if (inserts.length > 0) {
    const inserted = await tx
      .insert(contacts)
      .values(
        inserts.map((r) => ({ tenantId: principal.tenantId, email: r.email, customFields: r.customFields, ...fieldsOf(r) })),
      )
      // A contact created by someone else since the lookup above: this row is then a skipped duplicate.
      .onConflictDoNothing()
      .returning({ id: contacts.id });
    result.created.push(...inserted.map((r) => r.id));
    result.skipped += inserts.length - inserted.length;
  }
  if (result.created.length > 0 || result.updated.length > 0 || result.companiesCreated.length > 0) {
    // One event per batch: a 100,000-row import must not become 100,000 webhook deliveries.
    await emitEvent(tx, actorOf(principal, request), 'contact.imported', {
      importId,
      created: result.created,
      updated: result.updated,
      companiesCreated: result.companiesCreated,
    });
  }
  return result;
}

/** The cells of a row that hold a value: on update, an empty cell leaves the stored value alone. */
function filledOf(
  r: ValidRow,
): Partial<
  Pick<
    ValidRow,
    'name' | 'otherEmails' | 'phones' | 'title' | 'tags' | 'source' | 'ownerUserId' | 'companyDomain' | 'companyName'
  >
> {
  const filled: ReturnType<typeof filledOf> = { name: r.name };
  if (r.otherEmails.length > 0) filled.otherEmails = r.otherEmails;
  if (r.phones.length > 0) filled.phones = r.phones;
  if (r.tags.length > 0) filled.tags = r.tags;
  if (r.title !== null) filled.title = r.title;
  if (r.source !== null) filled.source = r.source;
  if (r.ownerUserId !== null) filled.ownerUserId = r.ownerUserId;
  if (r.companyDomain !== null) filled.companyDomain = r.companyDomain;
  if (r.companyName !== null) filled.companyName = r.companyName;
  return filled;
}

const columnOf = (path: string) =>
  path.startsWith('customFields.') ? `${CUSTOM_COLUMN_PREFIX}${path.slice('customFields.'.length)}` : path;

async function loadLookups(tx: Tx, principal: TenantPrincipal): Promise<Lookups> {
  const definitions = await loadDefinitions(tx, principal, 'contacts');
  const members = await tx
    .select({ userId: memberships.userId, email: users.email })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.tenantId, principal.tenantId));
  return { definitions, membersByEmail: new Map(members.map((m) => [m.email.toLowerCase(), m.userId])) };
}

class RollBack extends Error {}

/**
 * Imports contacts from parsed CSV records as they arrive: each record is
 * validated on its own, valid ones are written in batches, rejected ones are
 * reported with their reasons. Contacts are deduplicated by email (against
 * live contacts and earlier rows), companies by domain. Memory is bounded by
 * the batch size and the report cap, whatever the size of the file.
 *
 * Partial mode commits each batch in its own transaction. Atomic mode runs
 * the whole import in one transaction and rolls it back if any row is
 * rejected, failing with VALIDATION_FAILED and the rejections as details.
 */
export async function importContacts(
  principal: TenantPrincipal,
  request: RequestFacts,
  rows: AsyncIterable<CsvRow>,
  options: ImportOptions,
): Promise<ImportReport> {
  const report: ImportReport = {
    mode: options.atomic ? 'atomic' : 'partial',
    committed: false,
    rows: 0,
    created: 0,
    updated: 0,
    skipped: 0,
    rejected: 0,
    companiesCreated: 0,
    rejectedRows: [],
  };
  const importId = randomUUID();
  const reject = (rejection: RejectedRow) => {
    report.rejected++;
    if (report.rejectedRows.length < MAX_REPORTED) report.rejectedRows.push(rejection);
  };
  const consume = async (run: <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>) => {
    const lookups = await run((tx) => loadLookups(tx, principal));
    let batch: ValidRow[] = [];
    const lines = new Map<number, number>();
    const flush = async () => {
      if (batch.length === 0) return;
      const written = await run((tx) => writeBatch(tx, principal, request, importId, batch, options, lookups.definitions));
      report.created += written.created.length;
      report.updated += written.updated.length;
      report.skipped += written.skipped;
      report.companiesCreated += written.companiesCreated.length;
      for (const r of written.rejected) reject({ ...r, line: lines.get(r.row) ?? null });
      batch = [];
      lines.clear();
    };
    try {
      for await (const record of rows) {
        if (report.rows === 0) checkHeader(Object.keys(record.values), lookups.definitions);
        report.rows++;
        const valid = validateRow(report.rows, record.values, lookups);
        if (Array.isArray(valid)) {
          reject({ row: report.rows, line: record.line, errors: valid });
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
