import { sql } from 'drizzle-orm';
import { check, index, pgPolicy, text, uuid } from 'drizzle-orm/pg-core';
import { users } from '../auth/schema.ts';
import { appRole, OWN_MEMBERSHIP_SQL, tenantTable, timestamps } from './tenant-table.ts';

export const ROLES = ['owner', 'admin', 'member'] as const;
export type Role = (typeof ROLES)[number];

/** Higher rank, more rights: owner > admin > member. */
export const ROLE_RANK: Record<Role, number> = { owner: 3, admin: 2, member: 1 };

/**
 * A user's membership in a tenant. Besides the tenant policies, a user may read
 * their own memberships in every tenant (to list and switch tenants), and a
 * platform admin may read all of them inside an audited platform transaction.
 */
export const memberships = tenantTable(
  'memberships',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text('role', { enum: ROLES }).notNull(),
    ...timestamps,
  },
  {
    key: ['userId'],
    extra: (t) => [
      index('memberships_user_idx').on(t.userId, t.tenantId),
      check('memberships_role_check', sql.raw(`role in ('owner', 'admin', 'member')`)),
      pgPolicy('memberships_own_select', { for: 'select', to: appRole, using: sql.raw(OWN_MEMBERSHIP_SQL) }),
    ],
  },
);
