import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { type Database, openDatabase } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { createApiKey } from './api.ts';
import type { Comparison } from './compare.ts';
import {
  benchTenantIds,
  loadData,
  migrateServerDatabase,
  newestRowOf,
  type OwnerSql,
  postgresOwner,
  sampleRows,
} from './data.ts';
import { type BenchDatabase, createBenchDatabase } from './database.ts';
import { type ServerProcess, type SignedInUser, signUp, startServerProcess } from './http.ts';
import { settled } from './loop.ts';
import { describeMachine } from './machine.ts';
import { PGBENCH } from './pgbench.ts';
import { buildResults, figuresMarkdown, type Observation, printTable, writeFiguresSection, writeResults } from './report.ts';
import { campaignDelivery } from './scenarios/campaign-delivery.ts';
import { type DbScenarioContext, type EventScenarioContext, type HttpScenarioContext, must } from './scenarios/context.ts';
import { contextCost } from './scenarios/context-cost.ts';
import { httpFloor } from './scenarios/http-floor.ts';
import { httpVsPgbench } from './scenarios/http-vs-pgbench.ts';
import { knowledgeSearch, knowledgeSearchSettings } from './scenarios/knowledge-search.ts';
import { membershipScaling } from './scenarios/membership-scaling.ts';
import { mixedLoad } from './scenarios/mixed-load.ts';
import { type PgliteContext, pgliteVsPostgres, preparePgliteVsPostgres } from './scenarios/pglite-vs-postgres.ts';
import { assertRedis, REDIS_URL, realtimeFanout } from './scenarios/realtime-fanout.ts';
import { rlsCostGet, rlsCostList } from './scenarios/rls-cost.ts';
import { rlsCostSql } from './scenarios/rls-cost-sql.ts';
import { sessionVsApiKey } from './scenarios/session-vs-key.ts';
import { tenantScale } from './scenarios/tenant-scale.ts';
import { CRM_LAYOUTS, type CrmLayout, crmDataOf, crmTenantScale, loadCrmLayouts } from './scenarios/tenant-scale-crm.ts';
import { trpcVsRest } from './scenarios/trpc-vs-rest.ts';
import { webhookDelivery } from './scenarios/webhook-delivery.ts';
import { widgetAnswer } from './scenarios/widget-answer.ts';
import { settingsFor } from './settings.ts';

/**
 * npm run bench [-- --quick] [-- --only campaign_delivery]
 *
 * Creates a fresh database on the loopback PostgreSQL, loads the data, starts
 * Palisade in a child process, measures each ratio with interleaved rounds,
 * then webhook delivery and realtime fan-out (two more server processes
 * sharing Redis), then loads CRM contacts in two tenant layouts and compares
 * their p95, writes bench/results/latest.json, prints a table, and drops
 * everything it created, also when interrupted or failing.
 */
const RESULTS = fileURLToPath(new URL('./results/latest.json', import.meta.url));
const DOC = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));

const settings = settingsFor(process.argv.includes('--quick'));
/** `--only <scenario>`: that scenario alone, on a fresh database, printed and not written to latest.json. */
const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex >= 0 ? process.argv[onlyIndex + 1] : undefined;

/** What a scenario run alone gets: the run's database, scratch directory and servers, each cleaned up by the run. */
interface OnlyRun {
  pg: BenchDatabase;
  workDir: string;
  owner: OwnerSql;
  startServer(env?: Record<string, string>): Promise<ServerProcess>;
  /** A server that runs no jobs and a signed-up owner, as the event scenarios expect (started on first use). */
  eventContext(): Promise<EventScenarioContext>;
  pglite: PgliteContext;
}
interface Outcome {
  comparisons?: Comparison[];
  observations?: Observation[];
}

