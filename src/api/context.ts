import { looksLikeApiKey } from '../auth/api-key-format.ts';
import type { AuthSession, SessionService } from '../auth/principal.ts';
import type { Config } from '../config.ts';
import type { SecretBox } from '../crypto/secret-box.ts';
import type { ApiKeyPrincipal } from '../db/tenant.ts';
import type { Logger } from '../logger.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { SlowQueryLog } from '../observability/slow-queries.ts';
import type { TenantStats } from '../observability/tenant-stats.ts';
import type { OutboundPolicy } from '../webhooks/safe-http.ts';

/** What every procedure may use besides its input. The database is not here: tenant data goes through `withTenant`. */
export interface Services {
  config: Config;
  logger: Logger;
  mailer: Mailer;
  sessions: SessionService;
  /** Seals secrets that must be used again (webhook signing secrets). */
  secrets: SecretBox;
  /** Where outbound webhooks may go. */
  outbound: OutboundPolicy;
  /** This process's per-tenant request statistics and slow-query log. */
  telemetry: { stats: TenantStats; slowQueries: SlowQueryLog };
  /** Issues the short-lived tokens browsers open realtime connections with. */
  realtimeTokens: {
    issue(claims: { tenantId: string; userId: string | null; apiKeyId: string | null }): { token: string; expiresAt: string };
  };
}

/** Who is calling: a session, an API key, an API key that did not verify, or nobody. */
export type Caller =
  | { kind: 'session'; session: AuthSession }
  | { kind: 'apiKey'; principal: ApiKeyPrincipal }
  | { kind: 'invalidApiKey' }
  | { kind: 'anonymous' };

export interface RequestContext {
  requestId: string;
  ip: string;
  userAgent: string | null;
  /** The verified session, or null for anonymous callers and API keys. */
  session: AuthSession | null;
  /** The verified API key, or null. */
  apiKey: ApiKeyPrincipal | null;
  /** An API key was presented but is malformed, unknown, revoked or expired: the request is refused, never downgraded to the cookie. */
  apiKeyRejected: boolean;
  /** The tenant named by `X-Tenant-Id`, if any; honoured only among the caller's own memberships. */
  requestedTenantId: string | null;
  services: Services;
}

/** The API key in `x-api-key` or `Authorization: Bearer pal_...`, if any. */
export function presentedApiKey(headers: Headers): string | null {
  const header = headers.get('x-api-key');
  if (header) return header.trim();
  const authorization = headers.get('authorization');
  const bearer = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  return bearer && looksLikeApiKey(bearer) ? bearer : null;
}

/** Resolves the caller of a request from its headers: an API key if one is presented, else the session. */
export async function resolveCaller(headers: Headers, sessions: SessionService): Promise<Caller> {
  const secret = presentedApiKey(headers);
  if (secret !== null) {
    const principal = await sessions.fromApiKey(secret);
    return principal ? { kind: 'apiKey', principal } : { kind: 'invalidApiKey' };
  }
  const session = await sessions.fromHeaders(headers);
  return session ? { kind: 'session', session } : { kind: 'anonymous' };
}

/**
 * Builds a context from plain values, so procedure tests can call procedures
 * without HTTP (see `createCaller` in api/router.ts).
 */
export async function createRequestContext(input: {
  requestId: string;
  ip: string;
  headers: Headers;
  services: Services;
  /** Already resolved by the HTTP layer (rate limiting needs it first); resolved here otherwise. */
  caller?: Caller;
}): Promise<RequestContext> {
  const tenantHeader = input.headers.get('x-tenant-id');
  const caller = input.caller ?? (await resolveCaller(input.headers, input.services.sessions));
  return {
    requestId: input.requestId,
    ip: input.ip,
    userAgent: input.headers.get('user-agent')?.slice(0, 512) ?? null,
    session: caller.kind === 'session' ? caller.session : null,
    apiKey: caller.kind === 'apiKey' ? caller.principal : null,
    apiKeyRejected: caller.kind === 'invalidApiKey',
    requestedTenantId: tenantHeader ? tenantHeader.trim() : null,
    services: input.services,
  };
}
