import type { AuthSession, SessionService } from '../auth/principal.ts';
import type { Config } from '../config.ts';
import type { SecretBox } from '../crypto/secret-box.ts';
import type { Logger } from '../logger.ts';
import type { Mailer } from '../mail/mailer.ts';
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
}

export interface RequestContext {
  requestId: string;
  ip: string;
  /** The verified session, or null for anonymous callers. */
  session: AuthSession | null;
  /** The tenant named by `X-Tenant-Id`, if any; honoured only among the caller's own memberships. */
  requestedTenantId: string | null;
  services: Services;
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
}): Promise<RequestContext> {
  const tenantHeader = input.headers.get('x-tenant-id');
  return {
    requestId: input.requestId,
    ip: input.ip,
    session: await input.services.sessions.fromHeaders(input.headers),
    requestedTenantId: tenantHeader ? tenantHeader.trim() : null,
    services: input.services,
  };
}
