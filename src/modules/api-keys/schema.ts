import { sql } from 'drizzle-orm';
import { check, index, pgPolicy, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { appRole, tenantTable } from '../../db/tenant-table.ts';

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** The highest role a key may act with: keys never act as owners. */
export const KEY_ROLES = ['member', 'admin'] as const;

/**
 * Keys belong to a tenant, not to the member who created it: they keep working
 * when that member leaves. Only the SHA-256 of the secret is stored.
 */
export const apiKeys = tenantTable(
  'api_keys',
  {
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    displayPrefix: text('display_prefix').notNull(),
    secretHash: text('secret_hash').notNull(),
    role: text('role', { enum: KEY_ROLES }).notNull().default('member'),
    /** `group:read` or `group:write`; empty means everything the role allows. */
    scopes: text('scopes').array().notNull().default(sql`'{}'::text[]`),
    createdBy: uuid('created_by'),
    createdAt: at('created_at').notNull().defaultNow(),
    expiresAt: at('expires_at'),
    lastUsedAt: at('last_used_at'),
    revokedAt: at('revoked_at'),
  },
  {
    key: ['id'],
    extra: (t) => [
      // A presented key is looked up before its tenant is known (see app.resolve_api_key).
      uniqueIndex('api_keys_secret_hash_key').on(t.secretHash),
      index('api_keys_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
      check('api_keys_role_check', sql.raw(`role in (${KEY_ROLES.map((r) => `'${r}'`).join(', ')})`)),
      check('api_keys_name_check', sql.raw('char_length(name) between 1 and 100')),
      // The one way to see a key outside its tenant: present the hash of its secret.
      pgPolicy('api_keys_presented_select', {
        for: 'select',
        to: appRole,
        using: sql.raw(`secret_hash = nullif(current_setting('app.api_key_hash', true), '')`),
      }),
    ],
  },
);
