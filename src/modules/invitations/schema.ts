import { sql } from 'drizzle-orm';
import { check, index, pgPolicy, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { ROLES } from '../../db/core-schema.ts';
import { appRole, tenantTable, timestamps } from '../../db/tenant-table.ts';

export const INVITATION_STATUSES = ['pending', 'accepted', 'declined', 'cancelled'] as const;

/**
 * An invitation by email. The token travels only in the emailed link; the
 * table keeps its SHA-256. Besides the tenant policies, the invitee may read
 * invitations addressed to their own verified email, or the one whose token
 * they present (app.respond_to_invitation).
 */
export const invitations = tenantTable(
  'invitations',
  {
    id: uuid('id').notNull().defaultRandom(),
    email: text('email').notNull(),
    role: text('role', { enum: ROLES }).notNull(),
    tokenHash: text('token_hash').notNull(),
    status: text('status', { enum: INVITATION_STATUSES }).notNull().default('pending'),
    invitedBy: uuid('invited_by'),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    respondedAt: timestamp('responded_at', { withTimezone: true, mode: 'date' }),
    ...timestamps,
  },
  {
    key: ['id'],
    extra: (t) => [
      uniqueIndex('invitations_pending_email_key').on(t.tenantId, sql`lower(${t.email})`).where(sql`status = 'pending'`),
      uniqueIndex('invitations_token_key').on(t.tokenHash),
      index('invitations_email_idx').on(sql`lower(${t.email})`),
      check('invitations_role_check', sql.raw(`role in ('owner', 'admin', 'member')`)),
      check('invitations_status_check', sql.raw(`status in ('pending', 'accepted', 'declined', 'cancelled')`)),
      pgPolicy('invitations_invitee_select', {
        for: 'select',
        to: appRole,
        using: sql.raw(
          `lower(email) = lower(nullif(current_setting('app.user_email', true), '')) or token_hash = nullif(current_setting('app.invitation_token', true), '')`,
        ),
      }),
    ],
  },
);
