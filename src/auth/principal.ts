import { AppError } from '../api/errors.ts';
import type { Database } from '../db/client.ts';
import type { Role } from '../db/core-schema.ts';
import {
  type ApiKeyPrincipal,
  apiKeyIsLive,
  bindToDatabase,
  type MemberPrincipal,
  memberRole,
  type ResolvedWidget,
  resolveApiKey,
  resolveWidget,
  type UserIdentity,
  type WidgetPrincipal,
} from '../db/tenant.ts';
import { hashApiKey, isWellFormedApiKey } from './api-key-format.ts';
import type { Auth } from './auth.ts';

/** A verified session: who is calling, and which tenant the session is working in. */
export interface AuthSession {
  identity: UserIdentity;
  sessionToken: string;
  activeTenantId: string | null;
}

/**
 * What procedures may do with sessions and memberships. Built once per server
 * around the database; procedures see only these functions.
 */
export interface SessionService {
  /** The session behind a request's cookie or bearer token, or null. */
  fromHeaders(headers: Headers): Promise<AuthSession | null>;
  /** The caller acting in `tenantId`, if they are a member of it (a live check, never cached). */
  enterTenant(identity: UserIdentity, tenantId: string): Promise<MemberPrincipal>;
  /**
   * The tenant principal of a presented API key, or null if it is malformed, unknown, revoked or expired.
   * Resolved keys are remembered (see `ApiKeyCache`): every tenant transaction checks the key again as it
   * opens, so a revoked key is refused on its next request all the same.
   */
  fromApiKey(secret: string): Promise<ApiKeyPrincipal | null>;
  /** Drops a key from this process's cache at once (it was just revoked here). */
  forgetApiKey(apiKeyId: string): void;
  /** A widget's visitor principal from its publishable key, with the widget's public settings, or null for an unknown key. */
  fromWidgetKey(publishableKey: string): Promise<{ principal: WidgetPrincipal; widget: ResolvedWidget } | null>;
  /**
   * For long-lived connections: the role a member holds in the tenant now, or a key's ceiling (`role`, which
   * never changes) while the key is live; null once the member left or the key was revoked.
   */
  roleNow(who: { tenantId: string; userId: string | null; apiKeyId: string | null; role: Role }): Promise<Role | null>;
  /** The caller's identity bound to the database, for user- and platform-level transactions. */
  bindIdentity(identity: UserIdentity): UserIdentity;
  /** Remembers the session's active tenant. */
  setActiveTenant(sessionToken: string, tenantId: string | null): Promise<void>;
  /** Signs the user out everywhere: after a role change or removal, old sessions must not linger. */
  revokeAllSessions(userId: string): Promise<void>;
}

/**
 * Resolved API keys of this process, by the SHA-256 of their secret. Resolving a key is a statement of its
 * own, before the request's tenant transaction; remembering the result saves it on the key's later requests.
 * That is safe because the resolution only names the key's tenant, role ceiling and scopes, which never
 * change, and the plan its rate limit uses; whether the key is still live (not revoked or expired, its tenant
 * not deleted) is checked again by `app.enter_api_key` as every tenant transaction opens, and by
 * `roleNow` before a realtime socket opens.
 *
 * An entry is served for up to fifteen minutes. Once it is five minutes old, the next request that uses it
 * starts a new resolution in the background and goes on with the entry: so a key in use keeps its plan and
 * its `last_used_at` (written by the resolution) five minutes fresh, and a key that was revoked elsewhere
 * leaves the cache then, without any request waiting for the statement. Five minutes rather than one: the
 * background work grows with the number of keys in use (10,000 active keys cost 33 resolutions and
 * `last_used_at` writes a second at five minutes, 167 at one), and neither the plan's rate limit nor a
 * last-used date needs to be fresher. Keys used less often than every fifteen minutes are resolved on the
 * request, as without a cache. Unknown keys are not
 * remembered: guessing costs a statement per guess, and is rate limited by address.
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, { principal: ApiKeyPrincipal; resolvedAt: number; refreshing: boolean }>();

  constructor(
    private readonly refreshAfterMs = 5 * 60_000,
    private readonly maxAgeMs = 15 * 60_000,
    // About half a kilobyte each: 25 MB at the most.
    private readonly maxEntries = 50_000,
  ) {}

  /** The remembered principal, and whether it is time to resolve the key again (the caller does, once). */
  get(secretHash: string, now = Date.now()): { principal: ApiKeyPrincipal; refresh: boolean } | undefined {
    const entry = this.entries.get(secretHash);
    if (!entry) return undefined;
    const age = now - entry.resolvedAt;
    if (age >= this.maxAgeMs) {
      this.entries.delete(secretHash);
      return undefined;
    }
    const refresh = age >= this.refreshAfterMs && !entry.refreshing;
    if (refresh) entry.refreshing = true;
    return { principal: entry.principal, refresh };
  }

  set(secretHash: string, principal: ApiKeyPrincipal, now = Date.now()): void {
    this.entries.delete(secretHash);
    // Maps keep insertion order: when full, the entry resolved longest ago goes first.
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(secretHash, { principal, resolvedAt: now, refreshing: false });
  }

  /** A background resolution failed (the database is away, say): the next request may try again. */
  refreshFailed(secretHash: string): void {
    const entry = this.entries.get(secretHash);
    if (entry) entry.refreshing = false;
  }

  forgetHash(secretHash: string): void {
    this.entries.delete(secretHash);
  }

  forget(apiKeyId: string): void {
    for (const [hash, entry] of this.entries) if (entry.principal.apiKeyId === apiKeyId) this.entries.delete(hash);
  }
}

