import { sql } from 'drizzle-orm';
import type { BuildExtraConfigColumns } from 'drizzle-orm/column-builder';
import {
  check,
  jsonb,
  type PgColumnBuilderBase,
  type PgTableExtraConfigValue,
  pgPolicy,
  pgRole,
  pgSchema,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/** All application tables live in this schema; the catalog test inspects every table in it. */
export const appSchema = pgSchema('app');

/** The role every request runs as: not superuser, not BYPASSRLS, owns nothing. */
export const APP_ROLE = 'palisade_app';
export const appRole = pgRole(APP_ROLE).existing();

/**
 * The current tenant, or NULL when no context is set. `nullif` turns the empty
 * string of an unset setting into NULL instead of a cast error. The sub-select
 * makes it an InitPlan, evaluated once per statement: for the policies that
 * compare it inside sub-queries of their own (users, shared agents, the job
 * queue's enqueue check); tenant tables use the plain form below.
 */
export const CURRENT_TENANT_SQL = "(select nullif(current_setting('app.tenant_id', true), '')::uuid)";
export const CURRENT_USER_SQL = "(select nullif(current_setting('app.user_id', true), '')::uuid)";

/**
 * The same settings as plain expressions, for the policies of tenant tables (tenantTable) and of tenants and
 * memberships. Under a sub-select they would be InitPlans: evaluated once per statement, but set up by the
 * executor on every statement, expression compilation included, which cost every request's enter statement
 * (tenants, memberships, API keys) and every query a few microseconds apiece. Plain, they are evaluated
 * where needed: once per statement as a one-time filter where the query also says `tenant_id = $1`, as every
 * module query does; as an index condition, once per scan, where it does not.
 */
const CURRENT_TENANT_EXPR = "nullif(current_setting('app.tenant_id', true), '')::uuid";
const CURRENT_USER_EXPR = "nullif(current_setting('app.user_id', true), '')::uuid";
const IS_PLATFORM_ADMIN_EXPR = "coalesce(current_setting('app.platform_admin', true), '') = 'on'";
/** Set only by the background worker's transactions (db/tenant.ts), for the job queue and outbox pruning. */
export const IS_WORKER_SQL = "(select coalesce(current_setting('app.worker', true), '') = 'on')";
export const IS_PLATFORM_ADMIN_SQL = "(select coalesce(current_setting('app.platform_admin', true), '') = 'on')";

export const PLATFORM_TENANT_ID = '00000000-0000-0000-0000-000000000001';
export const PLANS = ['starter', 'growth', 'business', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];

const timestamps = {
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
};

/**
 * Tenants are the root of isolation, so they are a reviewed global table: the
 * request role sees the current tenant, the tenants it belongs to, and (inside
 * an audited platform-admin transaction) all of them.
 */
export const tenants = appSchema
  .table(
    'tenants',
    {
      id: uuid('id').primaryKey().defaultRandom(),
      name: text('name').notNull(),
      slug: text('slug').notNull(),
      plan: text('plan', { enum: PLANS }).notNull().default('starter'),
      settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
      stripeCustomerId: text('stripe_customer_id'),
      stripeSubscriptionId: text('stripe_subscription_id'),
      ...timestamps,
      deletedAt: timestamp('deleted_at', { withTimezone: true, mode: 'date' }),
    },
    (t) => [
      uniqueIndex('tenants_slug_key').on(t.slug),
      check('tenants_plan_check', sql.raw(`plan in (${PLANS.map((p) => `'${p}'`).join(', ')})`)),
      check('tenants_slug_check', sql.raw(`slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'`)),
      // The user's own tenants and those inviting them are checked by app.tenant_visible_to_user (migration
      // 0023), a PL/pgSQL function the planner cannot inline: written here as two IN sub-selects, every
      // query touching app.tenants (each request's membership check among them) planned and started both
      // sub-plans, although the first condition almost always decides. The function runs only for rows
      // the cheaper conditions before it did not admit.
      pgPolicy('tenants_select', {
        for: 'select',
        to: appRole,
        using: sql.raw(`id = ${CURRENT_TENANT_EXPR} or ${IS_PLATFORM_ADMIN_EXPR} or app.tenant_visible_to_user(id)`),
      }),
      pgPolicy('tenants_insert', { for: 'insert', to: appRole, withCheck: sql.raw(`id = ${CURRENT_TENANT_EXPR}`) }),
      pgPolicy('tenants_update', {
        for: 'update',
        to: appRole,
        using: sql.raw(`id = ${CURRENT_TENANT_EXPR}`),
        withCheck: sql.raw(`id = ${CURRENT_TENANT_EXPR}`),
      }),
      pgPolicy('tenants_delete', { for: 'delete', to: appRole, using: sql.raw(`id = ${CURRENT_TENANT_EXPR}`) }),
    ],
  )
  .enableRLS();

const tenantMatches = sql.raw(`tenant_id = ${CURRENT_TENANT_EXPR}`);

/** The memberships' own-rows policy: a user's memberships in every tenant, and all of them to a platform admin. */
export const OWN_MEMBERSHIP_SQL = `user_id = ${CURRENT_USER_EXPR} or ${IS_PLATFORM_ADMIN_EXPR}`;

type WithTenantId<TColumns> = TColumns & { tenantId: ReturnType<typeof tenantIdColumn> };
const tenantIdColumn = () =>
  uuid('tenant_id')
    .notNull()
    .references(() => tenants.id, { onDelete: 'cascade' });

interface TenantTableOptions<TName extends string, TColumns extends Record<string, PgColumnBuilderBase>> {
  /** Columns that follow tenant_id in the primary key (usually the row's own id). */
  key: (keyof TColumns & string)[];
  /** Further indexes and unique constraints (lead them with tenant_id), composite foreign keys, checks and extra permissive policies. */
  extra?: (table: BuildExtraConfigColumns<TName, WithTenantId<TColumns>, 'pg'>) => PgTableExtraConfigValue[];
}

/**
 * The one way to declare a tenant-scoped table. It adds `tenant_id uuid not null`
 * referencing the tenant, a primary key led by tenant_id (so every foreign key
 * to the table carries tenant_id too), RLS with select, insert, update and
 * delete policies bound to the transaction's tenant. Migrations then FORCE row
 * level security on every table of the app schema.
 */
export function tenantTable<TName extends string, TColumns extends Record<string, PgColumnBuilderBase>>(
  name: TName,
  columns: TColumns,
  options: TenantTableOptions<TName, TColumns>,
) {
  const allColumns = { tenantId: tenantIdColumn(), ...columns } as WithTenantId<TColumns>;
  return appSchema
    .table(name, allColumns, (t) => {
      const keyColumns = options.key.map((k) => (t as Record<string, never>)[k]);
      return [
        primaryKey({ name: `${name}_pkey`, columns: [t.tenantId, ...(keyColumns as never[])] }),
        pgPolicy(`${name}_tenant_select`, { for: 'select', to: appRole, using: tenantMatches }),
        pgPolicy(`${name}_tenant_insert`, { for: 'insert', to: appRole, withCheck: tenantMatches }),
        pgPolicy(`${name}_tenant_update`, { for: 'update', to: appRole, using: tenantMatches, withCheck: tenantMatches }),
        pgPolicy(`${name}_tenant_delete`, { for: 'delete', to: appRole, using: tenantMatches }),
        ...(options.extra?.(t) ?? []),
      ];
    })
    .enableRLS();
}

export { timestamps };
