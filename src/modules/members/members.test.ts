import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTenant, signUp, type TenantFixture } from '../../../test/support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../../../test/support/harness.ts';
import { untilALockIsAwaited } from '../../../test/support/postgres.ts';

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
    const [row] = await t.ownerQuery<{ role: string }>('select role from app.memberships where tenant_id = $1 and user_id = $2', [
      acme.id,
      acme.member.userId,
    ]);
    expect(row?.role).toBe('member');
  });

  it('keeps the last owner', async () => {
    const leave = await acme.owner.post('/api/v1/members/leave');
    expect(leave.status).toBe(409);
    expect(leave.body.error.code).toBe('LAST_OWNER');
    const demote = await acme.owner.patch(`/api/v1/members/${acme.owner.userId}`, { role: 'admin' });
    expect(demote.body.error.code).toBe('LAST_OWNER');
  });

  it('never deadlocks or loses the last owner when owners are demoted concurrently', async () => {
    const team = await createTenant(t.url, t.inbox, 'owners');
    for (let round = 0; round < 4; round++) {
      // Two owners (the fixture's owner and its admin, promoted), each demoting the other at the same moment.
      expect((await team.owner.patch(`/api/v1/members/${team.admin.userId}`, { role: 'owner' })).status).toBe(200);
      await team.admin.signIn();
      const [a, b] = await Promise.all([
        team.owner.patch(`/api/v1/members/${team.admin.userId}`, { role: 'admin' }),
        team.admin.patch(`/api/v1/members/${team.owner.userId}`, { role: 'admin' }),
      ]);
      const statuses = [a.status, b.status].sort();
      // One demotion wins. The other finds its caller signed out by that role change (401), no longer an
      // owner (403), or about to remove the last owner (409); never a deadlock (500).
      expect(statuses[0]).toBe(200);
      expect([401, 403, 409]).toContain(statuses[1]);
      const owners = await t.ownerQuery<{ n: number }>(
        "select count(*)::int as n from app.memberships where tenant_id = $1 and role = 'owner'",
        [team.id],
      );
      expect(owners[0]?.n).toBe(1);
      if (a.status !== 200) {
        // The fixture owner was demoted: restore the starting point for the next round.
        await team.admin.signIn();
        expect((await team.admin.patch(`/api/v1/members/${team.owner.userId}`, { role: 'owner' })).status).toBe(200);
        await team.owner.signIn();
        expect((await team.owner.patch(`/api/v1/members/${team.admin.userId}`, { role: 'admin' })).status).toBe(200);
      }
      await team.owner.signIn();
      await team.admin.signIn();
    }
  });

  it.runIf(backend === 'postgres')(
    'judges a change by the role its caller holds once the owners are locked, not the one it was admitted with',
    async () => {
      const team = await createTenant(t.url, t.inbox, 'stale-role');
      // Three owners: O (team.owner), A (team.admin) and M (team.member).
      for (const who of [team.admin, team.member]) {
        expect((await team.owner.patch(`/api/v1/members/${who.userId}`, { role: 'owner' })).status).toBe(200);
        await who.signIn();
      }
      const other = postgres(t.config.DATABASE_URL ?? '', { max: 1, onnotice: () => {} });
      try {
        let demotion: ReturnType<typeof team.admin.patch> | undefined;
        await other.begin(async (tx) => {
          // O's demotion of A, as members.changeRole runs it: the owner rows first.
          await tx`select user_id from app.memberships where tenant_id = ${team.id} and role = 'owner' for update`;
          // A, admitted as an owner, demotes M: it waits for the owner lock.
          demotion = team.admin.patch(`/api/v1/members/${team.member.userId}`, { role: 'member' });
          await untilALockIsAwaited(tx);
          await tx`update app.memberships set role = 'admin' where tenant_id = ${team.id} and user_id = ${team.admin.userId}`;
        });
        const refused = await demotion;
        expect(refused?.status).toBe(403);
        const [m] = await t.ownerQuery<{ role: string }>(
          'select role from app.memberships where tenant_id = $1 and user_id = $2',
          [team.id, team.member.userId],
        );
        expect(m?.role).toBe('owner');
      } finally {
        await other.end();
      }
    },
  );

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
