import { type Comparison, compare, type Variant } from '../compare.ts';
import { expectJson, runAutocannon } from '../http.ts';
import type { HttpScenarioContext } from './context.ts';
import { restUrl } from './http-vs-pgbench.ts';

/**
 * membership_scaling (informational, no target): the same REST request, same
 * tenant, same row, by a user who belongs to every benchmark tenant (A) and
 * by one who belongs to a few (B). 1.0 means the request does not get slower
 * as the caller joins more tenants. It does today: the membership check that
 * tenantProcedure runs in a user context (no tenant set) reads app.tenants,
 * whose select policy evaluates "id in (the caller's memberships)" as a hashed
 * subplan over all of them (docs/benchmarks.md shows the plan).
 */
export async function membershipScaling(ctx: HttpScenarioContext): Promise<Comparison> {
  const { connections, seconds, rounds } = ctx.settings.http;
  const headersOf = (cookie: string) => ({ cookie, 'x-tenant-id': ctx.tenantId });
  for (const cookie of [ctx.manyTenantsUser.cookie, ctx.user.cookie]) {
    await expectJson(restUrl(ctx), headersOf(cookie), (body) => (body as { id?: string }).id === ctx.rowId);
  }
  const request = (label: string, key: string, cookie: string): Variant => ({
    label,
    key,
    measure: () =>
      runAutocannon({ url: restUrl(ctx), headers: headersOf(cookie), connections, seconds, serverPid: ctx.serverPid }),
  });
  return compare(
    'membership_scaling',
    request(`REST GET, caller in all ${ctx.settings.data.tenants} tenants`, 'rest_many_memberships', ctx.manyTenantsUser.cookie),
    request(`REST GET, caller in ${ctx.settings.fewTenants} tenants`, 'rest_few_memberships', ctx.user.cookie),
    { rounds, warmup: ctx.settings.warmup },
  );
}
