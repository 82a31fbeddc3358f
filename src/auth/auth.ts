import { betterAuth } from 'better-auth';
import { drizzleAdapter } from 'better-auth/adapters/drizzle';
import { bearer, genericOAuth } from 'better-auth/plugins';
import { and, asc, eq, isNull } from 'drizzle-orm';
import { type Config, publicUrl } from '../config.ts';
import type { Database } from '../db/client.ts';
import { memberships } from '../db/core-schema.ts';
import { bindToDatabase, withUser } from '../db/tenant.ts';
import { tenants } from '../db/tenant-table.ts';
import { type Logger, scrubQueryParams } from '../logger.ts';
import type { Mailer } from '../mail/mailer.ts';
import { accounts, sessions, users, verifications } from './schema.ts';

export const OIDC_PROVIDER_ID = 'oidc';

/** Set by the server on requests it hands to the auth library; any incoming value is replaced. */
export const CLIENT_IP_HEADER = 'x-palisade-client-ip';

/**
 * Better Auth: email and password, email verification, password reset,
 * database sessions in httpOnly cookies (or as bearer tokens), and OAuth (Google, Microsoft and any
 * OpenID Connect provider, all with PKCE). It talks to its own tables in the
 * `auth` schema over the owner connection; tenants and memberships are
 * Palisade's own RLS tables (docs/security.md explains why).
 */