/** Loads CRM layouts into a migrated database and reports the load time. */
async function loadLayouts(owner: OwnerSql, contacts: number, layouts: Array<{ key: string; tenants: number }>) {
  const what = layouts.map((l) => `${l.tenants.toLocaleString('en')} tenants`).join(', the same over ');
  console.error(`\nloading CRM contacts: ${contacts.toLocaleString('en')} over ${what} ...`);
  const load = await loadCrmLayouts(owner, contacts, layouts);
  console.error(`loaded in ${load.seconds.toFixed(1)} s`);
  return load;
}
const layoutOf = (load: { layouts: Map<string, CrmLayout> }, key: string) => must(load.layouts.get(key), `crm layout ${key}`);

const ONLY_SCENARIOS: Record<string, (run: OnlyRun) => Promise<Outcome>> = {
  // The ratios issue 2 sets targets for, with the scenarios that explain them.
  core: async (run) => ({ comparisons: await measureCore(await setUpCore(run.pg, run.workDir, run.startServer)) }),
  campaign_delivery: async (run) => ({ observations: [await campaignDelivery(await run.eventContext())] }),
  webhook_delivery: async (run) => ({ observations: [await webhookDelivery(await run.eventContext())] }),
  knowledge_search: async () => ({ observations: [await knowledgeSearch(knowledgeSearchSettings(settings.mode === 'quick'))] }),
  widget_answer: async (run) => ({ observations: [await widgetAnswer(await run.eventContext())] }),
  realtime_fanout: async (run) => {
    await assertRedis(REDIS_URL);
    return { observations: [await realtimeFanout(await run.eventContext())] };
  },
  tenant_scale: async (run) => {
    await migrateServerDatabase(run.pg.url);
    const load = await loadLayouts(run.owner, settings.crm.contacts, [
      { key: 'b', tenants: settings.crm.fewTenants },
      { key: 'c', tenants: settings.tenantScale.manyTenants },
    ]);
    const server = await run.startServer();
    const scale = await tenantScale({
      baseUrl: server.url,
      owner: run.owner,
      many: layoutOf(load, 'c'),
      few: layoutOf(load, 'b'),
      contacts: load.contacts,
      settings,
    });
    return {
      comparisons: scale.comparisons,
      observations: [scale.keys],
    };
  },
  mixed_load: async (run) => {
    await migrateServerDatabase(run.pg.url);
    // As many contacts per tenant as the full run's mixed_load tenants (those of crm layout A) have.
    const perTenant = settings.crm.contacts / settings.crm.manyTenants;
    const load = await loadLayouts(run.owner, settings.mixed.tenants * perTenant, [
      { key: 'a', tenants: settings.mixed.tenants },
    ]);
    const server = await run.startServer();
    return {
      observations: [
        await mixedLoad({ baseUrl: server.url, owner: run.owner, tenantIds: layoutOf(load, 'a').tenantIds, settings }),
      ],
    };
  },
  pglite_vs_postgres: async (run) => ({ comparisons: [await pgliteVsPostgres(run.pglite)] }),
};
const cleanups: Array<() => Promise<void> | void> = [];
let cleaning: Promise<void> | undefined;

function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        console.error('bench: cleanup step failed:', error instanceof Error ? error.message : error);
      }
    }
  })();
  return cleaning;
}

function abort(reason: string, code: number): void {
  console.error(`\nbench: ${reason}; cleaning up`);
  void cleanUp().finally(() => process.exit(code));
}
process.once('SIGINT', () => abort('interrupted', 130));
process.once('SIGTERM', () => abort('terminated', 143));
// A bound on the whole run, whatever happens inside it.
setTimeout(() => abort('time limit reached', 1), (settings.mode === 'quick' ? 6 : 45) * 60_000).unref();

