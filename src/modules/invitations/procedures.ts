import { randomBytes } from 'node:crypto';
import { and, desc, eq, gt, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Services } from '../../api/context.ts';
import { AppError } from '../../api/errors.ts';
import { keyset, listInput, page, pageOf } from '../../api/pagination.ts';
import { adminProcedure, authedProcedure, memberOnly, router } from '../../api/procedures.ts';
import { actorOf, recordAudit } from '../../audit/record.ts';
import { users } from '../../auth/schema.ts';
import { publicUrl } from '../../config.ts';
import { sha256Hex } from '../../crypto/hash.ts';
import { memberships, ROLES } from '../../db/core-schema.ts';
import { queryRows, type TenantPrincipal, type Tx, withTenant, withUser } from '../../db/tenant.ts';
import { tenants } from '../../db/tenant-table.ts';
import { emitEvent } from '../../events/emit.ts';
import { INVITATION_STATUSES, invitations } from './schema.ts';

const invitationOutput = z.object({
  id: z.guid(),
  email: z.string(),
  role: z.enum(ROLES),
  status: z.enum(INVITATION_STATUSES),
  invitedBy: z.guid().nullable(),
  expiresAt: z.iso.datetime(),
  createdAt: z.iso.datetime(),
});

/** What creating or resending answers: the invitation, and whether its email reached the SMTP server. */
const mailedInvitationOutput = invitationOutput.extend({ emailSent: z.boolean() });

/** Explicit columns: the token hash never leaves the database. */
const invitationColumns = {
  id: invitations.id,
  email: invitations.email,
  role: invitations.role,
  status: invitations.status,
  invitedBy: invitations.invitedBy,
  expiresAt: invitations.expiresAt,
  createdAt: invitations.createdAt,
};

type InvitationRow = {
  id: string;
  email: string;
  role: (typeof ROLES)[number];
  status: (typeof INVITATION_STATUSES)[number];
  invitedBy: string | null;
  expiresAt: Date;
  createdAt: Date;
};
const toInvitationOutput = (row: InvitationRow) => ({
  ...row,
  expiresAt: row.expiresAt.toISOString(),
  createdAt: row.createdAt.toISOString(),
});

const hashToken = sha256Hex;

function newToken() {
  const token = randomBytes(32).toString('base64url');
  return { token, tokenHash: hashToken(token) };
}

/**
 * Mails the invitation after its transaction committed, and tells whether it went out. A failure
 * (logged by the mailer) leaves the invitation pending: the admin sees `emailSent: false` and can
 * resend, rather than an error for an invitation that exists. Awaited so that `emailSent` is the
 * real outcome; the mailer's timeouts bound the wait on an unresponsive SMTP server.
 */
async function sendInvitation(
  services: Services,
  invitation: { id: string; email: string },
  tenantName: string,
  inviter: string,
  token: string,
): Promise<boolean> {
  const link = `${publicUrl(services.config)}/invitations/accept?token=${token}`;
  return services.mailer.send({
    to: invitation.email,
    subject: `${inviter} invited you to ${tenantName} on Palisade`,
    text: `${inviter} invited you to join ${tenantName} on Palisade.\n\nAccept or decline here:\n${link}\n\nThe invitation expires in ${services.config.INVITATION_TTL_HOURS} hours.`,
    purpose: 'invitation',
    recordId: invitation.id,
  });
}

/**
 * The pending invitation an admin wants to change, locked. Invitations that
 * would make someone an owner are an owner's business, like owner memberships.
 */
async function pendingInvitation(tx: Tx, principal: TenantPrincipal, id: string) {
  const [row] = await tx
    .select({ role: invitations.role })
    .from(invitations)
    .where(and(eq(invitations.tenantId, principal.tenantId), eq(invitations.id, id), eq(invitations.status, 'pending')))
    .for('update');
  if (!row) throw new AppError('NOT_FOUND');
  if (row.role === 'owner' && principal.role !== 'owner') throw new AppError('FORBIDDEN');
}

const tokenInput = z.object({ token: z.string().min(20).max(200) });

