import type { Database } from './client.ts';
import { memberships } from './core-schema.ts';
import { PLATFORM_TENANT_ID } from './tenant-table.ts';

/**
 * Makes a user an owner of the platform tenant. This is an operator action
 * (seed, CLI), the one way to create the first platform admin: no request can
 * reach it. It still runs as the request role, inside the platform tenant.
 */
export async function grantPlatformAdmin(database: Database, userId: string): Promise<void> {
  await database.transaction(
    {
      text: "select pg_catalog.set_config('role', 'palisade_app', true), pg_catalog.set_config('app.tenant_id', $1, true)",
      params: [PLATFORM_TENANT_ID],
    },
    async (tx) => {
      await tx.insert(memberships).values({ tenantId: PLATFORM_TENANT_ID, userId, role: 'owner' }).onConflictDoNothing();
    },
  );
}
