import type { SQL } from 'drizzle-orm';
import type { Database, TransactionAccess, Tx } from './client.ts';
import type { Role } from './core-schema.ts';

/**
 * The only door to tenant data. Feature modules import this file, never the
 * database client: every query they run happens inside a transaction that
 * switched to the request role and set the tenant, user and email context
 * transaction-locally, with the values bound as parameters.
 */
export { builtOnce } from './built-once.ts';
export type { Tx } from './client.ts';

/** A signed-in person, as verified by the auth library. */
export interface UserIdentity {
  readonly userId: string;
  readonly email: string;
  readonly emailVerified: boolean;
  readonly name: string;
}

/** A user acting inside one tenant with a role that was checked against memberships. */
export interface MemberPrincipal extends UserIdentity {
  readonly kind: 'member';
  readonly tenantId: string;
  readonly role: Role;
}

/** An API key acting inside its tenant, up to its role ceiling and within its scopes. */
export interface ApiKeyPrincipal {
  readonly kind: 'apiKey';
  readonly tenantId: string;
  readonly apiKeyId: string;
  readonly role: Role;
  /** `group:read` / `group:write`; empty means everything the role allows. */
  readonly scopes: readonly string[];
  /** The tenant's plan, for rate limits. */
  readonly plan: string;
}

/**
 * An anonymous visitor chatting through one of the tenant's widgets. It is
 * created only from a publishable key, and only the widget's public chat
 * routes accept it.
 */
export interface WidgetPrincipal {
  readonly kind: 'widget';
  readonly tenantId: string;
  readonly widgetId: string;
  /** The tenant's plan, for rate limits. */
  readonly plan: string;
}

/** Whoever acts in a tenant through the API: a member or one of the tenant's API keys. */
export type TenantPrincipal = MemberPrincipal | ApiKeyPrincipal;

/** Whoever may open a tenant transaction: an API caller, or a widget visitor on the widget's public routes. */
export type DataPrincipal = TenantPrincipal | WidgetPrincipal;

// Principals are bound to their database by auth/, the only place that creates
// them; a module cannot forge a principal that opens a transaction.
interface Binding {
  database: Database;
  access: TransactionAccess;
}
const bindings = new WeakMap<object, Binding>();

export function bindToDatabase<P extends UserIdentity | ApiKeyPrincipal | WidgetPrincipal>(database: Database, principal: P): P {
  const frozen: P = Object.freeze(structuredClone(principal));
  bindings.set(frozen, { database, access: 'read write' });
  return frozen;
}

/**
 * The same principal for a procedure that only reads (a tRPC query, a REST GET): its tenant transactions
 * are READ ONLY, so PostgreSQL refuses any write they attempt, and they finish a round trip sooner
 * (db/client.ts). The api layer applies it by procedure type; modules never need to.
 */
export function readingAs<P extends DataPrincipal>(principal: P): P {
  const binding = bindingOf(principal);
  if (binding.access === 'read only') return principal;
  const reader: P = Object.freeze(Object.assign({}, principal));
  bindings.set(reader, { database: binding.database, access: 'read only' });
  return reader;
}

function bindingOf(principal: object): Binding {
  const binding = bindings.get(principal);
  if (!binding) throw new Error('principal was not created by the auth layer');
  return binding;
}

const databaseOf = (principal: object): Database => bindingOf(principal).database;

const ENTER_TENANT = "select pg_catalog.set_config('role', 'palisade_app', true), app.enter_tenant($1, $2, $3)";
const ENTER_USER = "select pg_catalog.set_config('role', 'palisade_app', true), app.enter_user($1, $2)";
const ENTER_API_KEY = "select pg_catalog.set_config('role', 'palisade_app', true), app.enter_api_key($1, $2)";
const ENTER_WIDGET = "select pg_catalog.set_config('role', 'palisade_app', true), app.enter_widget($1, $2)";
const ENTER_PLATFORM_ADMIN = "select pg_catalog.set_config('role', 'palisade_app', true), app.enter_platform_admin($1)";

/** Invitations addressed to an email are visible only once the user has proven they own it. */
const verifiedEmail = (identity: UserIdentity) => (identity.emailVerified ? identity.email : null);

/** Runs fn in the principal's tenant. Every row it reads or writes is filtered by RLS to that tenant. */
export function withTenant<T>(principal: DataPrincipal, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const enter =
    principal.kind === 'apiKey'
      ? { text: ENTER_API_KEY, params: [principal.tenantId, principal.apiKeyId] }
      : principal.kind === 'widget'
        ? { text: ENTER_WIDGET, params: [principal.tenantId, principal.widgetId] }
        : { text: ENTER_TENANT, params: [principal.tenantId, principal.userId, verifiedEmail(principal)] };
  const { database, access } = bindingOf(principal);
  return database.transaction(enter, fn, access);
}

/** Runs fn as the user with no tenant selected: their own memberships and invitations are visible, no tenant data. */
export function withUser<T>(identity: UserIdentity, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return databaseOf(identity).transaction({ text: ENTER_USER, params: [identity.userId, verifiedEmail(identity)] }, fn);
}

