import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { uniqueEmail } from './client.ts';
import { freeLoopbackPort } from './free-port.ts';

/**
 * A real OpenID Connect provider (the `oidc-provider` package) on loopback,
 * with one confidential client and one account, for end-to-end sign-in tests.
 *
 * Login and consent are plain HTML forms served by this helper (the provider
 * leaves interactions to the host application): a test completes them the way
 * a browser would, by following redirects and posting the forms.
 */

export interface OidcAccount {
  /** The provider's subject identifier (`sub`). */
  accountId: string;
  /** What the login form expects. */
  login: string;
  password: string;
  email: string;
  emailVerified: boolean;
  name: string;
}

export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  account: OidcAccount;
  /** The query of every authorization request the provider received, in order. */
  authorizationRequests: URLSearchParams[];
  /** Errors the provider reported while handling requests (for failure messages). */
  errors: string[];
  /** The Palisade environment that configures this provider. */
  palisadeEnv: Record<string, string>;
  close(): Promise<void>;
}

// The package ships no type declarations (and @types/oidc-provider is not
// installed), so the few parts used here are typed by hand. The specifier is a
// variable so that TypeScript does not look for the module's types.
interface Interaction {
  uid: string;
  prompt: { name: string; details: { missingOIDCScope?: string[]; missingOIDCClaims?: string[] } };
  params: Record<string, unknown>;
  session?: { accountId?: string };
  grantId?: string;
}
interface Grant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  save(): Promise<string>;
}
interface Provider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: object,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  on(event: string, listener: (...args: unknown[]) => void): void;
  Grant: { new (init: { accountId: string; clientId: string }): Grant; find(id: string): Promise<Grant | undefined> };
}
type ProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => Provider;
const OIDC_PROVIDER_MODULE: string = 'oidc-provider';

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function sendForm(res: ServerResponse, title: string, action: string, fields: string, status = 200): void {
  res.statusCode = status;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(
    `<!doctype html><title>${escapeHtml(title)}</title><h1>${escapeHtml(title)}</h1><form method="post" action="${escapeHtml(action)}">${fields}<button type="submit">Continue</button></form>`,
  );
}

/**
 * Starts the provider. `redirectUri` is the relying party's callback, the
 * only one the client may use. PKCE is required for the client: an
 * authorization request without an S256 code challenge is refused.
 */
export async function startOidcProvider(options: {
  redirectUri: string;
  account?: Partial<OidcAccount>;
}): Promise<TestOidcProvider> {
  const { Provider: ProviderClass } = (await import(OIDC_PROVIDER_MODULE)) as { Provider: ProviderConstructor };
  const account: OidcAccount = {
    accountId: `sub-${randomBytes(6).toString('hex')}`,
    login: 'alice',
    password: 'provider-password',
    email: uniqueEmail('oidc'),
    emailVerified: true,
    name: 'Alice Provider',
    ...options.account,
  };
  const clientId = 'palisade';
  const clientSecret = randomBytes(24).toString('base64url');
  const authorizationRequests: URLSearchParams[] = [];
  const errors: string[] = [];

  const port = await freeLoopbackPort();
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'test-key' };

  const provider = new ProviderClass(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [options.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        // Better Auth sends the secret in the token request body.
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    pkce: { required: (_ctx: unknown, client: { clientId: string }) => client.clientId === clientId },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    async findAccount(_ctx: unknown, sub: string) {
      if (sub !== account.accountId) return undefined;
      return {
        accountId: sub,
        async claims() {
          return { sub, email: account.email, email_verified: account.emailVerified, name: account.name };
        },
      };
    },
    features: { devInteractions: { enabled: false } },
    // Explicit lifetimes (seconds); the defaults work but print a notice each.
    ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
  });
  for (const event of ['server_error', 'authorization.error', 'grant.error', 'userinfo.error']) {
    provider.on(event, (...args: unknown[]) => {
      const error = args.find((a) => a instanceof Error) as (Error & { error_description?: string }) | undefined;
      errors.push(`${event}: ${error?.message ?? ''} ${error?.error_description ?? ''}`.trim());
    });
  }
  const handleProtocol = provider.callback();

  /** The login and consent screens the provider redirects the browser to. */
  async function handleInteraction(req: IncomingMessage, res: ServerResponse, uid: string, step: string | undefined) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction mismatch');
    const base = `/interaction/${uid}`;
    if (req.method === 'GET') {
      if (details.prompt.name === 'login') {
        sendForm(res, 'Sign in', `${base}/login`, '<input name="login"><input name="password" type="password">');
      } else {
        sendForm(
          res,
          `Allow ${String(details.params.client_id)} to see ${String(details.params.scope)}?`,
          `${base}/confirm`,
          '<input type="hidden" name="allow" value="yes">',
        );
      }
      return;
    }
    const form = await readForm(req);
    if (step === 'login') {
      if (form.get('login') !== account.login || form.get('password') !== account.password) {
        sendForm(
          res,
          'Wrong login or password',
          `${base}/login`,
          '<input name="login"><input name="password" type="password">',
          401,
        );
        return;
      }
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: account.accountId } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    if (step === 'confirm' && form.get('allow') === 'yes') {
      const accountId = details.session?.accountId;
      if (!accountId) throw new Error('consent without a signed-in account');
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId, clientId: String(details.params.client_id) });
      if (!grant) throw new Error('grant not found');
      const missing = details.prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      await provider.interactionFinished(
        req,
        res,
        { consent: { grantId: await grant.save() } },
        { mergeWithLastSubmission: true },
      );
      return;
    }
    res.statusCode = 400;
    res.end('unknown interaction step');
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    if (url.pathname === '/auth') authorizationRequests.push(new URLSearchParams(url.search));
    const interaction = /^\/interaction\/([\w-]+)(?:\/(login|confirm))?$/.exec(url.pathname);
    if (!interaction) {
      handleProtocol(req, res);
      return;
    }
    handleInteraction(req, res, interaction[1] as string, interaction[2]).catch((error: Error) => {
      errors.push(`interaction: ${error.message}`);
      if (!res.headersSent) res.statusCode = 500;
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

  return {
    issuer,
    clientId,
    clientSecret,
    account,
    authorizationRequests,
    errors,
    palisadeEnv: { OIDC_ISSUER: issuer, OIDC_CLIENT_ID: clientId, OIDC_CLIENT_SECRET: clientSecret },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
