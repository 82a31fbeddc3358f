import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ApiClient, createTenant, signUp, type TenantFixture } from '../../../test/support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../../../test/support/harness.ts';
import { grantPlatformAdmin } from '../../db/bootstrap.ts';
import { PLATFORM_TENANT_ID } from '../../db/tenant-table.ts';

describeEachBackend('platform administration', (backend) => {
  let t: TestServer;
  let acme: TenantFixture;
  let platformAdmin: ApiClient;

  beforeAll(async () => {
    t = await startTestServer(backend);
    acme = await createTenant(t.url, t.inbox, 'acme');
    await createTenant(t.url, t.inbox, 'globex');
    platformAdmin = await signUp(t.url, 'platform');
    await grantPlatformAdmin(t.server.database, platformAdmin.userId);
  });
  afterAll(() => t?.close());

  it('lists every tenant and user to platform admins, and audits each read', async () => {
    const tenants = await platformAdmin.get('/api/v1/platform/tenants?limit=100');
    expect(tenants.status).toBe(200);
    const slugs = tenants.body.items.map((x: { slug: string }) => x.slug);
    expect(slugs).toContain(acme.slug);
    expect(slugs).toContain('platform');
    expect(tenants.body.items.find((x: { id: string }) => x.id === acme.id).memberCount).toBe(3);
    const users = await platformAdmin.get(`/api/v1/platform/users?q=${encodeURIComponent(acme.member.email)}`);
    expect(users.body.items).toEqual([expect.objectContaining({ email: acme.member.email, tenantCount: 1 })]);
    const audit = await t.ownerQuery<{ action: string }>(
      'select action from app.audit_log where tenant_id = $1 and actor_user_id = $2 order by created_at',
      [PLATFORM_TENANT_ID, platformAdmin.userId],
    );
    expect(audit.map((a) => a.action)).toEqual(['platform.tenants.listed', 'platform.users.listed']);
  });

  it('refuses tenant owners and plain members of the platform tenant', async () => {
    expect((await acme.owner.get('/api/v1/platform/tenants')).status).toBe(403);
    expect((await acme.owner.get('/api/v1/platform/users')).status).toBe(403);
    const platformMember = await signUp(t.url, 'pmember');
    await platformAdmin.post(
      '/api/v1/invitations',
      { email: platformMember.email, role: 'member' },
      { 'x-tenant-id': PLATFORM_TENANT_ID },
    );
    const accepted = await platformMember.post('/api/v1/invitations/accept', {
      token: await t.inbox.tokenFor(platformMember.email),
    });
    expect(accepted.status).toBe(200);
    expect((await platformMember.get('/api/v1/platform/tenants')).status).toBe(403);
  });

  it('does not widen what a platform admin sees inside an ordinary tenant request', async () => {
    const mine = await platformAdmin.get('/api/v1/members', { 'x-tenant-id': acme.id });
    expect(mine.status).toBe(403);
  });
});
