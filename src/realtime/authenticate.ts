import type { FastifyRequest } from 'fastify';
import type { Caller } from '../api/context.ts';
import { AppError } from '../api/errors.ts';
import { scopesAllow } from '../api/procedures.ts';
import type { SessionService } from '../auth/principal.ts';
import type { Subscriber } from './hub.ts';
import { type RealtimeClaims, verifyRealtimeToken } from './token.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Who may open a realtime socket, decided once at the handshake:
 * - `?token=rt_...` from `POST /api/v1/realtime/token` (browsers), re-checked
 *   against the database because a token outlives nothing but may be replayed
 *   within its minute;
 * - an API key with `events:read` (headers, as for every other route);
 * - a session cookie or bearer token, in `X-Tenant-Id` / `?tenantId=` or the
 *   session's active tenant, if the user is a member there.
 * The subscriber's role (the member's, or the key's ceiling) is read here too:
 * it decides which event types the socket receives.
 * Null means 401; an AppError (403) refuses with its own status.
 */
export function realtimeAuthenticator(options: {
  sessions: SessionService;
  tokenSecret: string;
  /** The request's caller, resolved once per request by the HTTP layer. */
  callerOf: (req: FastifyRequest) => Promise<Caller>;
}): (req: FastifyRequest) => Promise<Subscriber | null> {
  const { sessions, tokenSecret, callerOf } = options;
  return async (req) => {
    const query = (req.query ?? {}) as { token?: unknown; tenantId?: unknown };
    if (typeof query.token === 'string') {
      const claims = verifyRealtimeToken(tokenSecret, query.token);
      return claims ? tokenSubscriber(sessions, claims) : null;
    }
    const caller = await callerOf(req);
    if (caller.kind === 'apiKey') {
      if (!scopesAllow(caller.principal.scopes, 'events:read')) throw new AppError('INSUFFICIENT_SCOPE');
      const { tenantId, apiKeyId, role } = caller.principal;
      const subscriber = { tenantId, userId: null, apiKeyId, role };
      // A resolved key may come from the cache (auth/principal.ts); a socket opens only for a live one.
      return (await sessions.roleNow(subscriber)) ? subscriber : null;
    }
    if (caller.kind !== 'session') return null;
    const header = req.headers['x-tenant-id'];
    const requested = typeof header === 'string' ? header : typeof query.tenantId === 'string' ? query.tenantId : null;
    const tenantId = requested ?? caller.session.activeTenantId;
    if (!tenantId) throw new AppError('NO_ACTIVE_TENANT');
    if (!UUID.test(tenantId)) throw new AppError('TENANT_ACCESS_DENIED');
    const member = await sessions.enterTenant(caller.session.identity, tenantId);
    return { tenantId: member.tenantId, userId: member.userId, apiKeyId: null, role: member.role };
  };
}

/**
 * The subscriber a verified token names, with the role it holds now, if it may still listen: a token may
 * be replayed within its minute. The token does not carry an API key's role ceiling, so a key's token sees
 * member-level events only; a key sees its full ceiling when it connects with its own header.
 */
async function tokenSubscriber(sessions: SessionService, claims: RealtimeClaims): Promise<Subscriber | null> {
  const role = await sessions.roleNow({ ...claims, role: 'member' });
  return role && { ...claims, role };
}
