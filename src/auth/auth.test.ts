import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, PASSWORD, signUp, uniqueEmail } from '../../test/support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../../test/support/harness.ts';
import { SilentSmtpServer } from '../../test/support/smtp.ts';

/**
 * Email and password authentication over Better Auth's own endpoints
 * (/api/auth/sign-up/email, /sign-in/email, /sign-out, /verify-email,
 * /request-password-reset, /reset-password), with mail over real SMTP.
 */
const SESSION_COOKIE = 'better-auth.session_token';
const NEW_PASSWORD = 'a-brand-new-passphrase-42';

/** The Set-Cookie header that carries the session token, if the response has one. */
const sessionSetCookie = (headers: Headers) => headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));

/** The `name=value` pair of the session cookie, to replay it from another client. */
function sessionCookiePair(headers: Headers): string {
  const cookie = sessionSetCookie(headers);
  if (!cookie) throw new Error('no session cookie was set');
  return cookie.split(';')[0] as string;
}

/** The link of the newest mail to `email` whose link path matches `path`. */
async function linkIn(t: TestServer, email: string, path: RegExp): Promise<URL> {
  const { match } = await t.inbox.waitFor(email, /(https?:\/\/\S+)/);
  const url = new URL(match[1] as string);
  expect(url.pathname).toMatch(path);
  return url;
}

const relative = (url: URL) => `${url.pathname}${url.search}`;

/** `GET /api/v1/me` as whoever presents `cookie`. */
const meWith = (t: TestServer, cookie: string) => new ApiClient(t.url).get('/api/v1/me', { cookie });

/** The SQLSTATE of a failed statement, whichever driver (and Drizzle's wrapper) raised it. */
async function sqlStateOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    const e = error as { code?: unknown; cause?: { code?: unknown } };
    return String(e.code ?? e.cause?.code);
  }
  return 'no error';
}

