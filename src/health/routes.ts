import type { FastifyInstance } from 'fastify';
import type { Database } from '../db/client.ts';
import { migrationsCurrent } from '../db/migrate.ts';

interface Check {
  ok: boolean;
  ms: number;
  detail?: string;
}

async function timed(fn: () => Promise<string | undefined>): Promise<Check> {
  const started = performance.now();
  try {
    const problem = await fn();
    return {
      ok: problem === undefined,
      ms: Math.round((performance.now() - started) * 10) / 10,
      ...(problem ? { detail: problem } : {}),
    };
  } catch {
    return { ok: false, ms: Math.round((performance.now() - started) * 10) / 10, detail: 'unreachable' };
  }
}

/** The request role must not bypass RLS and every app table must force it; otherwise isolation is not in force. */
async function rlsInForce(database: Database): Promise<string | undefined> {
  const [role] = await database.ownerQuery<{ rolsuper: boolean; rolbypassrls: boolean }>(
    "select rolsuper, rolbypassrls from pg_roles where rolname = 'palisade_app'",
  );
  if (!role) return 'request role missing';
  if (role.rolsuper || role.rolbypassrls) return 'request role bypasses RLS';
  const unforced = await database.ownerQuery(
    `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'app' and c.relkind in ('r', 'p') and not (c.relrowsecurity and c.relforcerowsecurity)`,
  );
  return unforced.length > 0 ? 'a table does not force RLS' : undefined;
}

export async function readiness(database: Database, redisDegraded?: () => boolean) {
  const [db, migrations, rls] = await Promise.all([
    timed(async () => {
      await database.ownerQuery('select 1');
      return undefined;
    }),
    timed(async () => ((await migrationsCurrent(database)) ? undefined : 'pending migrations')),
    timed(() => rlsInForce(database)),
  ]);
  // Redis is reported, not counted: every instance shares the one Redis, so an outage would take all of
  // them out of service at once, while each still serves without it (docs/operations.md).
  const redis = redisDegraded
    ? { ok: !redisDegraded(), ms: 0, ...(redisDegraded() ? { detail: 'unreachable' } : {}) }
    : undefined;
  return {
    ready: db.ok && migrations.ok && rls.ok,
    checks: { database: db, migrations, rls, ...(redis ? { redis } : {}) },
  };
}

/**
 * Liveness says the process runs; readiness says it can serve (database
 * reachable, migrations current, RLS in force); /health details both with
 * timings and no secrets.
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  deps: { database: Database; version: string; isShuttingDown: () => boolean; redisDegraded?: () => boolean },
) {
  const startedAt = Date.now();
  app.get('/health/live', async () => ({ status: 'ok' }));
  app.get('/health/ready', async (_req, reply) => {
    const { ready } = deps.isShuttingDown() ? { ready: false } : await readiness(deps.database, deps.redisDegraded);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready' });
  });
  app.get('/health', async (_req, reply) => {
    const result = await readiness(deps.database, deps.redisDegraded);
    const ready = result.ready && !deps.isShuttingDown();
    // Ready with Redis away still reads `degraded`: the instance serves, with per-process limits and no realtime.
    const allOk = Object.values(result.checks).every((check) => check.ok);
    return reply.code(ready ? 200 : 503).send({
      status: ready && allOk ? 'ok' : 'degraded',
      version: deps.version,
      database: deps.database.kind,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      checks: result.checks,
    });
  });
}
