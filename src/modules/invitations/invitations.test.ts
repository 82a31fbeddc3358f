import { createHash } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  ApiClient,
  createTenant,
  PASSWORD,
  signUp,
  type TenantFixture,
  uniqueEmail,
  uniqueSlug,
} from '../../../test/support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../../../test/support/harness.ts';
import { logCapture } from '../../../test/support/log-capture.ts';
import { untilALockIsAwaited } from '../../../test/support/postgres.ts';
import { refusingSmtpUrl } from '../../../test/support/smtp.ts';

const INVITATION_LINK = /(https?:\/\/\S+\/invitations\/accept\?token=([A-Za-z0-9_-]+))/;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describeEachBackend('invitations', (backend) => {
  let t: TestServer;
  let acme: TenantFixture;
  let globex: TenantFixture;

  beforeAll(async () => {
    t = await startTestServer(backend);
    acme = await createTenant(t.url, t.inbox, 'acme');
    globex = await createTenant(t.url, t.inbox, 'globex');
  });
  afterAll(() => t?.close());

  /** Invites `email` into the inviter's active tenant and returns the invitation and the token from its mail. */
  async function invite(inviter: ApiClient, email: string, role: 'owner' | 'admin' | 'member' = 'member') {
    const res = await inviter.post('/api/v1/invitations', { email, role });
    expect(res.status).toBe(201);
    return {
      invitation: res.body as { id: string; email: string; role: string; status: string },
      token: await t.inbox.tokenFor(email),
    };
  }

  const invitationRow = async (id: string) => {
    const [row] = await t.ownerQuery<{ status: string; token_hash: string; responded_at: Date | null }>(
      'select status, token_hash, responded_at from app.invitations where id = $1',
      [id],
    );
    return row;
  };
  const membershipRole = async (tenantId: string, userId: string) => {
    const [row] = await t.ownerQuery<{ role: string }>('select role from app.memberships where tenant_id = $1 and user_id = $2', [
      tenantId,
      userId,
    ]);
    return row?.role;
  };
  const invitationCount = async (tenantId: string, email: string) => {
    const [row] = await t.ownerQuery<{ n: number }>(
      'select count(*)::int as n from app.invitations where tenant_id = $1 and lower(email) = lower($2)',
      [tenantId, email],
    );
    return row?.n;
  };
  const mailsTo = (email: string) => t.inbox.messages.filter((m) => m.to.includes(email.toLowerCase()));

  /** Follows the verification link Palisade mailed at sign-up. */
  async function verifyEmail(user: ApiClient) {
    const { match } = await t.inbox.waitFor(user.email, /(https?:\/\/\S+\/api\/auth\/verify-email\?\S+)/);
    const link = new URL(match[1] as string);
    const res = await user.get(`${link.pathname}${link.search}`);
    expect(res.status).toBe(302);
    expect((await user.get('/api/v1/me')).body.user.emailVerified).toBe(true);
  }

  it('mails an invitation link whose token is stored only as a hash', async () => {
    const email = uniqueEmail('invitee');
    const res = await acme.admin.post('/api/v1/invitations', { email, role: 'member' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ email, role: 'member', status: 'pending', invitedBy: acme.admin.userId, emailSent: true });
    expect(Object.keys(res.body).sort()).toEqual([
      'createdAt',
      'email',
      'emailSent',
      'expiresAt',
      'id',
      'invitedBy',
      'role',
      'status',
    ]);
    const lifetimeHours = (Date.parse(res.body.expiresAt) - Date.parse(res.body.createdAt)) / 3_600_000;
    expect(Math.round(lifetimeHours)).toBe(t.config.INVITATION_TTL_HOURS);

    const { mail, match } = await t.inbox.waitFor(email, INVITATION_LINK);
    expect(mail.subject).toBe('acme admin invited you to acme inc on Palisade');
    expect(match[1]).toBe(`${t.url}/invitations/accept?token=${match[2]}`);
    const row = await invitationRow(res.body.id);
    expect(row?.token_hash).toBe(sha256(match[2] as string));
  });

  it('accepting joins the tenant with the invited role and switches the session to it', async () => {
    const invitee = await signUp(t.url, 'joiner');
    const home = await invitee.post('/api/v1/tenants', { name: 'Home', slug: uniqueSlug('home') });
    expect((await invitee.get('/api/v1/me')).body.activeTenantId).toBe(home.body.id);
    const { invitation, token } = await invite(acme.admin, invitee.email, 'admin');

    const accepted = await invitee.post('/api/v1/invitations/accept', { token });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toEqual({ tenantId: acme.id, role: 'admin', status: 'accepted' });

    const me = await invitee.get('/api/v1/me');
    expect(me.body.activeTenantId).toBe(acme.id);
    expect(me.body.tenants).toEqual(expect.arrayContaining([expect.objectContaining({ id: acme.id, role: 'admin' })]));
    // Without X-Tenant-Id the session now works in acme.
    const members = await invitee.get('/api/v1/members');
    expect(members.status).toBe(200);
    expect(members.body.items.map((m: { userId: string }) => m.userId)).toContain(invitee.userId);

    expect(await membershipRole(acme.id, invitee.userId)).toBe('admin');
    const row = await invitationRow(invitation.id);
    expect(row?.status).toBe('accepted');
    expect(row?.responded_at).not.toBeNull();
    const audit = await t.ownerQuery<{ action: string }>(
      "select action from app.audit_log where tenant_id = $1 and actor_user_id = $2 and action like 'invitation.%'",
      [acme.id, invitee.userId],
    );
    expect(audit.map((a) => a.action)).toEqual(['invitation.accepted']);

    const again = await invitee.post('/api/v1/invitations/accept', { token });
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('NOT_FOUND');
  });

  it('declining creates no membership', async () => {
    const invitee = await signUp(t.url, 'decliner');
    const { invitation, token } = await invite(acme.admin, invitee.email);

    const declined = await invitee.post('/api/v1/invitations/decline', { token });
    expect(declined.status).toBe(200);
    expect(declined.body).toEqual({ tenantId: acme.id, role: 'member', status: 'declined' });
    expect(await membershipRole(acme.id, invitee.userId)).toBeUndefined();
    expect((await invitationRow(invitation.id))?.status).toBe('declined');
    expect((await invitee.get('/api/v1/me')).body.activeTenantId).toBeNull();

    const accept = await invitee.post('/api/v1/invitations/accept', { token });
    expect(accept.status).toBe(404);
    expect(accept.body.error.code).toBe('NOT_FOUND');
    expect(await membershipRole(acme.id, invitee.userId)).toBeUndefined();
  });

  it('a cancelled invitation can no longer be accepted', async () => {
    const invitee = await signUp(t.url, 'cancelled');
    const { invitation, token } = await invite(acme.admin, invitee.email);

    const cancelled = await acme.admin.post(`/api/v1/invitations/${invitation.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id: invitation.id, status: 'cancelled' });

    const accept = await invitee.post('/api/v1/invitations/accept', { token });
    expect(accept.status).toBe(404);
    expect(accept.body.error.code).toBe('NOT_FOUND');
    expect(await membershipRole(acme.id, invitee.userId)).toBeUndefined();
    expect((await invitationRow(invitation.id))?.status).toBe('cancelled');

    const twice = await acme.admin.post(`/api/v1/invitations/${invitation.id}/cancel`);
    expect(twice.status).toBe(404);
    expect(twice.body.error.code).toBe('NOT_FOUND');
    const pending = await acme.admin.get('/api/v1/invitations?status=pending&limit=100');
    expect(pending.body.items.map((i: { id: string }) => i.id)).not.toContain(invitation.id);
  });

  it('resending mails a new link and retires the old one', async () => {
    const invitee = await signUp(t.url, 'resent');
    const { invitation, token: oldToken } = await invite(acme.admin, invitee.email);

    const resent = await acme.admin.post(`/api/v1/invitations/${invitation.id}/resend`);
    expect(resent.status).toBe(200);
    expect(resent.body).toMatchObject({ id: invitation.id, status: 'pending', emailSent: true });
    expect(mailsTo(invitee.email).filter((m) => INVITATION_LINK.test(m.text))).toHaveLength(2);
    const newToken = await t.inbox.tokenFor(invitee.email);
    expect(newToken).not.toBe(oldToken);
    expect((await invitationRow(invitation.id))?.token_hash).toBe(sha256(newToken));

    const old = await invitee.post('/api/v1/invitations/accept', { token: oldToken });
    expect(old.status).toBe(404);
    expect(old.body.error.code).toBe('NOT_FOUND');
    const fresh = await invitee.post('/api/v1/invitations/accept', { token: newToken });
    expect(fresh.status).toBe(200);
    expect(await membershipRole(acme.id, invitee.userId)).toBe('member');
  });

  it('an expired invitation is refused with 410 until it is resent', async () => {
    const invitee = await signUp(t.url, 'late');
    const { invitation, token } = await invite(acme.admin, invitee.email);
    await t.ownerQuery("update app.invitations set expires_at = now() - interval '1 minute' where id = $1", [invitation.id]);

    const accept = await invitee.post('/api/v1/invitations/accept', { token });
    expect(accept.status).toBe(410);
    expect(accept.body.error.code).toBe('INVITATION_EXPIRED');
    expect(await membershipRole(acme.id, invitee.userId)).toBeUndefined();
    expect((await invitationRow(invitation.id))?.status).toBe('pending');

    // Resending gives a new link and a new expiry.
    await acme.admin.post(`/api/v1/invitations/${invitation.id}/resend`);
    const renewed = await invitee.post('/api/v1/invitations/accept', { token: await t.inbox.tokenFor(invitee.email) });
    expect(renewed.status).toBe(200);
  });

  it('the token alone does not let someone with another email accept or decline', async () => {
    const intendedEmail = uniqueEmail('intended');
    const { invitation, token } = await invite(acme.admin, intendedEmail);
    const stranger = await signUp(t.url, 'stranger');

    const accept = await stranger.post('/api/v1/invitations/accept', { token });
    expect(accept.status).toBe(404);
    expect(accept.body.error.code).toBe('NOT_FOUND');
    const decline = await stranger.post('/api/v1/invitations/decline', { token });
    expect(decline.status).toBe(404);
    expect(await membershipRole(acme.id, stranger.userId)).toBeUndefined();
    expect((await invitationRow(invitation.id))?.status).toBe('pending');

    // The person it was meant for still can.
    const intended = new ApiClient(t.url);
    const signedUp = await intended.post('/api/auth/sign-up/email', {
      email: intendedEmail,
      password: PASSWORD,
      name: 'Intended',
    });
    expect(signedUp.status).toBe(200);
    const accepted = await intended.post('/api/v1/invitations/accept', { token });
    expect(accepted.status).toBe(200);
  });

  it('a member cannot invite, list or cancel invitations', async () => {
    const email = uniqueEmail('by-member');
    const res = await acme.member.post('/api/v1/invitations', { email, role: 'member' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN');
    expect(await invitationCount(acme.id, email)).toBe(0);

    const list = await acme.member.get('/api/v1/invitations');
    expect(list.status).toBe(403);
    expect(list.body.error.code).toBe('FORBIDDEN');

    const { invitation } = await invite(acme.admin, uniqueEmail('target'));
    const cancel = await acme.member.post(`/api/v1/invitations/${invitation.id}/cancel`);
    expect(cancel.status).toBe(403);
    expect((await invitationRow(invitation.id))?.status).toBe('pending');
  });

  it('only an owner invites an owner', async () => {
    const invitee = await signUp(t.url, 'future-owner');
    const byAdmin = await acme.admin.post('/api/v1/invitations', { email: invitee.email, role: 'owner' });
    expect(byAdmin.status).toBe(403);
    expect(byAdmin.body.error.code).toBe('FORBIDDEN');
    expect(await invitationCount(acme.id, invitee.email)).toBe(0);

    const { invitation, token } = await invite(acme.owner, invitee.email, 'owner');
    // An owner invitation is an owner's business: an admin can neither cancel nor resend it.
    expect((await acme.admin.post(`/api/v1/invitations/${invitation.id}/cancel`)).status).toBe(403);
    expect((await acme.admin.post(`/api/v1/invitations/${invitation.id}/resend`)).status).toBe(403);
    expect((await invitationRow(invitation.id))?.status).toBe('pending');
    const accepted = await invitee.post('/api/v1/invitations/accept', { token });
    expect(accepted.body.role).toBe('owner');
    expect(await membershipRole(acme.id, invitee.userId)).toBe('owner');
  });

  it('refuses to invite an existing member, whatever the case of the address', async () => {
    // The member joined through an invitation of their own (createTenant); no second one may appear.
    const before = await invitationCount(acme.id, acme.member.email);
    const res = await acme.admin.post('/api/v1/invitations', { email: acme.member.email.toUpperCase(), role: 'member' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('ALREADY_MEMBER');
    expect(await invitationCount(acme.id, acme.member.email)).toBe(before);
  });

  it('allows one pending invitation per address and tenant', async () => {
    const email = uniqueEmail('twice');
    await invite(acme.admin, email);
    const again = await acme.owner.post('/api/v1/invitations', { email: email.toUpperCase(), role: 'admin' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('CONFLICT');
    expect(await invitationCount(acme.id, email)).toBe(1);
    // Another tenant may invite the same address.
    await invite(globex.admin, email);
    expect(await invitationCount(globex.id, email)).toBe(1);
  });

  it('lists pending invitations to the caller only once their email is verified', async () => {
    const invitee = await signUp(t.url, 'listing');
    const { invitation: fromAcme } = await invite(acme.admin, invitee.email, 'admin');
    const { invitation: fromGlobex } = await invite(globex.admin, invitee.email);
    await invite(acme.admin, uniqueEmail('someone-else'));

    const unverified = await invitee.get('/api/v1/me/invitations');
    expect(unverified.status).toBe(200);
    expect(unverified.body).toEqual([]);

    await verifyEmail(invitee);
    const verified = await invitee.get('/api/v1/me/invitations');
    expect(verified.body.map((i: { id: string }) => i.id).sort()).toEqual([fromAcme.id, fromGlobex.id].sort());
    expect(verified.body.find((i: { id: string }) => i.id === fromAcme.id)).toMatchObject({
      tenantName: 'acme inc',
      role: 'admin',
      status: 'pending',
    });
    expect(JSON.stringify(verified.body)).not.toMatch(/token/i);

    // Cancelled and expired invitations drop off the list.
    await globex.admin.post(`/api/v1/invitations/${fromGlobex.id}/cancel`);
    expect((await invitee.get('/api/v1/me/invitations')).body.map((i: { id: string }) => i.id)).toEqual([fromAcme.id]);
    await t.ownerQuery("update app.invitations set expires_at = now() - interval '1 minute' where id = $1", [fromAcme.id]);
    expect((await invitee.get('/api/v1/me/invitations')).body).toEqual([]);
  });

  it("another tenant's admin can neither see nor change this tenant's invitations", async () => {
    const email = uniqueEmail('guarded');
    const { invitation } = await invite(acme.admin, email);
    const before = await invitationRow(invitation.id);

    const cancel = await globex.admin.post(`/api/v1/invitations/${invitation.id}/cancel`);
    expect(cancel.status).toBe(404);
    expect(cancel.body.error.code).toBe('NOT_FOUND');
    const resend = await globex.admin.post(`/api/v1/invitations/${invitation.id}/resend`);
    expect(resend.status).toBe(404);
    expect(resend.body.error.code).toBe('NOT_FOUND');

    const list = await globex.admin.get('/api/v1/invitations?limit=100');
    expect(list.status).toBe(200);
    const listed = list.body.items.map((i: { id: string }) => i.id).sort();
    const globexRows = await t.ownerQuery<{ id: string }>('select id from app.invitations where tenant_id = $1', [globex.id]);
    expect(listed).toEqual(globexRows.map((r) => r.id).sort());
    expect(listed).not.toContain(invitation.id);

    const asAcme = await globex.admin.get('/api/v1/invitations', { 'x-tenant-id': acme.id });
    expect(asAcme.status).toBe(403);
    expect(asAcme.body.error.code).toBe('TENANT_ACCESS_DENIED');

    // Nothing changed: still pending, same token, and no second mail went out.
    expect(await invitationRow(invitation.id)).toEqual(before);
    expect(mailsTo(email)).toHaveLength(1);
    expect(await invitationCount(acme.id, email)).toBe(1);
  });

  it.runIf(backend === 'postgres')(
    'an accept that waited for a cancel to commit fails whole: no member, still cancelled',
    async () => {
      const person = await signUp(t.url, 'racer');
      const { invitation, token } = await invite(acme.admin, person.email);
      const other = postgres(t.config.DATABASE_URL ?? '', { max: 1, onnotice: () => {} });
      try {
        let accepting: ReturnType<typeof person.post> | undefined;
        await other.begin(async (tx) => {
          // The admin's cancel, as invitations.cancel runs it: the pending row locked first.
          await tx`select id from app.invitations where id = ${invitation.id} and status = 'pending' for update`;
          accepting = person.post('/api/v1/invitations/accept', { token });
          await untilALockIsAwaited(tx);
          await tx`update app.invitations set status = 'cancelled', responded_at = now() where id = ${invitation.id}`;
        });
        const refused = await accepting;
        expect(refused?.status).toBe(404);
        const [row] = await t.ownerQuery<{ status: string }>('select status from app.invitations where id = $1', [invitation.id]);
        expect(row?.status).toBe('cancelled');
        const members = await t.ownerQuery('select 1 from app.memberships where tenant_id = $1 and user_id = $2', [
          acme.id,
          person.userId,
        ]);
        expect(members).toHaveLength(0);
      } finally {
        await other.end();
      }
    },
  );

  it('invitations of a deleted tenant can no longer be seen or accepted', async () => {
    const owner = await signUp(t.url, 'doomed-owner');
    const slug = uniqueSlug('doomed');
    const created = await owner.post('/api/v1/tenants', { name: 'Doomed', slug });
    expect(created.status).toBe(201);
    const invitee = await signUp(t.url, 'doomed-invitee');
    await verifyEmail(invitee);
    const { token } = await invite(owner, invitee.email);
    expect((await invitee.get('/api/v1/me/invitations')).body).toHaveLength(1);

    const deleted = await owner.delete(`/api/v1/tenants/current?confirmSlug=${slug}`);
    expect(deleted.status).toBe(200);
    const [open] = await t.ownerQuery<{ n: number }>(
      "select count(*)::int as n from app.invitations where tenant_id = $1 and status = 'pending'",
      [created.body.id],
    );
    expect(open?.n).toBe(0);

    expect((await invitee.get('/api/v1/me/invitations')).body).toEqual([]);
    const accept = await invitee.post('/api/v1/invitations/accept', { token });
    expect(accept.status).toBe(404);
    expect(accept.body.error.code).toBe('NOT_FOUND');
    expect(await membershipRole(created.body.id, invitee.userId)).toBeUndefined();
    expect((await invitee.get('/api/v1/me')).body.activeTenantId).toBeNull();
  });
});

describeEachBackend('invitations while SMTP refuses connections', (backend) => {
  let t: TestServer;
  const log = logCapture();
  const logLines = log.lines;

  beforeAll(async () => {
    t = await startTestServer(
      backend,
      { SMTP_URL: await refusingSmtpUrl(), LOG_LEVEL: 'info' },
      { logDestination: log.destination },
    );
  });
  afterAll(() => t?.close());

  /** A signed-up owner of a new tenant; no mail needed on the way (createTenant would need invitation links). */
  async function tenantOwner() {
    const owner = await signUp(t.url, 'offline-owner');
    const created = await owner.post('/api/v1/tenants', { name: 'Offline inc', slug: uniqueSlug('offline') });
    expect(created.status).toBe(201);
    return owner;
  }

  it('creates and resends the invitation, answering that the email did not go out', async () => {
    const owner = await tenantOwner();
    const email = uniqueEmail('unmailed');

    const created = await owner.post('/api/v1/invitations', { email, role: 'member' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email, role: 'member', status: 'pending', emailSent: false });

    const pending = await owner.get('/api/v1/invitations?status=pending&limit=100');
    expect(pending.status).toBe(200);
    expect(pending.body.items).toEqual([expect.objectContaining({ id: created.body.id, email, status: 'pending' })]);

    const resent = await owner.post(`/api/v1/invitations/${created.body.id}/resend`);
    expect(resent.status).toBe(200);
    expect(resent.body).toMatchObject({ id: created.body.id, status: 'pending', emailSent: false });
  });

  it('logs the failed send with its error code, never the link or its token', async () => {
    const owner = await tenantOwner();
    const created = await owner.post('/api/v1/invitations', { email: uniqueEmail('logged'), role: 'member' });
    expect(created.status).toBe(201);

    const logged = log.entries;
    const failures = logged().filter((entry) => entry.recordId === created.body.id);
    expect(failures).toEqual([
      expect.objectContaining({
        msg: 'mail not sent',
        mailPurpose: 'invitation',
        smtp: expect.objectContaining({ code: expect.any(String) }),
      }),
    ]);
    // The owner's verification mail (sent without waiting) failed too; no link of either kind reached the log.
    await expect
      .poll(() => logged().some((entry) => entry.mailPurpose === 'email-verification' && entry.recordId === owner.userId))
      .toBe(true);
    const everything = logLines.join('');
    expect(everything).not.toContain('/invitations/accept');
    expect(everything).not.toContain('/verify-email');
  });
});