describeEachBackend('email and password authentication', (backend) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer(backend);
  });
  afterAll(() => t?.close());

  it('signs up with an httpOnly, SameSite=Lax session cookie', async () => {
    const client = new ApiClient(t.url);
    const email = uniqueEmail('signup');
    const res = await client.post('/api/auth/sign-up/email', { email, password: PASSWORD, name: 'New Person' });
    expect(res.status).toBe(200);
    expect(res.body.user.email).toBe(email);
    const cookie = sessionSetCookie(res.headers);
    expect(cookie).toMatch(/;\s*HttpOnly/i);
    expect(cookie).toMatch(/;\s*SameSite=Lax/i);
    expect(cookie).toMatch(/;\s*Path=\//i);

    const me = await client.get('/api/v1/me');
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ id: res.body.user.id, email, name: 'New Person', emailVerified: false });
    expect(me.body.tenants).toEqual([]);
  });

  it('stores only a hash of the password', async () => {
    const user = await signUp(t.url, 'hash');
    const rows = await t.ownerQuery<{ password: string | null }>(
      "select password from auth.accounts where user_id = $1 and provider_id = 'credential'",
      [user.userId],
    );
    expect(rows).toHaveLength(1);
    const stored = rows[0]?.password ?? '';
    expect(stored).not.toBe('');
    expect(stored).not.toContain(PASSWORD);
    // Better Auth's scrypt format: hex salt, a colon, hex key.
    expect(stored).toMatch(/^[0-9a-f]{32}:[0-9a-f]{128}$/);
  });

  it('refuses a wrong password and an unknown email alike, without a session', async () => {
    const user = await signUp(t.url, 'wrongpw');
    const anonymous = new ApiClient(t.url);
    const wrong = await anonymous.post('/api/auth/sign-in/email', { email: user.email, password: 'not-the-password-at-all' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('INVALID_EMAIL_OR_PASSWORD');
    expect(sessionSetCookie(wrong.headers)).toBeUndefined();

    const unknown = await anonymous.post('/api/auth/sign-in/email', { email: uniqueEmail('nobody'), password: PASSWORD });
    expect(unknown.status).toBe(401);
    expect(unknown.body.code).toBe('INVALID_EMAIL_OR_PASSWORD');

    expect((await anonymous.get('/api/v1/me')).status).toBe(401);
  });

  it('issues a new session token on every sign-in, even in the same browser', async () => {
    const user = await signUp(t.url, 'rotate');
    const browser = new ApiClient(t.url);
    const first = await browser.post('/api/auth/sign-in/email', { email: user.email, password: PASSWORD });
    // The second sign-in presents the first session's cookie and still gets a new session.
    const second = await browser.post('/api/auth/sign-in/email', { email: user.email, password: PASSWORD }, { origin: t.url });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(first.body.token).toEqual(expect.any(String));
    expect(second.body.token).not.toBe(first.body.token);
    expect(sessionCookiePair(second.headers)).not.toBe(sessionCookiePair(first.headers));

    const tokens = await t.ownerQuery<{ token: string }>('select token from auth.sessions where user_id = $1', [user.userId]);
    expect(tokens.map((r) => r.token)).toEqual(expect.arrayContaining([first.body.token, second.body.token]));
  });

  it('signs out: the session is deleted and its cookie stops working', async () => {
    const user = await signUp(t.url, 'signout');
    const signIn = await new ApiClient(t.url).post('/api/auth/sign-in/email', { email: user.email, password: PASSWORD });
    const cookie = sessionCookiePair(signIn.headers);
    expect((await meWith(t, cookie)).status).toBe(200);

    const out = await new ApiClient(t.url).post('/api/auth/sign-out', {}, { cookie, origin: t.url });
    expect(out.status).toBe(200);
    // The browser is told to drop the cookie...
    expect(sessionSetCookie(out.headers)).toMatch(/Max-Age=0/i);
    // ...and a copy kept by anyone else is worthless, because the session row is gone.
    const replay = await meWith(t, cookie);
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('UNAUTHENTICATED');
    const rows = await t.ownerQuery('select 1 from auth.sessions where token = $1', [signIn.body.token]);
    expect(rows).toHaveLength(0);
  });

  it('accepts the session token as a bearer token, until sign-out', async () => {
    const user = await signUp(t.url, 'bearer');
    const signIn = await new ApiClient(t.url).post('/api/auth/sign-in/email', { email: user.email, password: PASSWORD });
    const authorization = `Bearer ${signIn.body.token}`;
    const cookieless = new ApiClient(t.url);

    const me = await cookieless.get('/api/v1/me', { authorization });
    expect(me.status).toBe(200);
    expect(me.body.user.id).toBe(user.userId);

    const forged = await cookieless.get('/api/v1/me', { authorization: `Bearer ${signIn.body.token.slice(0, -2)}xx` });
    expect(forged.status).toBe(401);
    expect(forged.body.error.code).toBe('UNAUTHENTICATED');

    expect((await cookieless.post('/api/auth/sign-out', {}, { authorization })).status).toBe(200);
    expect((await cookieless.get('/api/v1/me', { authorization })).status).toBe(401);
  });

  it('verifies the email address through the link in the mail', async () => {
    const user = await signUp(t.url, 'verify');
    const { mail } = await t.inbox.waitFor(user.email, /verify-email\?token=/);
    expect(mail.subject).toBe('Verify your email for Palisade');
    const link = await linkIn(t, user.email, /^\/api\/auth\/verify-email$/);
    expect(link.origin).toBe(t.url);

    // A forged token verifies nothing.
    const forged = new URL(link);
    forged.searchParams.set('token', `${link.searchParams.get('token')}x`);
    const refused = await user.get(relative(forged));
    expect(refused.status).toBe(302);
    expect(refused.headers.get('location')).toMatch(/error=INVALID_TOKEN/);
    expect((await user.get('/api/v1/me')).body.user.emailVerified).toBe(false);

    const followed = await user.get(relative(link));
    expect(followed.status).toBe(302);
    expect(followed.headers.get('location')).toBe('/');
    const me = await user.get('/api/v1/me');
    expect(me.body.user.emailVerified).toBe(true);
    const [row] = await t.ownerQuery<{ email_verified: boolean }>('select email_verified from auth.users where id = $1', [
      user.userId,
    ]);
    expect(row?.email_verified).toBe(true);
  });

  it('resets a forgotten password and revokes every existing session', async () => {
    const user = await signUp(t.url, 'reset');
    const otherDevice = await new ApiClient(t.url).post('/api/auth/sign-in/email', { email: user.email, password: PASSWORD });
    const otherCookie = sessionCookiePair(otherDevice.headers);
    expect((await user.get('/api/v1/me')).status).toBe(200);

    const anonymous = new ApiClient(t.url);
    const requested = await anonymous.post('/api/auth/request-password-reset', {
      email: user.email,
      redirectTo: '/reset-password',
    });
    expect(requested.status).toBe(200);
    const { mail } = await t.inbox.waitFor(user.email, /reset-password\//);
    expect(mail.subject).toBe('Reset your Palisade password');

    // The mailed link checks the token and hands it to the reset page.
    const link = await linkIn(t, user.email, /^\/api\/auth\/reset-password\/[^/]+$/);
    const opened = await anonymous.get(relative(link));
    expect(opened.status).toBe(302);
    const resetPage = new URL(opened.headers.get('location') ?? '', t.url);
    expect(resetPage.pathname).toBe('/reset-password');
    const token = resetPage.searchParams.get('token') ?? '';
    expect(token).not.toBe('');

    const reset = await anonymous.post('/api/auth/reset-password', { token, newPassword: NEW_PASSWORD });
    expect(reset.status).toBe(200);
    expect(reset.body.status).toBe(true);

    // Every session from before the reset is gone, on every device.
    expect((await user.get('/api/v1/me')).status).toBe(401);
    expect((await meWith(t, otherCookie)).status).toBe(401);
    const sessions = await t.ownerQuery('select 1 from auth.sessions where user_id = $1', [user.userId]);
    expect(sessions).toHaveLength(0);

    const old = await new ApiClient(t.url).post('/api/auth/sign-in/email', { email: user.email, password: PASSWORD });
    expect(old.status).toBe(401);
    const fresh = await new ApiClient(t.url).post('/api/auth/sign-in/email', { email: user.email, password: NEW_PASSWORD });
    expect(fresh.status).toBe(200);

    // The token was single-use.
    const again = await anonymous.post('/api/auth/reset-password', { token, newPassword: 'yet-another-passphrase-7' });
    expect(again.status).toBe(400);
    expect(again.body.code).toBe('INVALID_TOKEN');
  });

  it('does not let the request role read password hashes, session tokens or verification values', async () => {
    await signUp(t.url, 'secrets');
    const { database } = t.server;
    // The same switch every request transaction makes (db/tenant.ts), then a read of each secret column.
    const asRequestRole = (statement: string) =>
      database.transaction({ text: "select pg_catalog.set_config('role', 'palisade_app', true)", params: [] }, (tx) =>
        tx.execute(sql.raw(statement)),
      );
    expect(await sqlStateOf(asRequestRole('select password from auth.accounts'))).toBe('42501');
    expect(await sqlStateOf(asRequestRole('select token from auth.sessions'))).toBe('42501');
    expect(await sqlStateOf(asRequestRole('select value from auth.verifications'))).toBe('42501');
    // The granted profile columns stay readable (RLS then decides which rows).
    expect(await sqlStateOf(asRequestRole('select id, email from auth.users'))).toBe('no error');
  });
});

describeEachBackend('sign-in with REQUIRE_EMAIL_VERIFICATION', (backend) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer(backend, { REQUIRE_EMAIL_VERIFICATION: 'true' });
  });
  afterAll(() => t?.close());

  describe('an unverified address', () => {
    it('gets no session until the link in the mail is followed', async () => {
      const client = new ApiClient(t.url);
      const email = uniqueEmail('unverified');
      const signedUp = await client.post('/api/auth/sign-up/email', { email, password: PASSWORD, name: 'Careful' });
      expect(signedUp.status).toBe(200);
      expect(signedUp.body.token).toBeNull();
      expect(sessionSetCookie(signedUp.headers)).toBeUndefined();
      expect((await client.get('/api/v1/me')).status).toBe(401);

      const refused = await client.post('/api/auth/sign-in/email', { email, password: PASSWORD });
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('EMAIL_NOT_VERIFIED');
      expect(sessionSetCookie(refused.headers)).toBeUndefined();

      const link = await linkIn(t, email, /^\/api\/auth\/verify-email$/);
      expect((await new ApiClient(t.url).get(relative(link))).status).toBe(302);

      const signedIn = await client.post('/api/auth/sign-in/email', { email, password: PASSWORD });
      expect(signedIn.status).toBe(200);
      const me = await client.get('/api/v1/me');
      expect(me.status).toBe(200);
      expect(me.body.user.emailVerified).toBe(true);
    });
  });
});

