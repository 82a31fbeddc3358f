import { and, asc, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { authedProcedure, router } from '../../api/procedures.ts';
import { memberships, ROLES } from '../../db/core-schema.ts';
import { withUser } from '../../db/tenant.ts';
import { PLANS, tenants } from '../../db/tenant-table.ts';

const myTenant = z.object({ id: z.guid(), name: z.string(), slug: z.string(), plan: z.enum(PLANS), role: z.enum(ROLES) });

export const meRouter = router({
  get: authedProcedure
    .meta({ summary: 'Your profile, your tenants and the active one', tags: ['me'], rest: { method: 'GET', path: '/me' } })
    .input(z.object({}).optional())
    .output(
      z.object({
        user: z.object({ id: z.guid(), name: z.string(), email: z.string(), emailVerified: z.boolean() }),
        tenants: z.array(myTenant),
        activeTenantId: z.guid().nullable(),
      }),
    )
    .query(async ({ ctx }) => {
      const { identity } = ctx;
      const mine = await withUser(ctx.services.sessions.bindIdentity(identity), (tx) =>
        tx
          .select({ id: tenants.id, name: tenants.name, slug: tenants.slug, plan: tenants.plan, role: memberships.role })
          .from(memberships)
          .innerJoin(tenants, eq(tenants.id, memberships.tenantId))
          .where(and(eq(memberships.userId, identity.userId), isNull(tenants.deletedAt)))
          .orderBy(asc(tenants.name), asc(tenants.id)),
      );
      const active = ctx.session.activeTenantId;
      return {
        user: { id: identity.userId, name: identity.name, email: identity.email, emailVerified: identity.emailVerified },
        tenants: mine,
        // A tenant the user has since left is not active any more.
        activeTenantId: active && mine.some((t) => t.id === active) ? active : null,
      };
    }),
});
