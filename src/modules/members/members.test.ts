import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TenantFixture, createTenant, signUp } from '../../../test/support/client.ts';
import { type TestServer, describeEachBackend, startTestServer } from '../../../test/support/harness.ts';

describeEachBackend('members and roles', (backend) => {
  let t: TestServer;
  let acme: TenantFixture;

  beforeAll(async () => {
    t = await startTestServer(backend);
    acme = await createTenant(t.url, t.inbox, 'acme');
  });
  afterAll(() => t?.close());

  it('lists the members with their roles', async () => {
    const res = await acme.member.get('/api/v1/members?sort=-joinedAt');
    expect(res.status).toBe(200);
    const roles = res.body.items.map((m: { role: string }) => m.role).sort();
    expect(roles).toEqual(['admin', 'member', 'owner']);
  });

  it('does not let a member act as admin', async () => {
    const res = await acme.member.patch(`/api/v1/members/${acme.admin.userId}`, { role: 'member' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN');
  });

  it('does not let an admin grant owner', async () => {
    const res = await acme.admin.patch(`/api/v1/members/${acme.member.userId}`, { role: 'owner' });
    expect(res.status).toBe(403);
    const [row] = await t.ownerQuery<{ role: string }>('select role from app.memberships where tenant_id = $1 and user_id = $2', [acme.id, acme.member.userId]);
    expect(row?.role).toBe('member');
  });

  it('keeps the last owner', async () => {
    const leave = await acme.owner.post('/api/v1/members/leave');
    expect(leave.status).toBe(409);
    expect(leave.body.error.code).toBe('LAST_OWNER');
    const demote = await acme.owner.patch(`/api/v1/members/${acme.owner.userId}`, { role: 'admin' });
    expect(demote.body.error.code).toBe('LAST_OWNER');
  });

  it('takes a removed member out of the tenant on the very next request', async () => {
    const extra = await signUp(t.url, 'extra');
    await acme.owner.post('/api/v1/invitations', { email: extra.email, role: 'member' });
    const accepted = await extra.post('/api/v1/invitations/accept', { token: await t.inbox.tokenFor(extra.email) });
    expect(accepted.status).toBe(200);
    expect((await extra.get('/api/v1/members')).status).toBe(200);
    const removed = await acme.admin.delete(`/api/v1/members/${extra.userId}`);
    expect(removed.status).toBe(200);
    const after = await extra.get('/api/v1/members');
    expect(after.status).toBe(403);
    expect(after.body.error.code).toBe('TENANT_ACCESS_DENIED');
  });
});
