import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiClient, Browser, type BrowserResponse } from '../../test/support/client.ts';
import { freeLoopbackPort } from '../../test/support/free-port.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../../test/support/harness.ts';
import { startOidcProvider, type TestOidcProvider } from '../../test/support/oidc.ts';

/**
 * Sign-in with OpenID Connect against a real provider on loopback. Better
 * Auth's generic-oauth plugin registers the provider as a social provider, so
 * sign-in starts at /api/auth/sign-in/social and the provider redirects back to
 * /api/auth/callback/oidc (the plugin has no endpoints of its own).
 */
const SESSION_COOKIE = 'better-auth.session_token';

/** Fills and posts the HTML form of a provider page, as a browser would. */
async function submitForm(browser: Browser, page: BrowserResponse, values: Record<string, string>) {
  const action = /<form[^>]*action="([^"]+)"/.exec(page.text)?.[1];
  if (!action) throw new Error(`no form on ${page.url}: ${page.text.slice(0, 200)}`);
  const form = new URLSearchParams();
  for (const [, name, value] of page.text.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g))
    form.set(name as string, value as string);
  for (const [name, value] of Object.entries(values)) form.set(name, value);
  return browser.navigate(new URL(action.replaceAll('&#38;', '&'), page.url).href, {
    method: 'POST',
    body: form,
    stopAt: (url) => url.pathname.startsWith('/api/auth/callback/'),
  });
}

