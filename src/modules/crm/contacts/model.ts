import { and, eq, isNotNull, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import type { TenantPrincipal, Tx } from '../../../db/tenant.ts';
import { emailInput, iso, tagsInput } from '../fields.ts';
import { contacts } from './schema.ts';

export const contactFields = {
  name: z.string().trim().min(1).max(200),
  email: emailInput.nullable(),
  otherEmails: z.array(emailInput).max(20),
  phones: z.array(z.string().trim().min(1).max(50)).max(20),
  companyId: z.guid().nullable(),
  title: z.string().trim().max(200).nullable(),
  tags: tagsInput,
  customFields: z.record(z.string(), z.unknown()),
  ownerUserId: z.guid().nullable(),
  source: z.string().trim().max(100).nullable(),
};

export const contactOutput = z.object({
  id: z.guid(),
  name: z.string(),
  email: z.string().nullable(),
  otherEmails: z.array(z.string()),
  phones: z.array(z.string()),
  companyId: z.guid().nullable(),
  title: z.string().nullable(),
  tags: z.array(z.string()),
  customFields: z.record(z.string(), z.unknown()),
  ownerUserId: z.guid().nullable(),
  source: z.string().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  deletedAt: z.iso.datetime().nullable(),
});

/** Explicit columns, in the order of the output. */
export const contactColumns = {
  id: contacts.id,
  name: contacts.name,
  email: contacts.email,
  otherEmails: contacts.otherEmails,
  phones: contacts.phones,
  companyId: contacts.companyId,
  title: contacts.title,
  tags: contacts.tags,
  customFields: contacts.customFields,
  ownerUserId: contacts.ownerUserId,
  source: contacts.source,
  createdAt: contacts.createdAt,
  updatedAt: contacts.updatedAt,
  deletedAt: contacts.deletedAt,
};

export type ContactRow = Pick<typeof contacts.$inferSelect, keyof typeof contactColumns>;

export const toContactOutput = (row: ContactRow) => ({
  ...row,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
  deletedAt: iso(row.deletedAt),
});

export type Visibility = 'live' | 'deleted' | 'any';

const visible = (visibility: Visibility) =>
  visibility === 'live' ? isNull(contacts.deletedAt) : visibility === 'deleted' ? isNotNull(contacts.deletedAt) : undefined;

/** A contact of the caller's tenant; deleted contacts are found only when asked for. Locks the row when `lock`. */
export async function findContact(
  tx: Tx,
  principal: TenantPrincipal,
  id: string,
  options: { visibility?: Visibility; lock?: boolean } = {},
): Promise<ContactRow> {
  const query = tx
    .select(contactColumns)
    .from(contacts)
    .where(and(eq(contacts.tenantId, principal.tenantId), eq(contacts.id, id), visible(options.visibility ?? 'live')));
  const [row] = options.lock ? await query.for('update') : await query;
  if (!row) throw new AppError('NOT_FOUND');
  return row;
}
