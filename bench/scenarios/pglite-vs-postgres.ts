import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Comparison, compare, type Measurement, type Variant } from '../compare.ts';
import { migrateServerDatabase, type OwnerSql, pgliteOwner, postgresOwner } from '../data.ts';
import type { BenchDatabase } from '../database.ts';
import type { ServerProcess } from '../http.ts';
import { settled } from '../loop.ts';
import { type MixedTenant, MixedWorkload, prepareMixedTenants } from '../mixed.ts';
import type { BenchSettings } from '../settings.ts';
import { loadCrmLayouts } from './tenant-scale-crm.ts';

/**
 * pglite_vs_postgres (informational, no target): the same server, the same
 * data and the same requests on embedded PGlite (no DATABASE_URL, a data
 * directory; the way `npm start` runs out of the box) and on the loopback
 * server PostgreSQL (DATABASE_URL and APP_DATABASE_URL as production sets
 * them, on a fresh database of its own). Each gets `pglite.tenants` tenants
 * of `pglite.contactsPerTenant` CRM contacts loaded by the same SQL
 * (loadCrmLayouts; PGlite's directory is loaded in this process before its
 * server opens it) and one API key per tenant; then both run the mixed
 * workload of mixed_load (bench/mixed.ts), one client per tenant, in paired
 * interleaved rounds. A leak or an error fails the run. The ratio divides
 * throughputs: PGlite's over PostgreSQL's.
 */
export interface PgliteContext {
  workDir: string;
  settings: BenchSettings;
  /** A fresh database on the loopback server; the run drops it. */
  createDatabase(): Promise<BenchDatabase>;
  /** Starts a server on that database (databaseUrl set) or on PGlite in dataDir; the run stops it. */
  startServer(options: { databaseUrl?: string; appDatabaseUrl?: string; dataDir: string }): Promise<ServerProcess>;
}

async function loadTenants(owner: OwnerSql, settings: BenchSettings): Promise<MixedTenant[]> {
  try {
    const { tenants, contactsPerTenant } = settings.pglite;
    const load = await loadCrmLayouts(owner, tenants * contactsPerTenant, [{ key: 'p', tenants }]);
    const layout = load.layouts.get('p');
    if (!layout) throw new Error('pglite_vs_postgres: layout not loaded');
    return await prepareMixedTenants(owner, layout.tenantIds);
  } finally {
    await owner.close();
  }
}

/** Both sides loaded, each with its server started and idle. */
export interface PglitePrepared {
  postgres: { server: ServerProcess; tenants: MixedTenant[] };
  pglite: { server: ServerProcess; tenants: MixedTenant[] };
}

/**
 * Loads both sides at the same time, PGlite's in this process (it keeps this event loop busy, so nothing may be
 * measured in this process meanwhile) and PostgreSQL's mostly in the server, and starts each side's server once
 * its data is in. Both sides settle before it returns, so a failure on one leaves nothing half-done on the other
 * behind the run's cleanup (which stops the servers).
 */
export async function preparePgliteVsPostgres(ctx: PgliteContext): Promise<PglitePrepared> {
  const { tenants, contactsPerTenant } = ctx.settings.pglite;
  console.error(
    `\npglite_vs_postgres: loading ${tenants} tenants x ${contactsPerTenant} contacts into PGlite and PostgreSQL ...`,
  );
  const started = performance.now();
  const preparePostgres = async () => {
    const pg = await ctx.createDatabase();
    // The server migrates on start, but the data must be loaded before (pgliteOwner migrates too).
    await migrateServerDatabase(pg.url);
    const loaded = await loadTenants(postgresOwner(pg.url), ctx.settings);
    const dataDir = join(ctx.workDir, 'pg-server');
    return { server: await ctx.startServer({ databaseUrl: pg.url, appDatabaseUrl: pg.appUrl, dataDir }), tenants: loaded };
  };
  const preparePglite = async () => {
    const dataDir = join(ctx.workDir, 'pglite-server');
    const loaded = await loadTenants(await pgliteOwner(join(dataDir, 'pgdata')), ctx.settings);
    return { server: await ctx.startServer({ dataDir }), tenants: loaded };
  };
  const [postgres, pglite] = await settled([preparePostgres(), preparePglite()] as const);
  console.error(`  pglite_vs_postgres: both loaded and serving in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { postgres, pglite };
}

/** Measures the two sides (`prepared`, or prepared now), then stops their servers. */
export async function pgliteVsPostgres(ctx: PgliteContext, prepared?: PglitePrepared): Promise<Comparison> {
  const { tenants, seconds, rounds, maxRequests } = ctx.settings.pglite;
  const { postgres, pglite } = prepared ?? (await preparePgliteVsPostgres(ctx));
  const variant = (label: string, key: string, server: ServerProcess, workload: MixedWorkload): Variant => ({
    label,
    key,
    async measure(): Promise<Measurement> {
      const run = await workload.runFor(server.url, seconds, maxRequests);
      if (run.tally.leaks > 0 || run.tally.errors > 0) {
        throw new Error(
          `pglite_vs_postgres, ${label}: ${run.tally.leaks} leaks, ${run.tally.errors} errors: ${run.tally.samples.join('; ')}`,
        );
      }
      return { rate: run.rate, p50Ms: run.p50Ms, p95Ms: run.p95Ms, operations: run.tally.responses };
    },
  });
  try {
    return await compare(
      'pglite_vs_postgres',
      variant(`mixed workload, PGlite server, ${tenants} clients`, 'pglite', pglite.server, new MixedWorkload(pglite.tenants)),
      variant(
        `mixed workload, server PostgreSQL, ${tenants} clients`,
        'postgres',
        postgres.server,
        new MixedWorkload(postgres.tenants),
      ),
      { rounds, warmup: ctx.settings.warmup },
    );
  } finally {
    await pglite.server.stop();
    await postgres.server.stop();
  }
}
