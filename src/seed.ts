import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { grantPlatformAdmin } from './db/bootstrap.ts';
import { memberships, type Role } from './db/core-schema.ts';
import { queryRows, withTenant, withUser } from './db/tenant.ts';
import type { PalisadeServer } from './server.ts';

export interface SeededUser {
  email: string;
  password: string;
  tenant: string;
  role: Role;
}

const DEMO_TENANTS = [
  { name: 'Acme Corporation', slug: 'acme' },
  { name: 'Globex Industries', slug: 'globex' },
] as const;

/**
 * Seeds a demo on an empty database: a platform admin and two tenants with an
 * owner, an admin and a member each. Passwords are random and returned once,
 * for the caller to print. Does nothing when users exist already.
 */
export async function seedDemo(server: PalisadeServer): Promise<SeededUser[] | null> {
  const { auth, database, services } = server;
  const [{ count } = { count: 0 }] = await database.ownerQuery<{ count: number }>(
    'select count(*)::int as count from auth.users',
  );
  if (count > 0) return null;

  const seeded: SeededUser[] = [];
  async function createUser(name: string, email: string) {
    const password = randomBytes(9).toString('base64url');
    const result = await auth.api.signUpEmail({ body: { name, email, password } });
    await database.ownerQuery('update auth.users set email_verified = true where id = $1', [result.user.id]);
    return { identity: services.sessions.bindIdentity({ userId: result.user.id, email, emailVerified: true, name }), password };
  }

  const admin = await createUser('Platform Admin', 'admin@palisade.local');
  await grantPlatformAdmin(database, admin.identity.userId);
  seeded.push({ email: 'admin@palisade.local', password: admin.password, tenant: 'platform', role: 'owner' });

  for (const tenant of DEMO_TENANTS) {
    const people = {} as Record<Role, Awaited<ReturnType<typeof createUser>>>;
    for (const role of ['owner', 'admin', 'member'] as const) {
      const email = `${role}@${tenant.slug}.example`;
      people[role] = await createUser(`${tenant.name.split(' ')[0]} ${role[0]?.toUpperCase()}${role.slice(1)}`, email);
      seeded.push({ email, password: people[role].password, tenant: tenant.slug, role });
    }
    const owner = people.owner.identity;
    const [created] = await withUser(owner, (tx) =>
      queryRows<{ id: string }>(tx, sql`select app.create_tenant(${tenant.name}, ${tenant.slug}, ${owner.userId}) as id`),
    );
    if (!created) throw new Error('seed: tenant not created');
    const principal = await services.sessions.enterTenant(owner, created.id);
    await withTenant(principal, (tx) =>
      tx.insert(memberships).values([
        { tenantId: created.id, userId: people.admin.identity.userId, role: 'admin' },
        { tenantId: created.id, userId: people.member.identity.userId, role: 'member' },
      ]),
    );
  }
  return seeded;
}