/** A server process on a server PostgreSQL database or on PGlite (databaseUrl unset), stopped by the run's cleanup. */
async function startCleanedServer(options: {
  databaseUrl?: string;
  appDatabaseUrl?: string;
  dataDir: string;
  env?: Record<string, string>;
}): Promise<ServerProcess> {
  const started = await startServerProcess({
    databaseUrl: options.databaseUrl,
    appDatabaseUrl: options.appDatabaseUrl,
    poolSize: settings.http.serverPoolSize,
    dataDir: options.dataDir,
    env: options.env,
  });
  cleanups.push(() => started.stop());
  return started;
}

/** pglite_vs_postgres's needs: a fresh database of its own (dropped by the run) and servers on either engine. */
function pgliteContextIn(workDir: string): PgliteContext {
  return {
    workDir,
    settings,
    async createDatabase() {
      const database = await createBenchDatabase();
      cleanups.push(() => database.drop());
      return database;
    },
    startServer: (options) => startCleanedServer(options),
  };
}

async function runOnly(name: string): Promise<void> {
  const scenario = ONLY_SCENARIOS[name];
  if (!scenario) throw new Error(`--only: unknown scenario ${name} (one of ${Object.keys(ONLY_SCENARIOS).join(', ')})`);
  const pg = await createBenchDatabase();
  cleanups.push(() => pg.drop());
  const workDir = mkdtempSync(join(tmpdir(), 'palisade-bench-'));
  cleanups.push(() => rmSync(workDir, { recursive: true, force: true }));
  const owner = postgresOwner(pg.url);
  cleanups.push(() => owner.close());
  let servers = 0;
  const startServer = (env: Record<string, string> = {}) =>
    startCleanedServer({ databaseUrl: pg.url, appDatabaseUrl: pg.appUrl, dataDir: join(workDir, `server-${++servers}`), env });
  let eventContext: EventScenarioContext | undefined;
  const outcome = await scenario({
    pg,
    workDir,
    owner,
    startServer,
    async eventContext() {
      if (eventContext) return eventContext;
      // Signs the owner up, then steps aside: the scenario's own servers are the only job runners.
      const server = await startServer({ WORKER_ENABLED: 'false' });
      const eventOwner = await signUp(server.url);
      eventContext = { baseUrl: server.url, owner: eventOwner, settings, startServer };
      return eventContext;
    },
    pglite: pgliteContextIn(workDir),
  });
  printTable(
    outcome.comparisons ?? [],
    outcome.observations ?? [],
    `${settings.mode} run of ${name} only (not written to ${RESULTS})`,
  );
}

/** Seconds each step of the run took, in order: the quick run must stay within its budget (docs/benchmarks.md). */
const steps: Array<[string, number]> = [];
const runStarted = performance.now();
async function timed<T>(name: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  steps.push([name, seconds]);
  console.error(`  (${name}: ${seconds} s; ${Math.round((performance.now() - runStarted) / 1000)} s since the start)`);
  return result;
}

/** What the issue-2 scenarios share: the loaded database, the in-process handle, a server and its users. */
interface Core {
  database: Database;
  server: ServerProcess;
  eventOwner: SignedInUser;
  load: { seconds: number };
  dbContext: DbScenarioContext;
  httpContext: HttpScenarioContext;
}

/**
 * Migrates the run's database, starts the main server, signs its users up and loads the audit rows:
 * everything the in-process, pgbench and HTTP comparisons (rls_cost_*, context_cost, http_vs_pgbench,
 * trpc_vs_rest, session_vs_api_key, membership_scaling) need.
 */