export function createSessionService(auth: Auth, database: Database, apiKeys = new ApiKeyCache()): SessionService {
  return {
    async fromHeaders(headers) {
      const result = await auth.api.getSession({ headers });
      if (!result) return null;
      const { user, session } = result;
      return {
        identity: bindToDatabase(database, {
          userId: user.id,
          email: user.email,
          emailVerified: user.emailVerified,
          name: user.name,
        }),
        sessionToken: session.token,
        activeTenantId: (session as { activeTenantId?: string | null }).activeTenantId ?? null,
      };
    },

    async enterTenant(identity, tenantId) {
      const role = await memberRole(database, tenantId, identity.userId);
      if (!role) throw new AppError('TENANT_ACCESS_DENIED');
      return bindToDatabase(database, { ...identity, kind: 'member' as const, tenantId, role });
    },

    async fromApiKey(secret) {
      // The checksum refuses typos and invented keys without a database round trip.
      if (!isWellFormedApiKey(secret)) return null;
      const secretHash = hashApiKey(secret);
      const resolve = async () => {
        const key = await resolveApiKey(database, secretHash);
        if (!key) {
          apiKeys.forgetHash(secretHash);
          return null;
        }
        const principal = bindToDatabase(database, { kind: 'apiKey' as const, ...key });
        apiKeys.set(secretHash, principal);
        return principal;
      };
      const known = apiKeys.get(secretHash);
      if (!known) return resolve();
      if (known.refresh) resolve().catch(() => apiKeys.refreshFailed(secretHash));
      return known.principal;
    },

    forgetApiKey: (apiKeyId) => apiKeys.forget(apiKeyId),

    async fromWidgetKey(publishableKey) {
      if (!/^pk_(live|test)_[0-9A-Za-z]{24,64}$/.test(publishableKey)) return null;
      const widget = await resolveWidget(database, publishableKey);
      if (!widget) return null;
      const principal = bindToDatabase(database, {
        kind: 'widget' as const,
        tenantId: widget.tenantId,
        widgetId: widget.widgetId,
        plan: widget.plan,
      });
      return { principal, widget };
    },

    async roleNow({ tenantId, userId, apiKeyId, role }) {
      if (apiKeyId) return (await apiKeyIsLive(database, tenantId, apiKeyId)) ? role : null;
      return userId === null ? null : memberRole(database, tenantId, userId);
    },

    bindIdentity: (identity) => bindToDatabase(database, identity),

    async setActiveTenant(sessionToken, tenantId) {
      const context = await auth.$context;
      await context.internalAdapter.updateSession(sessionToken, { activeTenantId: tenantId });
    },

    async revokeAllSessions(userId) {
      const context = await auth.$context;
      await context.internalAdapter.deleteUserSessions(userId);
    },
  };
}