function respond(accept: boolean) {
  return authedProcedure
    .meta({
      summary: accept ? 'Accept an invitation with the token from its email' : 'Decline an invitation',
      tags: ['invitations'],
      rest: { method: 'POST', path: accept ? '/invitations/accept' : '/invitations/decline' },
    })
    .input(tokenInput)
    .output(z.object({ tenantId: z.guid(), role: z.enum(ROLES), status: z.enum(['accepted', 'declined']) }))
    .mutation(async ({ ctx, input }) => {
      const identity = ctx.services.sessions.bindIdentity(ctx.identity);
      const result = await withUser(identity, async (tx) => {
        const [row] = await queryRows<{ tenant_id: string; role: (typeof ROLES)[number] }>(
          tx,
          sql`select * from app.respond_to_invitation(${hashToken(input.token)}, ${identity.userId}, ${identity.email}, ${accept})`,
        );
        if (!row) throw new AppError('NOT_FOUND');
        const actor = {
          tenantId: row.tenant_id,
          userId: identity.userId,
          requestId: ctx.requestId,
          ip: ctx.ip,
          userAgent: ctx.userAgent,
        };
        await recordAudit(tx, actor, {
          action: accept ? 'invitation.accepted' : 'invitation.declined',
          targetType: 'user',
          targetId: identity.userId,
          data: { role: row.role },
        });
        if (accept) {
          await emitEvent(tx, actor, 'member.created', {
            userId: identity.userId,
            role: row.role,
          });
        }
        return row;
      });
      if (accept) await ctx.services.sessions.setActiveTenant(ctx.session.sessionToken, result.tenant_id);
      return { tenantId: result.tenant_id, role: result.role, status: accept ? ('accepted' as const) : ('declined' as const) };
    });
}

