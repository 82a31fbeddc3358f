import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { grantPlatformAdmin } from './db/bootstrap.ts';
import { memberships, type Role } from './db/core-schema.ts';
import { queryRows, withTenant, withUser } from './db/tenant.ts';
import { PLATFORM_TENANT_ID } from './db/tenant-table.ts';
import { agents } from './modules/ai/agents/schema.ts';
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
 * The platform tenant's starter catalog: global agents every tenant can use
 * as they are (and never change). They answer from the using tenant's own
 * knowledge base, in the categories listed.
 */
export const STARTER_AGENTS = [
  {
    name: 'Support assistant',
    description: 'Answers customer questions from your help articles and policies.',
    systemPrompt:
      'You are a friendly, precise customer support assistant. Answer only from the provided sources; if they do not cover the question, say so and offer to connect the customer with a person.',
    knowledgeCategories: ['support', 'general'],
    temperature: 0.3,
  },
  {
    name: 'Sales assistant',
    description: 'Explains products, plans and prices to prospective customers.',
    systemPrompt:
      'You help prospective customers understand products, plans and prices. Be concise, never invent prices or features that the sources do not state, and suggest booking a call for complex needs.',
    knowledgeCategories: ['sales', 'general'],
    temperature: 0.5,
  },
  {
    name: 'Internal knowledge assistant',
    description: 'Helps your team find answers in internal documents.',
    systemPrompt:
      'You help employees find information in internal documents. Quote the relevant passage and name the document it comes from.',
    knowledgeCategories: ['internal', 'general'],
    temperature: 0.2,
  },
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
  const platform = await services.sessions.enterTenant(admin.identity, PLATFORM_TENANT_ID);
  await withTenant(platform, (tx) =>
    tx.insert(agents).values(
      STARTER_AGENTS.map((agent) => ({
        ...agent,
        knowledgeCategories: [...agent.knowledgeCategories],
        tenantId: PLATFORM_TENANT_ID,
        model: 'gpt-4o-mini',
        sharing: 'global' as const,
      })),
    ),
  );

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
