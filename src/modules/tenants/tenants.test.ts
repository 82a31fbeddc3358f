import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTenant, signUp, type TenantFixture, uniqueSlug } from '../../../test/support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../../../test/support/harness.ts';

describeEachBackend('tenants', (backend) => {
  let t: TestServer;
  let acme: TenantFixture;
  let globex: TenantFixture;

  beforeAll(async () => {
    t = await startTestServer(backend);
    acme = await createTenant(t.url, t.inbox, 'acme');
    globex = await createTenant(t.url, t.inbox, 'globex');
  });
  afterAll(() => t?.close());

  it('creates a tenant with the caller as owner and makes it active', async () => {
    const user = await signUp(t.url, 'founder');
    const slug = uniqueSlug('new');
    const created = await user.post('/api/v1/tenants', { name: 'New Co', slug, tenantId: acme.id, id: acme.id });
    expect(created.status).toBe(201);
    expect(created.body.id).not.toBe(acme.id);
    expect(created.body).toMatchObject({ name: 'New Co', slug, plan: 'starter' });
    expect(created.body).not.toHaveProperty('stripeCustomerId');
    const current = await user.get('/api/v1/tenants/current');
    expect(current.body).toMatchObject({ id: created.body.id, role: 'owner' });
    const me = await user.get('/api/v1/me');
    expect(me.body.tenants).toEqual([expect.objectContaining({ id: created.body.id, role: 'owner' })]);
  });

  it('lets a user in several tenants switch, and X-Tenant-Id choose among their own', async () => {
    const both = await signUp(t.url, 'both');
    for (const tenant of [acme, globex]) {
      await tenant.owner.post('/api/v1/invitations', { email: both.email, role: 'member' });
      const accepted = await both.post('/api/v1/invitations/accept', { token: await t.inbox.tokenFor(both.email) });
      expect(accepted.status).toBe(200);
    }
    expect((await both.post('/api/v1/tenants/switch', { tenantId: acme.id })).body.activeTenantId).toBe(acme.id);
    expect((await both.get('/api/v1/tenants/current')).body.id).toBe(acme.id);
    expect((await both.get('/api/v1/tenants/current', { 'x-tenant-id': globex.id })).body.id).toBe(globex.id);
    // The header chose for one request only; the session's active tenant is unchanged.
    expect((await both.get('/api/v1/me')).body.activeTenantId).toBe(acme.id);
  });

  it('lets admins update name and settings, and only owners change the plan', async () => {
    const byAdmin = await acme.admin.patch('/api/v1/tenants/current', { name: 'Acme Renamed', settings: { locale: 'de' } });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body).toMatchObject({ name: 'Acme Renamed', settings: { locale: 'de' } });
    const planByAdmin = await acme.admin.patch('/api/v1/tenants/current', { plan: 'enterprise' });
    expect(planByAdmin.status).toBe(403);
    const planByMember = await acme.member.patch('/api/v1/tenants/current', { name: 'Nope' });
    expect(planByMember.status).toBe(403);
    const planByOwner = await acme.owner.patch('/api/v1/tenants/current', { plan: 'growth' });
    expect(planByOwner.body.plan).toBe('growth');
    const [row] = await t.ownerQuery<{ name: string; plan: string }>('select name, plan from app.tenants where id = $1', [
      acme.id,
    ]);
    expect(row).toEqual({ name: 'Acme Renamed', plan: 'growth' });
  });

  it('records changes in the audit log, readable by admins only', async () => {
    const log = await acme.admin.get('/api/v1/audit-log?limit=100');
    expect(log.status).toBe(200);
    const actions = log.body.items.map((e: { action: string }) => e.action);
    expect(actions).toContain('tenant.updated');
    expect(actions).toContain('invitation.accepted');
    const one = await acme.admin.get(`/api/v1/audit-log/${log.body.items[0].id}`);
    expect(one.body.id).toBe(log.body.items[0].id);
    expect((await acme.member.get('/api/v1/audit-log')).status).toBe(403);
  });

  it('pages lists with a cursor', async () => {
    const first = await acme.owner.get('/api/v1/members?limit=2&sort=email');
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await acme.owner.get(`/api/v1/members?limit=2&sort=email&cursor=${first.body.nextCursor}`);
    const emails = [...first.body.items, ...second.body.items].map((m: { email: string }) => m.email);
    expect(new Set(emails).size).toBe(emails.length);
    expect(emails).toEqual([...emails].sort());
    expect((await acme.owner.get('/api/v1/members?limit=101')).status).toBe(400);
    expect((await acme.owner.get('/api/v1/members?cursor=garbage')).status).toBe(400);
  });

  it('deletes a tenant only by an owner who confirms its slug; members lose it at once', async () => {
    const doomed = await createTenant(t.url, t.inbox, 'doomed');
    expect((await doomed.admin.delete(`/api/v1/tenants/current?confirmSlug=${doomed.slug}`)).status).toBe(403);
    expect((await doomed.owner.delete('/api/v1/tenants/current?confirmSlug=wrong')).status).toBe(400);
    const deleted = await doomed.owner.delete(`/api/v1/tenants/current?confirmSlug=${doomed.slug}`);
    expect(deleted.status).toBe(200);
    const after = await doomed.member.get('/api/v1/members');
    expect(after.status).toBe(403);
    const [row] = await t.ownerQuery<{ deleted: boolean }>(
      'select deleted_at is not null as deleted from app.tenants where id = $1',
      [doomed.id],
    );
    expect(row?.deleted).toBe(true);
    expect((await doomed.member.get('/api/v1/me')).body.tenants).toEqual([]);
  });
});