export const invitationsRouter = router({
  list: adminProcedure
    .meta({
      scope: 'invitations:read',
      summary: 'Invitations of the active tenant',
      tags: ['invitations'],
      rest: { method: 'GET', path: '/invitations' },
    })
    .input(listInput(['createdAt', 'email', 'expiresAt']).extend({ status: z.enum(INVITATION_STATUSES).optional() }))
    .output(pageOf(invitationOutput))
    .query(async ({ ctx, input }) => {
      const { where, orderBy, limit } = keyset(
        input,
        { createdAt: invitations.createdAt, email: invitations.email, expiresAt: invitations.expiresAt },
        invitations.id,
      );
      const rows = await withTenant(ctx.principal, (tx) =>
        tx
          .select(invitationColumns)
          .from(invitations)
          .where(
            and(
              eq(invitations.tenantId, ctx.principal.tenantId),
              input.status ? eq(invitations.status, input.status) : undefined,
              where,
            ),
          )
          .orderBy(...orderBy)
          .limit(limit),
      );
      const result = page(rows, input, (row, field) => [row[field as keyof InvitationRow], row.id]);
      return { items: result.items.map(toInvitationOutput), nextCursor: result.nextCursor };
    }),

  create: adminProcedure
    .meta({
      summary: 'Invite someone by email',
      tags: ['invitations'],
      rest: { method: 'POST', path: '/invitations', status: 201 },
    })
    .input(z.object({ email: z.email().max(320), role: z.enum(ROLES).default('member') }))
    .output(mailedInvitationOutput)
    .mutation(async ({ ctx, input }) => {
      const { services } = ctx;
      const { principal } = memberOnly(ctx);
      if (input.role === 'owner' && principal.role !== 'owner') throw new AppError('FORBIDDEN');
      const { token, tokenHash } = newToken();
      const { row, tenantName } = await withTenant(principal, async (tx) => {
        const [existing] = await tx
          .select({ userId: memberships.userId })
          .from(memberships)
          .innerJoin(users, eq(users.id, memberships.userId))
          .where(and(eq(memberships.tenantId, principal.tenantId), sql`lower(${users.email}) = lower(${input.email})`));
        if (existing) throw new AppError('ALREADY_MEMBER');
        const [created] = await tx
          .insert(invitations)
          .values({
            tenantId: principal.tenantId,
            email: input.email,
            role: input.role,
            tokenHash,
            invitedBy: principal.userId,
            expiresAt: new Date(Date.now() + services.config.INVITATION_TTL_HOURS * 3_600_000),
          })
          .returning(invitationColumns);
        if (!created) throw new AppError('INTERNAL');
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'invitation.created',
          targetType: 'invitation',
          targetId: created.id,
          data: { role: input.role },
        });
        await emitEvent(tx, actorOf(principal, ctx), 'invitation.created', { id: created.id, role: input.role });
        const [tenant] = await tx.select({ name: tenants.name }).from(tenants).where(eq(tenants.id, principal.tenantId));
        return { row: created, tenantName: tenant?.name ?? 'a tenant' };
      });
      const emailSent = await sendInvitation(services, row, tenantName, principal.name, token);
      return { ...toInvitationOutput(row), emailSent };
    }),

  cancel: adminProcedure
    .meta({
      summary: 'Cancel a pending invitation',
      tags: ['invitations'],
      rest: { method: 'POST', path: '/invitations/{id}/cancel' },
    })
    .input(z.object({ id: z.guid() }))
    .output(invitationOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = memberOnly(ctx);
      const row = await withTenant(principal, async (tx) => {
        await pendingInvitation(tx, principal, input.id);
        const [updated] = await tx
          .update(invitations)
          .set({ status: 'cancelled', respondedAt: new Date(), updatedAt: new Date() })
          .where(
            and(eq(invitations.tenantId, principal.tenantId), eq(invitations.id, input.id), eq(invitations.status, 'pending')),
          )
          .returning(invitationColumns);
        if (!updated) throw new AppError('NOT_FOUND');
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'invitation.cancelled',
          targetType: 'invitation',
          targetId: input.id,
        });
        await emitEvent(tx, actorOf(principal, ctx), 'invitation.updated', { id: input.id, status: 'cancelled' });
        return updated;
      });
      return toInvitationOutput(row);
    }),

  resend: adminProcedure
    .meta({
      summary: 'Send a pending invitation again with a new link and expiry',
      tags: ['invitations'],
      rest: { method: 'POST', path: '/invitations/{id}/resend' },
    })
    .input(z.object({ id: z.guid() }))
    .output(mailedInvitationOutput)
    .mutation(async ({ ctx, input }) => {
      const { services } = ctx;
      const { principal } = memberOnly(ctx);
      const { token, tokenHash } = newToken();
      const { row, tenantName } = await withTenant(principal, async (tx) => {
        await pendingInvitation(tx, principal, input.id);
        const [updated] = await tx
          .update(invitations)
          .set({
            tokenHash,
            expiresAt: new Date(Date.now() + services.config.INVITATION_TTL_HOURS * 3_600_000),
            updatedAt: new Date(),
          })
          .where(
            and(eq(invitations.tenantId, principal.tenantId), eq(invitations.id, input.id), eq(invitations.status, 'pending')),
          )
          .returning(invitationColumns);
        if (!updated) throw new AppError('NOT_FOUND');
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'invitation.resent',
          targetType: 'invitation',
          targetId: input.id,
        });
        await emitEvent(tx, actorOf(principal, ctx), 'invitation.updated', { id: input.id, resent: true });
        const [tenant] = await tx.select({ name: tenants.name }).from(tenants).where(eq(tenants.id, principal.tenantId));
        return { row: updated, tenantName: tenant?.name ?? 'a tenant' };
      });
      const emailSent = await sendInvitation(services, row, tenantName, principal.name, token);
      return { ...toInvitationOutput(row), emailSent };
    }),

  mine: authedProcedure
    .meta({
      summary: 'Pending invitations to your verified email',
      tags: ['invitations'],
      rest: { method: 'GET', path: '/me/invitations' },
    })
    .input(z.object({}).optional())
    .output(z.array(invitationOutput.extend({ tenantName: z.string() })))
    .query(async ({ ctx }) => {
      if (!ctx.identity.emailVerified) return [];
      const rows = await withUser(ctx.services.sessions.bindIdentity(ctx.identity), (tx) =>
        tx
          .select({ ...invitationColumns, tenantName: tenants.name })
          .from(invitations)
          .innerJoin(tenants, eq(tenants.id, invitations.tenantId))
          .where(
            and(
              sql`lower(${invitations.email}) = lower(${ctx.identity.email})`,
              eq(invitations.status, 'pending'),
              gt(invitations.expiresAt, new Date()),
              // A deleted tenant's invitations can no longer be accepted (app.respond_to_invitation).
              isNull(tenants.deletedAt),
            ),
          )
          .orderBy(desc(invitations.createdAt))
          .limit(100),
      );
      return rows.map((r) => ({ ...toInvitationOutput(r), tenantName: r.tenantName }));
    }),

  accept: respond(true),
  decline: respond(false),
});
