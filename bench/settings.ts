import type { DataSpec } from './data.ts';

/**
 * Sizes, durations and concurrency of one run. Many short paired rounds rather
 * than a few long ones: the machine is shared, and a burst of someone else's
 * work then spoils one pair instead of a whole variant. Quick mode is for
 * iteration; its figures are not the published ones. It must finish within
 * 3 minutes on the 2-core machine (run.step_seconds in latest.json shows where
 * the time goes): its data are smaller and its rounds fewer and shorter.
 */
export interface BenchSettings {
  mode: 'quick' | 'full';
  /**
   * Whether each comparison first runs both variants once, unrecorded (caches, prepared statements, JIT).
   * The quick run skips it to stay within its budget; the median of its rounds absorbs a cold first one.
   */
  warmup: boolean;
  data: DataSpec;
  /** Rows sampled for the in-process scenarios (walked in the same order by every variant). */
  sampleRows: number;
  /** How many tenants the HTTP scenarios' user belongs to. */
  fewTenants: number;
  /**
   * In-process scenarios (rls_cost_get, rls_cost_list, context_cost): closed-loop workers over a pool of the
   * same size. The pool size is also the owner pool's (fixed at 4 in src/db/client.ts), which context_cost's
   * autocommit variant uses.
   */
  db: { concurrency: number; poolSize: number; seconds: number; rounds: number; maxOperations: number };
  /**
   * crm_*_tenant_scale: `contacts` CRM contacts loaded twice, once over `manyTenants` tenants and once over
   * `fewTenants`; measured with the in-process loop settings of `db`.
   */
  crm: { contacts: number; manyTenants: number; fewTenants: number };
  /**
   * tenant_scale: the CRM contacts (`crm.contacts`, the same rows) once more over `manyTenants` tenants,
   * against the `crm.fewTenants` layout of crm_*_tenant_scale; REST get and list with the HTTP settings.
   */
  tenantScale: { manyTenants: number; getSamplesPerLayout: number };
  /**
   * mixed_load: `tenants` clients, one per tenant and one connection each, for `seconds` after `warmupSeconds`
   * unmeasured, at most `maxRequests` in all. Its tenants are the first of the crm layout A (`--only`: a layout
   * of their own with as many contacts each).
   */
  mixed: { tenants: number; seconds: number; warmupSeconds: number; maxRequests: number };
  /**
   * pglite_vs_postgres: the mixed workload of `tenants` clients against a PGlite server and a server
   * PostgreSQL one, each with `tenants` tenants of `contactsPerTenant` contacts; paired rounds of `seconds`.
   */
  pglite: { tenants: number; contactsPerTenant: number; seconds: number; rounds: number; maxRequests: number };
  /** rls_cost_get_sql: pgbench clients (as many as the in-process workers); whole seconds, pgbench's unit. */
  sql: { clients: number; seconds: number; rounds: number };
  /** HTTP and pgbench scenarios: connections (autocannon) = clients (pgbench); server pool = Palisade's default. */
  http: { connections: number; serverPoolSize: number; seconds: number; rounds: number };
  /**
   * webhook_delivery: events created through the API by `concurrency` callers at once (after `warmupEvents`
   * that are not measured), for at most `createSeconds`; the receiver then waits at most `waitSeconds` for
   * the last delivery.
   */
  webhooks: { events: number; concurrency: number; warmupEvents: number; createSeconds: number; waitSeconds: number };
  /**
   * realtime_fanout: `clients` sockets, half on each of two server processes, connected `connectConcurrency`
   * at a time; then `events` events one after another, one every `intervalMs`; at most `waitSeconds` for the
   * last frames.
   */
  realtime: {
    clients: number;
    connectConcurrency: number;
    events: number;
    warmupEvents: number;
    intervalMs: number;
    waitSeconds: number;
  };
}

export function settingsFor(quick: boolean): BenchSettings {
  if (quick) {
    return {
      mode: 'quick',
      warmup: false,
      data: { rows: 100_000, tenants: 1_000 },
      sampleRows: 2_000,
      fewTenants: 3,
      db: { concurrency: 4, poolSize: 4, seconds: 0.5, rounds: 3, maxOperations: 500_000 },
      crm: { contacts: 50_000, manyTenants: 1_000, fewTenants: 10 },
      tenantScale: { manyTenants: 2_000, getSamplesPerLayout: 2_000 },
      mixed: { tenants: 100, seconds: 3, warmupSeconds: 1, maxRequests: 50_000 },
      pglite: { tenants: 8, contactsPerTenant: 250, seconds: 1, rounds: 3, maxRequests: 20_000 },
      sql: { clients: 4, seconds: 1, rounds: 3 },
      http: { connections: 8, serverPoolSize: 10, seconds: 1, rounds: 3 },
      webhooks: { events: 200, concurrency: 8, warmupEvents: 20, createSeconds: 30, waitSeconds: 30 },
      realtime: { clients: 200, connectConcurrency: 16, events: 20, warmupEvents: 3, intervalMs: 100, waitSeconds: 15 },
    };
  }
  return {
    mode: 'full',
    warmup: true,
    data: { rows: 1_000_000, tenants: 1_000 },
    sampleRows: 5_000,
    fewTenants: 3,
    db: { concurrency: 4, poolSize: 4, seconds: 1, rounds: 25, maxOperations: 1_000_000 },
    crm: { contacts: 1_000_000, manyTenants: 1_000, fewTenants: 10 },
    tenantScale: { manyTenants: 10_000, getSamplesPerLayout: 20_000 },
    mixed: { tenants: 100, seconds: 60, warmupSeconds: 5, maxRequests: 300_000 },
    pglite: { tenants: 8, contactsPerTenant: 1_000, seconds: 2, rounds: 9, maxRequests: 20_000 },
    sql: { clients: 4, seconds: 1, rounds: 21 },
    http: { connections: 8, serverPoolSize: 10, seconds: 2, rounds: 19 },
    webhooks: { events: 1_000, concurrency: 8, warmupEvents: 20, createSeconds: 120, waitSeconds: 60 },
    realtime: { clients: 1_000, connectConcurrency: 16, events: 50, warmupEvents: 3, intervalMs: 100, waitSeconds: 30 },
  };
}
