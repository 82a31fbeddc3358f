import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiClient, PASSWORD, signUp } from '../support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../support/harness.ts';
import { logCapture } from '../support/log-capture.ts';

describeEachBackend('structured logs', (backend) => {
  let t: TestServer;
  const { destination, lines } = logCapture();

  beforeAll(async () => {
    t = await startTestServer(backend, { LOG_LEVEL: 'trace' }, { logDestination: destination });
  });
  afterAll(() => t?.close());

  it('never writes passwords, cookies, session tokens or one-time tokens', async () => {
    const user = await signUp(t.url, 'logged');
    const signIn = await new ApiClient(t.url).post('/api/auth/sign-in/email', { email: user.email, password: PASSWORD });
    expect(signIn.status).toBe(200);
    const sessionToken = signIn.body.token as string;
    const cookie = signIn.headers.getSetCookie().join('; ');
    expect(cookie).toContain('session_token');
    await user.get('/api/v1/me', { authorization: `Bearer ${sessionToken}` });
    await user.post('/api/v1/tenants', { name: 'Logged', slug: `logged-${Date.now()}` });
    const { match } = await t.inbox.waitFor(user.email, /(http\S+verify-email\?token=([^\s&]+)\S*)/);
    const verificationToken = match[2] as string;
    await fetch(match[1] as string, { redirect: 'manual' });

    const log = lines.join('');
    expect(lines.length).toBeGreaterThan(5);
    expect(log).toContain('"reqId"');
    expect(log).not.toContain(PASSWORD);
    expect(log).not.toContain(sessionToken);
    expect(log).not.toContain(verificationToken);
    expect(log).not.toContain(t.config.AUTH_SECRET as string);
    for (const piece of cookie.split(/[;,]\s*/)) {
      const value = piece.split('=')[1];
      if (value && value.length > 16) expect(log).not.toContain(value);
    }
  });

  // Last in this suite: it breaks the sessions table while it runs.
  it('never writes the session token when the session lookup fails in the database', async () => {
    const user = await signUp(t.url, 'outage');
    const signIn = await new ApiClient(t.url).post('/api/auth/sign-in/email', { email: user.email, password: PASSWORD });
    const sessionToken = signIn.body.token as string;
    expect(sessionToken.length).toBeGreaterThan(16);
    const from = lines.length;
    // The lookup by token now fails in PostgreSQL, the way it would during an outage, with the token bound.
    await t.ownerQuery('alter table auth.sessions rename column token to token_unavailable');
    try {
      const res = await new ApiClient(t.url).get('/api/v1/me', { authorization: `Bearer ${sessionToken}` });
      expect(res.status).toBeGreaterThanOrEqual(500);
    } finally {
      await t.ownerQuery('alter table auth.sessions rename column token_unavailable to token');
    }
    const written = lines.slice(from);
    const failures = written.map((line) => JSON.parse(line)).filter((entry) => entry.err?.type === 'DrizzleQueryError');
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0].err.params).toBe('[redacted]');
    expect(written.join('')).not.toContain(sessionToken);
  });
});