describeEachBackend('OpenID Connect sign-in', (backend) => {
  let t: TestServer;
  let idp: TestOidcProvider;

  beforeAll(async () => {
    // The provider must know Palisade's callback before either starts, so Palisade's port is chosen first.
    const port = await freeLoopbackPort();
    const palisadeUrl = `http://127.0.0.1:${port}`;
    idp = await startOidcProvider({ redirectUri: `${palisadeUrl}/api/auth/callback/oidc` });
    t = await startTestServer(backend, { PORT: String(port), PUBLIC_URL: palisadeUrl, ...idp.palisadeEnv });
  });
  afterAll(async () => {
    await t?.close();
    await idp?.close();
  });

  /**
   * Starts sign-in in `browser` and completes login and consent at the
   * provider. Returns the provider's redirect back to Palisade, not yet followed.
   */
  async function authorizeAtProvider(browser: Browser): Promise<URL> {
    const start = await browser.request(`${t.url}/api/auth/sign-in/social`, {
      method: 'POST',
      body: { provider: 'oidc', callbackURL: '/' },
    });
    expect(start.status).toBe(200);
    expect(start.json.redirect).toBe(true);
    const authorizationUrl = new URL(start.json.url);
    expect(authorizationUrl.origin).toBe(idp.issuer);

    const loginPage = await browser.navigate(authorizationUrl.href);
    expect(loginPage.response.text).toContain('Sign in');
    const afterLogin = await submitForm(browser, loginPage.response, {
      login: idp.account.login,
      password: idp.account.password,
    });
    let callback = afterLogin.stoppedAt;
    if (!callback) {
      // First authorization of this client by the account: the provider asks for consent.
      expect(afterLogin.response.text).toContain('Allow palisade');
      callback = (await submitForm(browser, afterLogin.response, {})).stoppedAt;
    }
    if (!callback) throw new Error(`provider did not redirect back; provider errors: ${idp.errors.join('; ')}`);
    const url = new URL(callback);
    expect(url.origin).toBe(t.url);
    expect(url.pathname).toBe('/api/auth/callback/oidc');
    return url;
  }

  it('lists the provider for sign-in screens', async () => {
    const res = await new ApiClient(t.url).get('/api/v1/auth/providers');
    expect(res.status).toBe(200);
    expect(res.body.providers).toEqual([{ id: 'oidc', name: 'OpenID Connect' }]);
  });

  it('signs a new user in through the provider, with PKCE', async () => {
    const browser = new Browser();
    const callback = await authorizeAtProvider(browser);

    // The authorization request the provider received carried an S256 code challenge.
    const request = idp.authorizationRequests.at(-1);
    expect(request?.get('client_id')).toBe(idp.clientId);
    expect(request?.get('code_challenge_method')).toBe('S256');
    expect(request?.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(request?.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['openid', 'email']));
    expect(request?.get('redirect_uri')).toBe(`${t.url}/api/auth/callback/oidc`);
    // The provider insists on it: the same request without the challenge is refused.
    const withoutPkce = new URL(`${idp.issuer}/auth`);
    for (const [key, value] of request ?? []) if (!key.startsWith('code_challenge')) withoutPkce.searchParams.set(key, value);
    const refused = await new Browser().navigate(withoutPkce.href, { stopAt: () => true });
    const refusal = new URL(refused.stoppedAt ?? '').searchParams;
    expect(refusal.get('error')).toBe('invalid_request');
    expect(refusal.get('error_description')).toMatch(/requires PKCE/);

    const back = await browser.request(callback.href);
    expect(back.status).toBe(302);
    expect(new URL(back.headers.get('location') ?? '', t.url).href).toBe(`${t.url}/`);
    const sessionCookie = back.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
    expect(sessionCookie).toMatch(/HttpOnly/i);
    expect(sessionCookie).toMatch(/SameSite=Lax/i);

    const me = await browser.request(`${t.url}/api/v1/me`);
    expect(me.status).toBe(200);
    expect(me.json.user.email).toBe(idp.account.email);
    expect(me.json.user.name).toBe(idp.account.name);
    // The provider vouched for the address.
    expect(me.json.user.emailVerified).toBe(true);

    const accounts = await t.ownerQuery<{ provider_id: string; account_id: string }>(
      'select a.provider_id, a.account_id from auth.accounts a join auth.users u on u.id = a.user_id where lower(u.email) = lower($1)',
      [idp.account.email],
    );
    expect(accounts).toEqual([{ provider_id: 'oidc', account_id: idp.account.accountId }]);
  });

  it('signs the same user in again without creating a second account', async () => {
    const browser = new Browser();
    const callback = await authorizeAtProvider(browser);
    const back = await browser.request(callback.href);
    expect(back.status).toBe(302);
    const me = await browser.request(`${t.url}/api/v1/me`);
    expect(me.json.user.email).toBe(idp.account.email);
    const [users] = await t.ownerQuery<{ n: number }>(
      'select count(*)::int as n from auth.users where lower(email) = lower($1)',
      [idp.account.email],
    );
    expect(users?.n).toBe(1);
  });

  it('refuses a callback whose state was tampered with', async () => {
    const browser = new Browser();
    const callback = await authorizeAtProvider(browser);
    const state = callback.searchParams.get('state') ?? '';
    expect(state).not.toBe('');
    const tampered = new URL(callback);
    tampered.searchParams.set('state', `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`);

    const back = await browser.request(tampered.href);
    expect(back.status).toBe(302);
    const location = new URL(back.headers.get('location') ?? '', t.url);
    expect(location.pathname).toBe('/api/auth/error');
    expect(location.searchParams.get('error')).toMatch(/state/);
    expect(browser.cookie(t.url, SESSION_COOKIE)).toBeUndefined();
    const me = await browser.request(`${t.url}/api/v1/me`);
    expect(me.status).toBe(401);
    expect(me.json.error.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a callback that belongs to another browser (login CSRF)', async () => {
    // The attacker completes the provider flow and hands the victim the callback link.
    const attacker = new Browser();
    const attackersCallback = await authorizeAtProvider(attacker);
    const victim = new Browser();
    await victim.request(`${t.url}/api/auth/sign-in/social`, { method: 'POST', body: { provider: 'oidc', callbackURL: '/' } });

    const back = await victim.request(attackersCallback.href);
    expect(back.status).toBe(302);
    const location = new URL(back.headers.get('location') ?? '', t.url);
    expect(location.pathname).toBe('/api/auth/error');
    expect(location.searchParams.get('error')).toMatch(/state/);
    expect(victim.cookie(t.url, SESSION_COOKIE)).toBeUndefined();
  });
});

describeEachBackend('OAuth providers without configuration', (backend) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(backend);
  });
  afterAll(() => t?.close());

  it('lists no provider and refuses OIDC sign-in', async () => {
    const providers = await new ApiClient(t.url).get('/api/v1/auth/providers');
    expect(providers.body.providers).toEqual([]);
    const start = await new ApiClient(t.url).post('/api/auth/sign-in/social', { provider: 'oidc', callbackURL: '/' });
    expect(start.status).toBe(404);
  });
});
