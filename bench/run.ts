import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { createApiKey } from './api.ts';
import type { Comparison } from './compare.ts';
import { benchTenantIds, loadData, newestRowOf, sampleRows } from './data.ts';
import { createBenchDatabase } from './database.ts';
import { type ServerProcess, signUp, startServerProcess } from './http.ts';
import { describeMachine } from './machine.ts';
import { PGBENCH } from './pgbench.ts';
import { buildResults, type Observation, printTable, writeResults } from './report.ts';
import { campaignDelivery } from './scenarios/campaign-delivery.ts';
import { type DbScenarioContext, type EventScenarioContext, type HttpScenarioContext, must } from './scenarios/context.ts';
import { contextCost } from './scenarios/context-cost.ts';
import { httpVsPgbench } from './scenarios/http-vs-pgbench.ts';
import { knowledgeSearch, knowledgeSearchSettings } from './scenarios/knowledge-search.ts';
import { membershipScaling } from './scenarios/membership-scaling.ts';
import { assertRedis, REDIS_URL, realtimeFanout } from './scenarios/realtime-fanout.ts';
import { rlsCostGet, rlsCostList } from './scenarios/rls-cost.ts';
import { rlsCostSql } from './scenarios/rls-cost-sql.ts';
import { sessionVsApiKey } from './scenarios/session-vs-key.ts';
import { crmTenantScale, loadCrmData } from './scenarios/tenant-scale-crm.ts';
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

const settings = settingsFor(process.argv.includes('--quick'));
/** `--only <scenario>`: that scenario alone, on a fresh database, printed and not written to latest.json. */
const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex >= 0 ? process.argv[onlyIndex + 1] : undefined;
const ONLY_SCENARIOS: Record<string, (ctx: EventScenarioContext) => Promise<Observation>> = {
  campaign_delivery: campaignDelivery,
  webhook_delivery: webhookDelivery,
  knowledge_search: (ctx) => knowledgeSearch(knowledgeSearchSettings(ctx.settings.mode === 'quick')),
  widget_answer: widgetAnswer,
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
setTimeout(() => abort('time limit reached', 1), (settings.mode === 'quick' ? 6 : 30) * 60_000).unref();

async function runOnly(name: string): Promise<void> {
  const scenario = ONLY_SCENARIOS[name];
  if (!scenario) throw new Error(`--only: unknown scenario ${name} (one of ${Object.keys(ONLY_SCENARIOS).join(', ')})`);
  const pg = await createBenchDatabase();
  cleanups.push(() => pg.drop());
  const workDir = mkdtempSync(join(tmpdir(), 'palisade-bench-'));
  cleanups.push(() => rmSync(workDir, { recursive: true, force: true }));
  let servers = 0;
  const startServer = async (env: Record<string, string> = {}): Promise<ServerProcess> => {
    const started = await startServerProcess({
      databaseUrl: pg.url,
      appDatabaseUrl: pg.appUrl,
      poolSize: settings.http.serverPoolSize,
      dataDir: join(workDir, `server-${++servers}`),
      env,
    });
    cleanups.push(() => started.stop());
    return started;
  };
  // Signs the owner up, then steps aside: the scenario's own servers are the only job runners.
  const server = await startServer({ WORKER_ENABLED: 'false' });
  const owner = await signUp(server.url);
  const observation = await scenario({ baseUrl: server.url, owner, settings, startServer });
  printTable([], [observation], `${settings.mode} run of ${name} only (not written to ${RESULTS})`);
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

  // The in-process handle logs in as the owner and switches role per transaction,
  // which lets the reference variant switch to the BYPASSRLS role instead.
  const database = await openDatabase({ url: pg.url, poolSize: settings.db.poolSize });
  cleanups.push(() => database.close());
  await migrate(database);

  let servers = 0;
  const startServer = async (env: Record<string, string> = {}): Promise<ServerProcess> => {
    const started = await startServerProcess({
      databaseUrl: pg.url,
      appDatabaseUrl: pg.appUrl,
      poolSize: settings.http.serverPoolSize,
      dataDir: join(workDir, `server-${++servers}`),
      env,
    });
    cleanups.push(() => started.stop());
    return started;
  };
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

  const comparisons: Comparison[] = [];
  const dbContext: DbScenarioContext = { database, user: manyTenantsUser, rows, tenantIds, settings };
  comparisons.push(await rlsCostGet(dbContext));
  comparisons.push(await rlsCostList(dbContext));
  comparisons.push(await contextCost(dbContext));

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
    user,
    apiKey,
    manyTenantsUser,
    tenantId: target.tenantId,
    rowId: target.id,
    database,
    pg: { host: pg.host, port: pg.port, name: pg.name },
    workDir,
    settings,
  };
  comparisons.push(await rlsCostSql(httpContext));
  comparisons.push(await httpVsPgbench(httpContext));
  comparisons.push(await trpcVsRest(httpContext));
  comparisons.push(await sessionVsApiKey(httpContext));
  comparisons.push(await membershipScaling(httpContext));

  const observations: Observation[] = [];
  const eventContext: EventScenarioContext = { baseUrl: server.url, owner: eventOwner, settings, startServer };
  observations.push(await webhookDelivery(eventContext));
  observations.push(await widgetAnswer(eventContext));
  // realtime_fanout's process A must be the only job runner on the database: this server's would take
  // dispatch jobs and publish them to its in-process broker, which no socket of A or B listens to.
  await server.stop();
  observations.push(await realtimeFanout(eventContext));
  // After every other server has stopped: its own server (with SMTP_URL) must be the only job runner.
  observations.push(await campaignDelivery(eventContext));
  // In-process on PGlite (pgvector), independent of the server database.
  observations.push(await knowledgeSearch(knowledgeSearchSettings(settings.mode === 'quick')));

  // Last, so that its contacts (twice settings.crm.contacts rows) change nothing the other scenarios read.
  const crm = settings.crm;
  console.error(
    `\nloading CRM contacts: ${crm.contacts.toLocaleString('en')} over ${crm.manyTenants} tenants, the same over ${crm.fewTenants} ...`,
  );
  const crmData = await loadCrmData(pg.url, crm);
  console.error(`loaded in ${crmData.seconds.toFixed(1)} s`);
  comparisons.push(...(await crmTenantScale({ database, data: crmData, settings })));

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
    realtime_scenario: `${settings.realtime.clients} sockets over 2 processes (Redis ${new URL(REDIS_URL).host}), ${settings.realtime.events} events one every ${settings.realtime.intervalMs} ms`,
    // The machine is shared: the 1-minute load average says how busy it was besides this run.
    load_average_start: Math.round(loadBefore * 100) / 100,
    load_average_end: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
  const results = buildResults(machine, run, comparisons, observations, {
    data_rows: rowCount,
    data_tenants: tenants,
    load_seconds: Math.round(load.seconds * 10) / 10,
    crm_contacts: crm.contacts,
    crm_load_seconds: Math.round(crmData.seconds * 10) / 10,
    db_concurrency: settings.db.concurrency,
    http_connections: settings.http.connections,
  });
  writeResults(RESULTS, results);
  printTable(
    comparisons,
    observations,
    `${settings.mode} run, ${rowCount.toLocaleString('en')} rows / ${tenants} tenants, ${machine.cores} x ${machine.cpu_model}, ` +
      `PostgreSQL ${machine.postgres}, Node ${machine.node}, ${durationS} s`,
  );
  console.log(`\nwritten to ${RESULTS}`);
}

try {
  await main();
  await cleanUp();
} catch (error) {
  console.error('bench failed:', error);
  await cleanUp();
  process.exitCode = 1;
}