/**
 * Runs fn with read access across tenants. The database checks that the user
 * is an owner or admin of the platform tenant; callers write an audit entry.
 */
export function withPlatformAdmin<T>(identity: UserIdentity, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return databaseOf(identity).transaction({ text: ENTER_PLATFORM_ADMIN, params: [identity.userId] }, fn);
}

const ENTER_WORKER =
  "select pg_catalog.set_config('role', 'palisade_app', true), pg_catalog.set_config('app.worker', 'on', true)";
const ENTER_SYSTEM_TENANT =
  "select pg_catalog.set_config('role', 'palisade_app', true), pg_catalog.set_config('app.tenant_id', $1::uuid::text, true)";

/**
 * Background work only (src/jobs): a transaction that may see and claim the
 * job queue across tenants. It sees no tenant data: tenant tables still
 * require app.tenant_id. Needs the raw Database, which modules never hold.
 */
export function withWorker<T>(database: Database, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return database.transaction({ text: ENTER_WORKER, params: [] }, fn);
}

/** Background work inside one tenant, on the tenant's behalf rather than a user's (a job of that tenant). */
export function withSystemTenant<T>(database: Database, tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return database.transaction({ text: ENTER_SYSTEM_TENANT, params: [tenantId] }, fn);
}

const MEMBER_ROLE = "select pg_catalog.set_config('role', 'palisade_app', true), app.member_role($1, $2) as role";

/**
 * The user's role in a tenant, or null: one statement and one round trip,
 * checked live on every request (a removed member is refused at once).
 * The auth layer uses it to build principals; the tenant transaction then
 * checks the membership again as it opens.
 */
export async function memberRole(database: Database, tenantId: string, userId: string): Promise<Role | null> {
  const [row] = await database.statement<{ role: Role | null }>({ text: MEMBER_ROLE, params: [tenantId, userId] });
  return row?.role ?? null;
}

const RESOLVE_API_KEY = "select pg_catalog.set_config('role', 'palisade_app', true), app.resolve_api_key($1) as key";

export interface ResolvedApiKey {
  tenantId: string;
  apiKeyId: string;
  role: Role;
  scopes: string[];
  plan: string;
}

/** The live key whose secret hashes to `secretHash`, or null (unknown, revoked, expired): one statement. */
export async function resolveApiKey(database: Database, secretHash: string): Promise<ResolvedApiKey | null> {
  const [row] = await database.statement<{ key: ResolvedApiKey | null }>({ text: RESOLVE_API_KEY, params: [secretHash] });
  return row?.key ?? null;
}

const RESOLVE_WIDGET = "select pg_catalog.set_config('role', 'palisade_app', true), app.resolve_widget($1) as widget";

export interface ResolvedWidget {
  tenantId: string;
  widgetId: string;
  active: boolean;
  allowedDomains: string[];
  plan: string;
}

/** The widget a publishable key belongs to, or null (unknown key, deleted tenant): one statement. */
export async function resolveWidget(database: Database, publishableKey: string): Promise<ResolvedWidget | null> {
  const [row] = await database.statement<{ widget: ResolvedWidget | null }>({ text: RESOLVE_WIDGET, params: [publishableKey] });
  return row?.widget ?? null;
}

// set_config runs first (target list order); the tenants policy then shows the row only to a member.
const MEMBER_PLAN =
  "select pg_catalog.set_config('role', 'palisade_app', true), pg_catalog.set_config('app.user_id', $2::uuid::text, true)," +
  ' (select t.plan from app.tenants t where t.id = $1 and t.deleted_at is null' +
  ' and exists (select 1 from app.memberships m where m.tenant_id = t.id and m.user_id = $2)) as plan';

/** The plan of a tenant the user is a member of, or null: for choosing a rate limit, one statement. */
export async function memberPlan(database: Database, tenantId: string, userId: string): Promise<string | null> {
  const [row] = await database.statement<{ plan: string | null }>({ text: MEMBER_PLAN, params: [tenantId, userId] });
  return row?.plan ?? null;
}

const API_KEY_LIVE = "select pg_catalog.set_config('role', 'palisade_app', true), app.enter_api_key($1, $2) as role";

/** Whether the key is still live (not revoked or expired, tenant not deleted): one statement. */
export async function apiKeyIsLive(database: Database, tenantId: string, apiKeyId: string): Promise<boolean> {
  try {
    await database.statement({ text: API_KEY_LIVE, params: [tenantId, apiKeyId] });
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'PT401') return false;
    throw error;
  }
}

/** Rows of a raw SQL statement, whichever driver runs it (PGlite returns `{ rows }`, postgres.js an array). */
export async function queryRows<R>(tx: Tx, query: SQL): Promise<R[]> {
  const result = (await tx.execute(query)) as unknown as { rows?: R[] } | R[];
  return Array.isArray(result) ? result : (result.rows ?? []);
}
