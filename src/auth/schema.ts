import { sql } from 'drizzle-orm';
import { boolean, index, pgPolicy, pgSchema, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { appRole, CURRENT_TENANT_SQL, CURRENT_USER_SQL, IS_PLATFORM_ADMIN_SQL } from '../db/tenant-table.ts';

/**
 * Better Auth's tables live apart in the `auth` schema, owned by the migration
 * role and written only by the auth library's own connection. The request role
 * may read a few profile columns of users it shares a tenant with (granted per
 * column in the security migration) and nothing of sessions, accounts or
 * verification tokens.
 */
export const authSchema = pgSchema('auth');

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const users = authSchema
  .table(
    'users',
    {
      id: uuid('id').primaryKey().defaultRandom(),
      name: text('name').notNull(),
      email: text('email').notNull(),
      emailVerified: boolean('email_verified').notNull().default(false),
      image: text('image'),
      createdAt: at('created_at').notNull().defaultNow(),
      updatedAt: at('updated_at').notNull().defaultNow(),
    },
    (t) => [
      uniqueIndex('users_email_key').on(sql`lower(${t.email})`),
      pgPolicy('users_visible_select', {
        for: 'select',
        to: appRole,
        using: sql.raw(
          `id = ${CURRENT_USER_SQL} or ${IS_PLATFORM_ADMIN_SQL} or id in (select m.user_id from app.memberships m where m.tenant_id = ${CURRENT_TENANT_SQL})`,
        ),
      }),
    ],
  )
  .enableRLS();

export const sessions = authSchema
  .table(
    'sessions',
    {
      id: uuid('id').primaryKey().defaultRandom(),
      token: text('token').notNull(),
      userId: uuid('user_id')
        .notNull()
        .references(() => users.id, { onDelete: 'cascade' }),
      expiresAt: at('expires_at').notNull(),
      ipAddress: text('ip_address'),
      userAgent: text('user_agent'),
      /** The tenant this session works in; re-checked against memberships on every request. */
      activeTenantId: uuid('active_tenant_id'),
      createdAt: at('created_at').notNull().defaultNow(),
      updatedAt: at('updated_at').notNull().defaultNow(),
    },
    (t) => [uniqueIndex('sessions_token_key').on(t.token), index('sessions_user_idx').on(t.userId)],
  )
  .enableRLS();

export const accounts = authSchema
  .table(
    'accounts',
    {
      id: uuid('id').primaryKey().defaultRandom(),
      accountId: text('account_id').notNull(),
      providerId: text('provider_id').notNull(),
      userId: uuid('user_id')
        .notNull()
        .references(() => users.id, { onDelete: 'cascade' }),
      accessToken: text('access_token'),
      refreshToken: text('refresh_token'),
      idToken: text('id_token'),
      accessTokenExpiresAt: at('access_token_expires_at'),
      refreshTokenExpiresAt: at('refresh_token_expires_at'),
      scope: text('scope'),
      password: text('password'),
      createdAt: at('created_at').notNull().defaultNow(),
      updatedAt: at('updated_at').notNull().defaultNow(),
    },
    (t) => [index('accounts_user_idx').on(t.userId), uniqueIndex('accounts_provider_key').on(t.providerId, t.accountId)],
  )
  .enableRLS();

export const verifications = authSchema
  .table(
    'verifications',
    {
      id: uuid('id').primaryKey().defaultRandom(),
      identifier: text('identifier').notNull(),
      value: text('value').notNull(),
      expiresAt: at('expires_at').notNull(),
      createdAt: at('created_at').notNull().defaultNow(),
      updatedAt: at('updated_at').notNull().defaultNow(),
    },
    (t) => [index('verifications_identifier_idx').on(t.identifier)],
  )
  .enableRLS();