export function createAuth(options: { config: Config; database: Database; mailer: Mailer; secret: string; logger: Logger }) {
  const { config, database, mailer } = options;
  const logger = options.logger.child({ component: 'auth' });
  const baseURL = publicUrl(config);
  const production = config.NODE_ENV === 'production';

  const socialProviders: Parameters<typeof betterAuth>[0]['socialProviders'] = {};
  if (config.GOOGLE_CLIENT_ID && config.GOOGLE_CLIENT_SECRET) {
    socialProviders.google = { clientId: config.GOOGLE_CLIENT_ID, clientSecret: config.GOOGLE_CLIENT_SECRET };
  }
  if (config.MICROSOFT_CLIENT_ID && config.MICROSOFT_CLIENT_SECRET) {
    socialProviders.microsoft = {
      clientId: config.MICROSOFT_CLIENT_ID,
      clientSecret: config.MICROSOFT_CLIENT_SECRET,
      tenantId: config.MICROSOFT_TENANT_ID,
    };
  }

  return betterAuth({
    appName: 'Palisade',
    baseURL,
    basePath: '/api/auth',
    secret: options.secret,
    trustedOrigins: [baseURL],
    database: drizzleAdapter(database.owner as never, {
      provider: 'pg',
      schema: { user: users, session: sessions, account: accounts, verification: verifications },
    }),
    advanced: {
      database: { generateId: 'uuid' },
      useSecureCookies: production,
      defaultCookieAttributes: { httpOnly: true, sameSite: 'lax', secure: production },
      // The library would skip its redirect-URL checks whenever NODE_ENV=test; keep them on everywhere.
      disableOriginCheck: false,
      // The client address as Fastify computed it under TRUST_PROXY_HOPS (server.ts sets this header), never
      // a client-supplied X-Forwarded-For.
      ipAddress: { ipAddressHeaders: [CLIENT_IP_HEADER] },
    },
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
    // Errors that are not the library's own answers (a database that went away) are thrown to server.ts's
    // handler, which maps them onto the catalogue (503 UNAVAILABLE) with the standard body. Otherwise the
    // library answers 500 with an empty body and prints the failed query, parameters included, to stderr.
    onAPIError: { throw: true },
    // The library would otherwise print coloured lines to the console, ignoring LOG_LEVEL and the redaction rules.
    logger: {
      disabled: logger.level === 'silent',
      level: 'debug',
      log(level, message, ...args) {
        const fields: Record<string, unknown> = {};
        const error = args.find((a): a is Error => a instanceof Error);
        if (error) fields.err = error;
        // A single argument goes under `auth` as is, so the redacted paths (`*.token`, `*.password`...) still reach its fields.
        const rest = args.filter((a) => !(a instanceof Error));
        if (rest.length > 0) fields.auth = rest.length === 1 ? rest[0] : rest;
        logger[level](fields, scrubQueryParams(message));
      },
    },
    session: {
      // No cookie cache: revoking a session or a membership takes effect on the next request.
      cookieCache: { enabled: false },
      additionalFields: { activeTenantId: { type: 'string', required: false, input: false } },
    },
    emailAndPassword: {
      enabled: true,
      minPasswordLength: 10,
      requireEmailVerification: config.REQUIRE_EMAIL_VERIFICATION,
      revokeSessionsOnPasswordReset: true,
      // Not awaited (Better Auth's advice): an unknown address sends nothing, so a response that waited
      // for SMTP would tell who has an account. The mailer logs a failure itself and never rejects.
      async sendResetPassword({ user, url }) {
        void mailer.send({
          to: user.email,
          subject: 'Reset your Palisade password',
          text: `Someone asked to reset the password of your Palisade account.\n\nTo choose a new password, open:\n${url}\n\nIf this was not you, ignore this email.`,
          purpose: 'password-reset',
          recordId: user.id,
        });
      },
    },
    emailVerification: {
      sendOnSignUp: true,
      autoSignInAfterVerification: true,
      // Not awaited: sign-up (the user already exists by now) and sign-in must not wait on, or fail with,
      // the SMTP server. A lost mail is logged by the mailer; the user can ask for another.
      async sendVerificationEmail({ user, url }) {
        void mailer.send({
          to: user.email,
          subject: 'Verify your email for Palisade',
          text: `Welcome to Palisade.\n\nConfirm your email address by opening:\n${url}\n`,
          purpose: 'email-verification',
          recordId: user.id,
        });
      },
    },
    socialProviders,
    databaseHooks: {
      session: {
        create: {
          // A new session starts in the tenant the user joined first, so a one-tenant user never has to pick.
          async before(session) {
            const activeTenantId = await firstTenantOf(database, session.userId);
            return { data: { ...session, activeTenantId } };
          },
        },
      },
    },
    plugins: [
      // `Authorization: Bearer <session token>` (the token sign-in returns) for clients without cookies, as docs/api.md promises.
      bearer(),
      genericOAuth({
        config:
          config.OIDC_ISSUER && config.OIDC_CLIENT_ID && config.OIDC_CLIENT_SECRET
            ? [
                {
                  providerId: OIDC_PROVIDER_ID,
                  discoveryUrl: `${config.OIDC_ISSUER.replace(/\/$/, '')}/.well-known/openid-configuration`,
                  clientId: config.OIDC_CLIENT_ID,
                  clientSecret: config.OIDC_CLIENT_SECRET,
                  scopes: ['openid', 'email', 'profile'],
                  pkce: true,
                },
              ]
            : [],
      }),
    ],
  });
}

export type Auth = ReturnType<typeof createAuth>;

async function firstTenantOf(database: Database, userId: string): Promise<string | null> {
  const identity = bindToDatabase(database, { userId, email: '', emailVerified: false, name: '' });
  const [first] = await withUser(identity, (tx) =>
    tx
      .select({ tenantId: memberships.tenantId })
      .from(memberships)
      .innerJoin(tenants, eq(tenants.id, memberships.tenantId))
      .where(and(eq(memberships.userId, userId), isNull(tenants.deletedAt)))
      .orderBy(asc(memberships.createdAt))
      .limit(1),
  );
  return first?.tenantId ?? null;
}

/** The OAuth providers this deployment offers, for sign-in screens. */
export function configuredProviders(config: Config): Array<{ id: string; name: string }> {
  const providers: Array<{ id: string; name: string }> = [];
  if (config.GOOGLE_CLIENT_ID) providers.push({ id: 'google', name: 'Google' });
  if (config.MICROSOFT_CLIENT_ID) providers.push({ id: 'microsoft', name: 'Microsoft' });
  if (config.OIDC_CLIENT_ID) providers.push({ id: OIDC_PROVIDER_ID, name: config.OIDC_PROVIDER_NAME });
  return providers;
}
