import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { proceduresByPath } from '../api/call.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from './metrics.ts';
import { requestScope } from './request-scope.ts';
import type { SlowQueryLog } from './slow-queries.ts';
import type { TenantStats } from './tenant-stats.ts';

/**
 * The label a request is counted under: its route pattern, or the tRPC procedure it names. Never raw
 * ids or anything else the client makes up: every label is a metric series and a statistics key, so a
 * client sending random paths must not be able to create new ones.
 */
function procedureOf(req: FastifyRequest): string {
  const pattern = req.routeOptions.url;
  if (pattern?.startsWith('/trpc')) {
    // The path as routed (decoded), which is what the tRPC transport looks up.
    const path = (req.params as { path?: unknown } | undefined)?.path;
    if (typeof path !== 'string' || path === '') return 'trpc (unknown)';
    // Batched calls name several procedures; one label keeps the series count bounded.
    if (path.includes(',')) return 'trpc (batch)';
    return Object.hasOwn(proceduresByPath, path) ? `trpc ${path}` : 'trpc (unknown)';
  }
  return `${req.method} ${pattern ?? '(unmatched)'}`;
}

const ERROR_CODE = /"code":"([A-Z_]{2,40})"/;

export interface ObservabilityOptions {
  metrics: Metrics;
  stats: TenantStats;
  slowQueries: SlowQueryLog;
  database: Database;
  logger: Logger;
  metricsToken: string | undefined;
}

/**
 * Request timing, error counts, per-tenant statistics and the slow-query log.
 * Each request runs inside a request scope (AsyncLocalStorage), so a slow
 * transaction deep in a procedure is attributed to its request, tenant and
 * procedure without passing them down.
 */
export function registerObservability(app: FastifyInstance, options: ObservabilityOptions): void {
  const { metrics, stats, slowQueries, logger } = options;

  // Callback style: the rest of the request's lifecycle runs inside `run`.
  app.addHook('onRequest', (req, _reply, done) => {
    requestScope.run({ requestId: req.id, procedure: procedureOf(req), tenantId: null }, done);
  });

  app.addHook('onSend', async (_req, reply, payload) => {
    if (reply.statusCode >= 400 && typeof payload === 'string') {
      const code = ERROR_CODE.exec(payload)?.[1];
      if (code) metrics.errors.inc({ code });
    }
    return payload;
  });

  app.addHook('onResponse', async (req, reply) => {
    const scope = requestScope.getStore();
    const procedure = scope?.procedure ?? procedureOf(req);
    const ms = reply.elapsedTime;
    metrics.httpDuration.observe({ method: req.method, route: procedure, status: String(reply.statusCode) }, ms / 1000);
    // Only requests whose tenant was verified count for that tenant, so nobody can write into another tenant's figures.
    if (scope?.tenantId) stats.record(scope.tenantId, procedure, ms, reply.statusCode >= 400);
    // One line per request, with who it acted for (Fastify's own request logging is off).
    req.log.info(
      {
        route: procedure,
        statusCode: reply.statusCode,
        responseTimeMs: Math.round(ms * 10) / 10,
        tenantId: scope?.tenantId ?? null,
        userId: scope?.userId ?? null,
        apiKeyId: scope?.apiKeyId ?? null,
      },
      'request completed',
    );
  });

  options.database.observeTransactions((report) => {
    metrics.tenantContext.observe(report.contextMs / 1000);
    metrics.transactions.observe(report.totalMs / 1000);
    if (report.totalMs < slowQueries.thresholdMs) return;
    const scope = requestScope.getStore();
    const slow = slowQueries.record({
      requestId: scope?.requestId ?? null,
      tenantId: scope?.tenantId ?? null,
      procedure: scope?.procedure ?? null,
      durationMs: report.totalMs,
      statements: report.statements,
    });
    if (slow) {
      const { statements: _texts, ...summary } = slow;
      logger.warn({ slowQuery: summary }, 'slow query');
    }
  });

  const statsPrune = setInterval(() => stats.prune(), 5 * 60_000);
  statsPrune.unref();
  app.addHook('onClose', async () => clearInterval(statsPrune));

  app.get('/metrics', async (req, reply) => {
    if (!options.metricsToken || !bearerMatches(req.headers.authorization, options.metricsToken)) {
      // Without a token configured, /metrics exists only on METRICS_PORT; the answer does not say which.
      return reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'Not found.' }, requestId: req.id });
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** /metrics on a separate listener (METRICS_HOST:METRICS_PORT), for a network only monitoring reaches. */
export async function startMetricsListener(metrics: Metrics, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return server;
}
