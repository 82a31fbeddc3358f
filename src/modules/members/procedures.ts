import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../api/errors.ts';
import { keyset, listInput, page, pageOf } from '../../api/pagination.ts';
import { adminProcedure, memberOnly, router, tenantProcedure } from '../../api/procedures.ts';
import { actorOf, recordAudit } from '../../audit/record.ts';
import { users } from '../../auth/schema.ts';
import { memberships, ROLE_RANK, ROLES, type Role } from '../../db/core-schema.ts';
import { type MemberPrincipal, type Tx, withTenant } from '../../db/tenant.ts';
import { emitEvent } from '../../events/emit.ts';

const memberOutput = z.object({
  userId: z.guid(),
  name: z.string(),
  email: z.string(),
  role: z.enum(ROLES),
  joinedAt: z.iso.datetime(),
});

const memberColumns = {
  userId: memberships.userId,
  name: users.name,
  email: users.email,
  role: memberships.role,
  joinedAt: memberships.createdAt,
};

type MemberRow = { userId: string; name: string; email: string; role: Role; joinedAt: Date };
const toMemberOutput = (row: MemberRow) => ({ ...row, joinedAt: row.joinedAt.toISOString() });

const listMembersInput = listInput(['joinedAt', 'email', 'name']).extend({ role: z.enum(ROLES).optional() });

/** Locks the tenant's owner rows, so two concurrent demotions cannot both pass the last-owner check. */
async function lockOwners(tx: Tx, tenantId: string): Promise<string[]> {
  const rows = await tx
    .select({ userId: memberships.userId })
    .from(memberships)
    .where(and(eq(memberships.tenantId, tenantId), eq(memberships.role, 'owner')))
    .for('update');
  return rows.map((r) => r.userId);
}

async function findMember(tx: Tx, tenantId: string, userId: string): Promise<{ role: Role } | undefined> {
  const [row] = await tx
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.tenantId, tenantId), eq(memberships.userId, userId)))
    .for('update');
  return row;
}

/**
 * Admins manage members below owner; anything that touches an owner needs an owner. Judged by the caller's
 * role as it is now (lockForChange), not as it was when the request was admitted.
 */
function assertMayManage(callerRole: Role | undefined, targetRole: Role, newRole?: Role): void {
  if (!callerRole || ROLE_RANK[callerRole] < ROLE_RANK.admin) throw new AppError('FORBIDDEN');
  if ((targetRole === 'owner' || newRole === 'owner') && callerRole !== 'owner') throw new AppError('FORBIDDEN');
}

/**
 * Locks the owners, then the target member: always in that order, so two concurrent changes to two owners
 * cannot deadlock each other. Every change of a membership takes the owner lock first, so once it is held
 * the caller's role read here is current: a request admitted as an owner, which waited here while another
 * owner's demotion of its caller committed, acts as what its caller is now.
 */
async function lockForChange(tx: Tx, caller: MemberPrincipal, userId: string) {
  const owners = await lockOwners(tx, caller.tenantId);
  const target = await findMember(tx, caller.tenantId, userId);
  if (!target) throw new AppError('NOT_FOUND');
  const callerRole = caller.userId === userId ? target.role : (await findMember(tx, caller.tenantId, caller.userId))?.role;
  return { owners, target, callerRole };
}

async function removeMembership(tx: Tx, principal: MemberPrincipal, userId: string): Promise<Role> {
  const { owners, target, callerRole } = await lockForChange(tx, principal, userId);
  // Leaving needs no role; removing someone else does.
  if (userId !== principal.userId) assertMayManage(callerRole, target.role);
  if (target.role === 'owner' && owners.length <= 1) throw new AppError('LAST_OWNER');
  await tx.delete(memberships).where(and(eq(memberships.tenantId, principal.tenantId), eq(memberships.userId, userId)));
  return target.role;
}