async function setUpCore(
  pg: BenchDatabase,
  workDir: string,
  startServer: (env?: Record<string, string>) => Promise<ServerProcess>,
): Promise<Core> {
  // The in-process handle logs in as the owner and switches role per transaction,
  // which lets the reference variant switch to the BYPASSRLS role instead.
  const database = await openDatabase({ url: pg.url, poolSize: settings.db.poolSize });
  cleanups.push(() => database.close());
  await migrate(database);

  const server = await startServer();
  // All sign up through Better Auth on the server; the session cookies are real.
  const user = await signUp(server.url);
  const manyTenantsUser = await signUp(server.url);
  // Owns the event scenarios' own tenants, so the measured users' memberships stay as described.
  const eventOwner = await signUp(server.url);
  // Verified, so the enter statements carry the email as they do for most users.
  await database.ownerQuery('update auth.users set email_verified = true where id = any($1::uuid[])', [
    [user.userId, manyTenantsUser.userId, eventOwner.userId],
  ]);

  console.error(`loading data (database ${pg.name}) ...`);
  const load = await loadData(pg.url, settings.data, {
    everyTenant: manyTenantsUser.userId,
    fewTenants: { userId: user.userId, count: settings.fewTenants },
  });
  console.error(`loaded in ${load.seconds.toFixed(1)} s`);
  await pg.createBypassRole();
  const tenantIds = await benchTenantIds(pg.url);
  const rows = await sampleRows(pg.url, settings.sampleRows);
  const dbContext: DbScenarioContext = { database, url: pg.url, user: manyTenantsUser, rows, tenantIds, settings };

  // One row of a tenant both users belong to.
  const target = await newestRowOf(pg.url, must(tenantIds[0], 'tenant'));
  // After choosing the row: creating the key writes an audit entry in that tenant.
  const apiKey = await createApiKey(server.url, user.cookie, target.tenantId, {
    name: 'bench integrator',
    role: 'admin',
    scopes: ['audit:read'],
  });
  const httpContext: HttpScenarioContext = {
    baseUrl: server.url,
    serverPid: server.pid,
    user,
    apiKey,
    manyTenantsUser,
    tenantId: target.tenantId,
    rowId: target.id,
    database,
    pg: { host: pg.host, port: pg.port, name: pg.name, appUrl: pg.appUrl },
    workDir,
    settings,
  };
  return { database, server, eventOwner, load, dbContext, httpContext };
}

/** The issue-2 comparisons, in order: in-process, then pgbench, then HTTP. */
async function measureCore({ dbContext, httpContext }: Core): Promise<Comparison[]> {
  const comparisons: Comparison[] = [];
  comparisons.push(await timed('rls_cost_get', () => rlsCostGet(dbContext)));
  comparisons.push(await timed('rls_cost_list', () => rlsCostList(dbContext)));
  comparisons.push(...(await timed('context_cost', () => contextCost(dbContext))));
  comparisons.push(await timed('rls_cost_get_sql', () => rlsCostSql(httpContext)));
  comparisons.push(await timed('http_vs_pgbench', () => httpVsPgbench(httpContext)));
  comparisons.push(...(await timed('http_floor', () => httpFloor(httpContext))));
  comparisons.push(await timed('trpc_vs_rest', () => trpcVsRest(httpContext)));
  comparisons.push(await timed('session_vs_api_key', () => sessionVsApiKey(httpContext)));
  comparisons.push(await timed('membership_scaling', () => membershipScaling(httpContext)));
  return comparisons;
}

