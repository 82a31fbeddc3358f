import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Where the gauges read their values at scrape time. */
export interface MetricSources {
  poolStats(): { total: number; idle: number; waiting: number };
  realtimeConnections(): number;
  /** Dispatch jobs not yet done, and the age of the oldest, in seconds. */
  outboxBacklog(): Promise<{ pending: number; oldestAgeSeconds: number }>;
  /** Whether a Redis-backed part works from its fallback right now. */
  redisDegraded(): boolean;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** The Prometheus metrics of one process (prom-client), in a registry of their own. */
export function createMetrics(sources: MetricSources) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'palisade_' });
  const registers = [registry];
  const seconds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

  const metrics = {
    registry,
    httpDuration: new Histogram({
      name: 'palisade_http_request_duration_seconds',
      help: 'HTTP request duration by route pattern or tRPC procedure, method and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: seconds,
      registers,
    }),
    errors: new Counter({
      name: 'palisade_errors_total',
      help: 'Error responses by catalogued error code',
      labelNames: ['code'] as const,
      registers,
    }),
    tenantContext: new Histogram({
      name: 'palisade_db_tenant_context_seconds',
      help: 'Time from asking for a connection until the tenant context was set (pool wait, BEGIN, enter statement)',
      buckets: [0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers,
    }),
    transactions: new Histogram({
      name: 'palisade_db_transaction_seconds',
      help: 'Duration of tenant transactions, including their queries',
      buckets: seconds,
      registers,
    }),
    webhookAttempts: new Counter({
      name: 'palisade_webhook_attempts_total',
      help: 'Webhook delivery attempts by result',
      labelNames: ['result'] as const,
      registers,
    }),
  };

  new Gauge({
    name: 'palisade_db_pool_connections',
    help: 'Request pool connections by state',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const stats = sources.poolStats();
      this.set({ state: 'in_use' }, stats.total);
      this.set({ state: 'idle' }, stats.idle);
      this.set({ state: 'waiting' }, stats.waiting);
    },
  });
  new Gauge({
    name: 'palisade_realtime_connections',
    help: 'Open realtime sockets in this process',
    registers,
    collect() {
      this.set(sources.realtimeConnections());
    },
  });
  new Gauge({
    name: 'palisade_redis_degraded',
    help: '1 while a Redis-backed part (rate limits, realtime) works from its fallback',
    registers,
    collect() {
      this.set(sources.redisDegraded() ? 1 : 0);
    },
  });
  const lag = new Gauge({
    name: 'palisade_outbox_lag_seconds',
    help: 'Age of the oldest event not yet dispatched',
    registers,
  });
  new Gauge({
    name: 'palisade_outbox_backlog',
    help: 'Events committed and not yet dispatched',
    registers,
    async collect() {
      const { pending, oldestAgeSeconds } = await sources.outboxBacklog();
      this.set(pending);
      lag.set(oldestAgeSeconds);
    },
  });
  return metrics;
}