export const membersRouter = router({
  list: tenantProcedure
    .meta({
      scope: 'members:read',
      summary: 'Members of the active tenant',
      tags: ['members'],
      rest: { method: 'GET', path: '/members' },
    })
    .input(listMembersInput)
    .output(pageOf(memberOutput))
    .query(async ({ ctx, input }) => {
      const { where, orderBy, limit } = keyset(
        input,
        { joinedAt: memberships.createdAt, email: users.email, name: users.name },
        memberships.userId,
      );
      const rows = await withTenant(ctx.principal, (tx) =>
        tx
          .select(memberColumns)
          .from(memberships)
          .innerJoin(users, eq(users.id, memberships.userId))
          .where(
            and(
              eq(memberships.tenantId, ctx.principal.tenantId),
              input.role ? eq(memberships.role, input.role) : undefined,
              where,
            ),
          )
          .orderBy(...orderBy)
          .limit(limit),
      );
      const result = page(rows, input, (row, field) => [row[field as keyof MemberRow] as unknown, row.userId]);
      return { items: result.items.map(toMemberOutput), nextCursor: result.nextCursor };
    }),

  changeRole: adminProcedure
    .meta({ summary: "Change a member's role", tags: ['members'], rest: { method: 'PATCH', path: '/members/{userId}' } })
    .input(z.object({ userId: z.guid(), role: z.enum(ROLES) }))
    .output(memberOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = memberOnly(ctx);
      const { updated, previousRole } = await withTenant(principal, async (tx) => {
        const { owners, target, callerRole } = await lockForChange(tx, principal, input.userId);
        assertMayManage(callerRole, target.role, input.role);
        if (target.role === 'owner' && input.role !== 'owner' && owners.length <= 1) throw new AppError('LAST_OWNER');
        await tx
          .update(memberships)
          .set({ role: input.role, updatedAt: new Date() })
          .where(and(eq(memberships.tenantId, principal.tenantId), eq(memberships.userId, input.userId)));
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'member.role_changed',
          targetType: 'user',
          targetId: input.userId,
          before: { role: target.role },
          after: { role: input.role },
        });
        await emitEvent(tx, actorOf(principal, ctx), 'member.updated', { userId: input.userId, role: input.role });
        const [updated] = await tx
          .select(memberColumns)
          .from(memberships)
          .innerJoin(users, eq(users.id, memberships.userId))
          .where(and(eq(memberships.tenantId, principal.tenantId), eq(memberships.userId, input.userId)));
        if (!updated) throw new AppError('NOT_FOUND');
        return { updated, previousRole: target.role };
      });
      // Rotation: sessions issued under the old role end; the member signs in again under the new one.
      if (previousRole !== input.role && input.userId !== principal.userId) {
        await ctx.services.sessions.revokeAllSessions(input.userId);
      }
      return toMemberOutput(updated);
    }),

  remove: adminProcedure
    .meta({
      summary: 'Remove a member from the active tenant',
      tags: ['members'],
      rest: { method: 'DELETE', path: '/members/{userId}' },
    })
    .input(z.object({ userId: z.guid() }))
    .output(z.object({ removed: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      const { principal } = memberOnly(ctx);
      await withTenant(principal, async (tx) => {
        const role = await removeMembership(tx, principal, input.userId);
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'member.removed',
          targetType: 'user',
          targetId: input.userId,
          data: { role },
        });
        await emitEvent(tx, actorOf(principal, ctx), 'member.deleted', { userId: input.userId });
      });
      return { removed: true as const };
    }),

  leave: tenantProcedure
    .meta({ summary: 'Leave the active tenant', tags: ['members'], rest: { method: 'POST', path: '/members/leave' } })
    .input(z.object({}).optional())
    .output(z.object({ left: z.literal(true) }))
    .mutation(async ({ ctx }) => {
      const { principal, session } = memberOnly(ctx);
      await withTenant(principal, async (tx) => {
        const role = await removeMembership(tx, principal, principal.userId);
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'member.left',
          targetType: 'user',
          targetId: principal.userId,
          data: { role },
        });
        await emitEvent(tx, actorOf(principal, ctx), 'member.deleted', { userId: principal.userId });
      });
      if (session.activeTenantId === principal.tenantId) {
        await ctx.services.sessions.setActiveTenant(session.sessionToken, null);
      }
      return { left: true as const };
    }),
});
