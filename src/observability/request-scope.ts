import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What is known about the request being served, wherever in its call tree the
 * code runs: the database layer reads it to attribute slow transactions, the
 * HTTP layer to record per-tenant statistics once the tenant is verified.
 */
export interface RequestScope {
  requestId: string;
  /** The route pattern (`GET /api/v1/members`) or tRPC path (`trpc members.list`). */
  procedure: string;
  /** Set only once the caller's membership or key was verified for it. */
  tenantId: string | null;
  /** Who acted in that tenant: a member or an API key. */
  userId?: string | null;
  apiKeyId?: string | null;
}

export const requestScope = new AsyncLocalStorage<RequestScope>();

/** Records the verified tenant of the current request and who acts in it. */
export function noteVerifiedTenant(tenantId: string, actor: { userId?: string; apiKeyId?: string }): void {
  const scope = requestScope.getStore();
  if (!scope) return;
  scope.tenantId = tenantId;
  scope.userId = actor.userId ?? null;
  scope.apiKeyId = actor.apiKeyId ?? null;
}
