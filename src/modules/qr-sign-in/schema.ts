import { sql } from 'drizzle-orm';
import { check, foreignKey, index, pgPolicy, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../../auth/schema.ts';
import { appRole, appSchema } from '../../db/tenant-table.ts';

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const QR_STATUSES = ['pending', 'approved', 'used'] as const;
export type QrStatus = (typeof QR_STATUSES)[number];

/** The poll secret's hash, set transaction-locally by the signed-out device's requests. */
const POLL_HASH = "nullif(current_setting('app.qr_poll_hash', true), '')";
/** The approval code's hash, set transaction-locally by the approving (signed-in) device's request. */
const APPROVE_HASH = "nullif(current_setting('app.qr_approve_hash', true), '')";
const PRESENTED = `poll_hash = ${POLL_HASH} or approve_hash = ${APPROVE_HASH}`;

/**
 * QR sign-in sessions (docs/qr-sign-in.md). Not tenant data: a row belongs to
 * a signed-out device until a user approves it. Only SHA-256 hashes of its
 * two secrets are stored, and the request role sees a row only while it
 * presents one of them (the `app.qr_*_hash` settings, as `app.api_key_hash`
 * works for API keys): no listing, no reaching another device's row.
 */
export const qrSignIns = appSchema.table(
  'qr_sign_ins',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** SHA-256 of the secret only the signed-out device holds (it polls with it). */
    pollHash: text('poll_hash').notNull(),
    /** SHA-256 of the code in the QR image (the approving device presents it). */
    approveHash: text('approve_hash').notNull(),
    status: text('status', { enum: QR_STATUSES }).notNull().default('pending'),
    /** The approving user, once approved. */
    userId: uuid('user_id'),
    requesterIp: text('requester_ip'),
    requesterAgent: text('requester_agent'),
    createdAt: at('created_at').notNull().defaultNow(),
    expiresAt: at('expires_at').notNull(),
    approvedAt: at('approved_at'),
    usedAt: at('used_at'),
  },
  (t) => [
    uniqueIndex('qr_sign_ins_poll_hash_key').on(t.pollHash),
    uniqueIndex('qr_sign_ins_approve_hash_key').on(t.approveHash),
    index('qr_sign_ins_expires_idx').on(t.expiresAt),
    foreignKey({ name: 'qr_sign_ins_user_fk', columns: [t.userId], foreignColumns: [users.id] }).onDelete('cascade'),
    check('qr_sign_ins_status_check', sql.raw(`status in (${QR_STATUSES.map((s) => `'${s}'`).join(', ')})`)),
    check('qr_sign_ins_user_check', sql.raw(`(status = 'pending') = (user_id is null)`)),
    pgPolicy('qr_sign_ins_presented_select', { for: 'select', to: appRole, using: sql.raw(PRESENTED) }),
    // A new row must carry the poll hash its creator presents, unapproved.
    pgPolicy('qr_sign_ins_presented_insert', {
      for: 'insert',
      to: appRole,
      withCheck: sql.raw(`poll_hash = ${POLL_HASH} and status = 'pending' and user_id is null`),
    }),
    pgPolicy('qr_sign_ins_presented_update', {
      for: 'update',
      to: appRole,
      using: sql.raw(PRESENTED),
      withCheck: sql.raw(PRESENTED),
    }),
    // No delete policy: the request role cannot delete; expired rows are pruned by the owner (docs/qr-sign-in.md).
  ],
);
