import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { users } from '../../../auth/schema.ts';
import { memberships } from '../../../db/core-schema.ts';
import type { TenantPrincipal, Tx } from '../../../db/tenant.ts';
import { emitEvent } from '../../../events/emit.ts';
import { companiesWithDomains } from '../companies/model.ts';
import { companies } from '../companies/schema.ts';
import { type CsvImporter, type ImportRecord, writeDeduplicated } from '../csv/import.ts';
import { type FieldDefinition, loadDefinitions } from '../custom-fields/validate.ts';
import { emailInput } from '../fields.ts';
import { contacts } from './schema.ts';

/** Columns the import reads; the export writes these too (plus the read-only ones), so an export imports back. */
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

interface ContactImportRow extends ImportRecord {
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
}

interface Lookups {
  definitions: FieldDefinition[];
  membersByEmail: Map<string, string>;
}

/** Company ids by domain, creating the companies the batch names that do not exist yet. */
async function companiesByDomain(tx: Tx, principal: TenantPrincipal, batch: ContactImportRow[]) {
  const names = new Map<string, string>();
  for (const r of batch)
    if (r.companyDomain && !names.has(r.companyDomain)) names.set(r.companyDomain, r.companyName ?? r.companyDomain);
  const ids = new Map<string, string>();
  if (names.size === 0) return { ids, created: [] as string[] };
  const select = () => companiesWithDomains(tx, principal, [...names.keys()]);
  for (const c of await select()) ids.set(c.key, c.id);
  const missing = [...names].filter(([domain]) => !ids.has(domain));
  let created: string[] = [];
  if (missing.length > 0) {
    // Another writer may create the same domain meanwhile: skip it and read it back.
    const inserted = await tx
      .insert(companies)
      .values(missing.map(([domain, name]) => ({ tenantId: principal.tenantId, name, domain })))
      .onConflictDoNothing()
      .returning({ id: companies.id });
    created = inserted.map((c) => c.id);
    for (const c of await select()) ids.set(c.key, c.id);
  }
  return { ids, created };
}

/** The cells of a row that hold a value: on update, an empty cell leaves the stored value alone. */
function filledOf(r: ContactImportRow) {
  const filled: Partial<Omit<ContactImportRow, 'row' | 'customFields' | 'email'>> = { name: r.name };
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

/**
 * The contacts import (run by csv/import.ts runImport): deduplicated by email
 * (case-insensitive, among live contacts); companies found or created by domain.
 */
export const contactImporter: CsvImporter<ContactImportRow, Lookups, 'companiesCreated'> = {
  columns: IMPORT_COLUMNS,
  required: ['name'],
  extras: ['companiesCreated'],

  async load(tx, principal) {
    const definitions = await loadDefinitions(tx, principal, 'contacts');
    const members = await tx
      .select({ userId: memberships.userId, email: users.email })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(eq(memberships.tenantId, principal.tenantId));
    return { definitions, membersByEmail: new Map(members.map((m) => [m.email.toLowerCase(), m.userId])) };
  },

  validate(row, cells, lookups) {
    const name = cells.required('name', 200);
    const email = cells.text('email', 320);
    if (email && !emailInput.safeParse(email).success) cells.reject('email', 'not an email address');
    const otherEmails = cells.list('other_emails');
    if (otherEmails.length > 20) cells.reject('other_emails', 'at most 20 addresses');
    if (otherEmails.some((e) => !emailInput.safeParse(e).success)) cells.reject('other_emails', 'not an email address');
    const phones = cells.list('phones');
    if (phones.length > 20 || phones.some((p) => p.length > 50)) cells.reject('phones', 'at most 20 numbers of 50 characters');
    const tags = cells.tags();
    const title = cells.text('title', 200);
    const source = cells.text('source', 100);
    const ownerEmail = cells.text('owner_email', 320);
    const ownerUserId = ownerEmail ? (lookups.membersByEmail.get(ownerEmail.toLowerCase()) ?? null) : null;
    if (ownerEmail && !ownerUserId) cells.reject('owner_email', 'not a member of this tenant');
    const companyDomain = cells.domain('company_domain');
    const companyName = cells.text('company_name', 200);
    const customFields = cells.customFields(lookups.definitions);
    if (!name) return null;
    return { row, name, email, otherEmails, phones, title, tags, source, ownerUserId, companyDomain, companyName, customFields };
  },

  async write(tx, batch, { principal, actor, importId, options, lookups }) {
    const tenantId = principal.tenantId;
    const companiesFound = await companiesByDomain(tx, principal, batch);
    const companyOf = (r: ContactImportRow) => (r.companyDomain ? (companiesFound.ids.get(r.companyDomain) ?? null) : null);
    const result = await writeDeduplicated(batch, options, lookups.definitions, {
      keyOf: (r) => r.email?.toLowerCase() ?? null,
      stored: (emails) =>
        tx
          // email_key (lower(email), stored) rather than lower(email): only a leakproof comparison can use an index under RLS.
          .select({ id: contacts.id, key: sql<string>`${contacts.emailKey}`, customFields: contacts.customFields })
          .from(contacts)
          .where(and(eq(contacts.tenantId, tenantId), isNull(contacts.deletedAt), inArray(contacts.emailKey, emails))),
      merge: (into, later) => Object.assign(into, filledOf(later)),
      insert: async (rows) => {
        const inserted = await tx
          .insert(contacts)
          .values(
            rows.map((r) => ({
              tenantId,
              name: r.name,
              email: r.email,
              otherEmails: r.otherEmails,
              phones: r.phones,
              title: r.title,
              tags: r.tags,
              source: r.source,
              ownerUserId: r.ownerUserId,
              companyId: companyOf(r),
              customFields: r.customFields,
            })),
          )
          .onConflictDoNothing()
          .returning({ id: contacts.id });
        return inserted.map((r) => r.id);
      },
      update: async (id, r, customFields) => {
        const { companyDomain: _domain, companyName: _name, ...filled } = filledOf(r);
        const companyId = companyOf(r);
        await tx
          .update(contacts)
          .set({ ...filled, ...(companyId ? { companyId } : {}), customFields, updatedAt: new Date() })
          .where(and(eq(contacts.tenantId, tenantId), eq(contacts.id, id)));
      },
    });
    if (result.created.length > 0 || result.updated.length > 0 || companiesFound.created.length > 0) {
      // One event per batch: a 100,000-row import must not become 100,000 webhook deliveries.
      await emitEvent(tx, actor, 'contact.imported', {
        importId,
        created: result.created,
        updated: result.updated,
        companiesCreated: companiesFound.created,
      });
    }
    return { ...result, counts: { companiesCreated: companiesFound.created.length } };
  },
};
