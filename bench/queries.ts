import { and, eq } from 'drizzle-orm';
import type { z } from 'zod';
import { keyset, listInput } from '../src/api/pagination.ts';
import { auditLog } from '../src/audit/schema.ts';
import type { Database, Statement, Tx } from '../src/db/client.ts';
import { bindToDatabase, readingAs, type TenantPrincipal, withTenant } from '../src/db/tenant.ts';
import { auditColumns } from '../src/modules/audit/procedures.ts';
import { contactColumns } from '../src/modules/crm/contacts/model.ts';
import { CONTACT_SORT, contactFilters, contactWhere } from '../src/modules/crm/contacts/read.ts';
import { contacts } from '../src/modules/crm/contacts/schema.ts';
import { BYPASS_ROLE } from './database.ts';

/**
 * The statements the benchmark runs, built the way the audit procedures build
 * them (src/modules/audit/procedures.ts): its very columns, the same explicit
 * tenant_id predicate, the same keyset ORDER BY and LIMIT.
 */

/** audit.get's query. */
export function getEntry(tx: Tx, tenantId: string, id: string) {
  return tx
    .select(auditColumns)
    .from(auditLog)
    .where(and(eq(auditLog.tenantId, tenantId), eq(auditLog.id, id)));
}

/** audit.list's query for the first page with default input (20 newest, fetched as 21 to know whether a next page exists). */
const firstPage = keyset(listInput(['createdAt'], '-createdAt').parse({}), { createdAt: auditLog.createdAt }, auditLog.id);
export const LIST_ROWS = firstPage.limit;

export function listEntries(tx: Tx, tenantId: string) {
  return tx
    .select(auditColumns)
    .from(auditLog)
    .where(and(eq(auditLog.tenantId, tenantId), firstPage.where))
    .orderBy(...firstPage.orderBy)
    .limit(firstPage.limit);
}

export interface BenchUser {
  userId: string;
  email: string;
}

/**
 * A principal for the benchmark user in a tenant, bound to the database exactly as the auth layer binds one,
 * and made a reader as tenantProcedure makes it for queries (audit.get and audit.list, contacts.list are
 * queries): its transactions are READ ONLY.
 */
export function principalFor(database: Database, user: BenchUser, tenantId: string): TenantPrincipal {
  return readingAs(
    bindToDatabase(database, {
      kind: 'member',
      userId: user.userId,
      email: user.email,
      emailVerified: true,
      name: 'Bench User',
      tenantId,
      role: 'admin',
    }),
  );
}

/**
 * The statement withTenant opens a transaction with for `principal`, captured
 * from withTenant itself (through a recording stand-in for the database)
 * rather than copied, so the benchmark cannot drift from the real one.
 */
function capturedEnterStatement(principalOn: (recorder: Database) => TenantPrincipal): Statement {
  let captured: Statement | undefined;
  const recorder = {
    transaction(enter: Statement) {
      captured = enter;
      return Promise.resolve(undefined);
    },
  } as unknown as Database;
  void withTenant(principalOn(recorder), async () => undefined);
  if (!captured) throw new Error('withTenant did not open a transaction');
  return captured;
}

/** The enter statement of a member's request. */
export function enterStatementOf(user: BenchUser, tenantId: string): Statement {
  return capturedEnterStatement((recorder) => principalFor(recorder, user, tenantId));
}

/** The enter statement of an API key's request (app.enter_api_key instead of app.enter_tenant). */
export function apiKeyEnterStatementOf(tenantId: string, apiKeyId: string): Statement {
  return capturedEnterStatement((recorder) =>
    bindToDatabase(recorder, { kind: 'apiKey', tenantId, apiKeyId, role: 'admin', scopes: ['audit:read'], plan: 'starter' }),
  );
}

/** The same statement, switching to the BYPASSRLS role instead of the request role. */
export function bypassEnterStatementOf(user: BenchUser, tenantId: string): Statement {
  const real = enterStatementOf(user, tenantId);
  const text = real.text.replace("set_config('role', 'palisade_app', true)", `set_config('role', '${BYPASS_ROLE}', true)`);
  if (text === real.text) throw new Error(`unexpected enter statement: ${real.text}`);
  return { text, params: real.params };
}

/**
 * contacts.list's input (src/modules/crm/contacts/read.ts): its own schema, sorted by name (the default),
 * first page of 20, with the given filters.
 */
const contactsListInput = listInput(CONTACT_SORT, 'name').extend(contactFilters.shape);
export type ContactsPageInput = z.infer<typeof contactsListInput>;

export function contactsPageInput(filters: { prefix?: string; q?: string }): ContactsPageInput {
  return contactsListInput.parse({ sort: 'name', ...filters });
}

/** contacts.list fetches a page as 21 rows, to know whether a next page exists. */
export const CONTACTS_PAGE_ROWS = contactsPageInput({}).limit + 1;

const contactSortColumns = { name: contacts.name, createdAt: contacts.createdAt, updatedAt: contacts.updatedAt };

/** contacts.list's query, built as the procedure builds it: its columns, contactWhere, the keyset ORDER BY and LIMIT. */
export function contactsPage(tx: Tx, tenantId: string, input: ContactsPageInput) {
  const { where, orderBy, limit } = keyset(input, contactSortColumns, contacts.id);
  return tx
    .select(contactColumns)
    .from(contacts)
    .where(and(contactWhere(tenantId, input), where))
    .orderBy(...orderBy)
    .limit(limit);
}