describeEachBackend('mail from the auth endpoints while the SMTP server never answers', (backend) => {
  let t: TestServer;
  const silentSmtp = new SilentSmtpServer();

  beforeAll(async () => {
    t = await startTestServer(backend, { SMTP_URL: await silentSmtp.start() });
  });
  afterAll(async () => {
    // Dropping the hung connections first lets the pending sends fail (and be logged) while the server still runs.
    await silentSmtp.stop();
    await t?.close();
  });

  it('answers sign-up without waiting for the verification mail', async () => {
    const client = new ApiClient(t.url);
    const email = uniqueEmail('hung-smtp');
    const signedUp = await client.post('/api/auth/sign-up/email', { email, password: PASSWORD, name: 'Patient' });
    expect(signedUp.status).toBe(200);
    expect(signedUp.body.user.email).toBe(email);
    expect((await client.get('/api/v1/me')).status).toBe(200);
    // The verification mail was really attempted: its connection is the one left hanging.
    await expect.poll(() => silentSmtp.connections).toBeGreaterThan(0);
  });

  it('answers a password reset request alike for a known and an unknown address', async () => {
    const beforeSignUp = silentSmtp.connections;
    const user = await signUp(t.url, 'hung-reset');
    // Wait for the verification mail's connection, so the next one counted is the reset mail's.
    await expect.poll(() => silentSmtp.connections).toBeGreaterThan(beforeSignUp);
    const before = silentSmtp.connections;
    const anonymous = new ApiClient(t.url);
    const known = await anonymous.post('/api/auth/request-password-reset', { email: user.email, redirectTo: '/reset-password' });
    const unknown = await anonymous.post('/api/auth/request-password-reset', {
      email: uniqueEmail('nobody'),
      redirectTo: '/reset-password',
    });
    expect(known.status).toBe(200);
    expect(unknown.status).toBe(200);
    expect(unknown.body).toEqual(known.body);
    await expect.poll(() => silentSmtp.connections).toBeGreaterThan(before);
  });
});