async function main(): Promise<void> {
  if (only) return runOnly(only);
  const startedAt = new Date();
  const loadBefore = loadavg()[0] ?? 0;
  const { rows: rowCount, tenants } = settings.data;
  console.error(
    `Palisade benchmark, ${settings.mode} mode: ${rowCount.toLocaleString('en')} audit_log rows over ${tenants.toLocaleString('en')} tenants` +
      (settings.mode === 'quick' ? ' (QUICK: a tenth of the full data and short rounds; for iteration, not for publishing)' : ''),
  );

  await assertRedis(REDIS_URL);
  const pg = await createBenchDatabase();
  cleanups.push(() => pg.drop());
  const workDir = mkdtempSync(join(tmpdir(), 'palisade-bench-'));
  cleanups.push(() => rmSync(workDir, { recursive: true, force: true }));
  const machine = await describeMachine(pg.url, PGBENCH);

  let servers = 0;
  const startServer = (env: Record<string, string> = {}) =>
    startCleanedServer({ databaseUrl: pg.url, appDatabaseUrl: pg.appUrl, dataDir: join(workDir, `server-${++servers}`), env });
  const core = await setUpCore(pg, workDir, startServer);
  const { database, server, eventOwner, load } = core;
  const comparisons = await measureCore(core);

  const observations: Observation[] = [];
  const eventContext: EventScenarioContext = { baseUrl: server.url, owner: eventOwner, settings, startServer };
  observations.push(await timed('webhook_delivery', () => webhookDelivery(eventContext)));
  observations.push(await timed('widget_answer', () => widgetAnswer(eventContext)));
  // realtime_fanout's process A must be the only job runner on the database: this server's would take
  // dispatch jobs and publish them to its in-process broker, which no socket of A or B listens to.
  await server.stop();
  observations.push(await timed('realtime_fanout', () => realtimeFanout(eventContext)));
  // After every other server has stopped: its own server (with SMTP_URL) must be the only job runner.
  observations.push(await timed('campaign_delivery', () => campaignDelivery(eventContext)));
  // In-process on PGlite (pgvector), independent of the server database.
  observations.push(await timed('knowledge_search', () => knowledgeSearch(knowledgeSearchSettings(settings.mode === 'quick'))));

  // Last, so that its contacts (settings.crm.contacts rows in each of three layouts) change nothing the other
  // scenarios read: A and B for crm_*_tenant_scale, C (and B) for tenant_scale, A's first tenants for mixed_load.
  const crm = settings.crm;
  const owner = postgresOwner(pg.url);
  cleanups.push(() => owner.close());
  // While the contacts load (in PostgreSQL), and nothing is measured: pglite_vs_postgres loads its own database and
  // its PGlite directory (in this process) and starts their servers, which idle until used (each polls for jobs once
  // a second). The REST scenarios' server starts after the load (every other one has stopped): started during it, on
  // the database the load is rewriting, it did not become ready within its minute in a full run.
  const pgliteContext = pgliteContextIn(workDir);
  const [crmLoad, pglitePrepared] = await timed('crm_load_and_starts', () =>
    settled([
      loadLayouts(owner, crm.contacts, [...CRM_LAYOUTS(crm), { key: 'c', tenants: settings.tenantScale.manyTenants }]),
      preparePgliteVsPostgres(pgliteContext),
    ] as const),
  );
  const restServer = await startServer();
  comparisons.push(...(await timed('crm_tenant_scale', () => crmTenantScale({ database, data: crmDataOf(crmLoad), settings }))));
  // The same rows through the real server.
  const scale = await timed('tenant_scale', () =>
    tenantScale({
      baseUrl: restServer.url,
      owner,
      many: layoutOf(crmLoad, 'c'),
      few: layoutOf(crmLoad, 'b'),
      contacts: crm.contacts,
      settings,
    }),
  );
  comparisons.push(...scale.comparisons);
  observations.push(scale.keys);
  observations.push(
    await timed('mixed_load', () =>
      mixedLoad({ baseUrl: restServer.url, owner, tenantIds: layoutOf(crmLoad, 'a').tenantIds, settings }),
    ),
  );
  await restServer.stop();
  // On its own database and PGlite directory, loaded above, with their servers.
  comparisons.push(await timed('pglite_vs_postgres', () => pgliteVsPostgres(pgliteContext, pglitePrepared)));

  const durationS = Math.round((Date.now() - startedAt.getTime()) / 1000);
  const run = {
    mode: settings.mode,
    started_at: startedAt.toISOString(),
    duration_s: durationS,
    data: `${rowCount} app.audit_log rows over ${tenants} tenants`,
    db_scenarios: `${settings.db.rounds} rounds x ${settings.db.seconds} s per variant, ${settings.db.concurrency} workers, pool ${settings.db.poolSize}`,
    sql_scenario: `${settings.sql.rounds} rounds x ${settings.sql.seconds} s per variant, ${settings.sql.clients} pgbench clients`,
    http_user: `admin of ${settings.fewTenants} tenants (membership_scaling: also one admin of all ${tenants})`,
    http_scenarios: `${settings.http.rounds} rounds x ${settings.http.seconds} s per variant, ${settings.http.connections} connections/clients, server pool ${settings.http.serverPoolSize}`,
    http_auth:
      'API key (admin, audit:read) in http_vs_pgbench and trpc_vs_rest; session cookie in membership_scaling; both in session_vs_api_key',
    servers: 'NODE_ENV=production, RATE_LIMIT_ENABLED=false, JOBS_POLL_MS=1000, WEBHOOK_ALLOWED_HOSTS=127.0.0.1',
    webhook_scenario: `${settings.webhooks.events} webhook.test events by ${settings.webhooks.concurrency} concurrent callers, one endpoint, loopback receiver`,
    crm_scenario: `${crm.contacts} app.crm_contacts rows over ${crm.manyTenants} tenants (A) and the same rows over ${crm.fewTenants} tenants (B), one table; in-process like db_scenarios; ratio = p95 A / p95 B`,
    tenant_scale_scenario: `REST GET /api/v1/crm/contacts/{id} and GET /api/v1/crm/contacts alternating, API key per tenant, ${crm.contacts} contacts over ${settings.tenantScale.manyTenants} tenants (A) and over ${crm.fewTenants} (B); HTTP rounds; ratio = p95 A / p95 B`,
    mixed_scenario: `${settings.mixed.tenants} tenants, one autocannon client and API key each, ${settings.mixed.seconds} s after ${settings.mixed.warmupSeconds} s warm-up; reads, searches, writes, cross-tenant probes; every row checked`,
    pglite_scenario: `mixed workload of ${settings.pglite.tenants} tenants x ${settings.pglite.contactsPerTenant} contacts, PGlite server vs server PostgreSQL, ${settings.pglite.rounds} rounds x ${settings.pglite.seconds} s; ratio = rate PGlite / rate PostgreSQL`,
    realtime_scenario: `${settings.realtime.clients} sockets over 2 processes (Redis ${new URL(REDIS_URL).host}), ${settings.realtime.events} events one every ${settings.realtime.intervalMs} ms`,
    step_seconds: steps.map(([name, seconds]) => `${name} ${seconds}`).join(', '),
    // The machine is shared: the 1-minute load average says how busy it was besides this run.
    load_average_start: Math.round(loadBefore * 100) / 100,
    load_average_end: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
  const results = buildResults(machine, run, comparisons, observations, {
    data_rows: rowCount,
    data_tenants: tenants,
    load_seconds: Math.round(load.seconds * 10) / 10,
    crm_contacts: crm.contacts,
    crm_load_seconds: Math.round(crmLoad.seconds * 10) / 10,
    db_concurrency: settings.db.concurrency,
    http_connections: settings.http.connections,
  });
  writeResults(RESULTS, results);
  const header =
    `${settings.mode} run, ${rowCount.toLocaleString('en')} rows / ${tenants} tenants, ${machine.cores} x ${machine.cpu_model}, ` +
    `PostgreSQL ${machine.postgres}, Node ${machine.node}, ${durationS} s`;
  printTable(comparisons, observations, header);
  // Quick runs are for iteration: only a full run's figures are published in the documentation.
  if (settings.mode === 'full') {
    writeFiguresSection(
      DOC,
      figuresMarkdown(comparisons, observations, `${startedAt.toISOString().slice(0, 16)} UTC, ${header}.`),
    );
  }
  console.log(`\nwritten to ${RESULTS}${settings.mode === 'full' ? ` and ${DOC}` : ''}`);
}

try {
  await main();
  await cleanUp();
} catch (error) {
  console.error('bench failed:', error);
  await cleanUp();
  process.exitCode = 1;
}
