import type { DataSpec } from './data.ts';

/**
 * Sizes, durations and concurrency of one run. Many short paired rounds rather
 * than a few long ones: the machine is shared, and a burst of someone else's
 * work then spoils one pair instead of a whole variant. Quick mode is for
 * iteration; its figures are not the published ones.
 */
export interface BenchSettings {
  mode: 'quick' | 'full';
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
  /** rls_cost_get_sql: pgbench clients (as many as the in-process workers); whole seconds, pgbench's unit. */
  sql: { clients: number; seconds: number; rounds: number };
  /** HTTP and pgbench scenarios: connections (autocannon) = clients (pgbench); server pool = Palisade's default. */
  http: { connections: number; serverPoolSize: number; seconds: number; rounds: number };
}

export function settingsFor(quick: boolean): BenchSettings {
  if (quick) {
    return {
      mode: 'quick',
      data: { rows: 100_000, tenants: 1_000 },
      sampleRows: 2_000,
      fewTenants: 3,
      db: { concurrency: 4, poolSize: 4, seconds: 0.5, rounds: 5, maxOperations: 500_000 },
      sql: { clients: 4, seconds: 1, rounds: 3 },
      http: { connections: 8, serverPoolSize: 10, seconds: 2, rounds: 3 },
    };
  }
  return {
    mode: 'full',
    data: { rows: 1_000_000, tenants: 1_000 },
    sampleRows: 5_000,
    fewTenants: 3,
    db: { concurrency: 4, poolSize: 4, seconds: 1, rounds: 25, maxOperations: 1_000_000 },
    sql: { clients: 4, seconds: 1, rounds: 21 },
    http: { connections: 8, serverPoolSize: 10, seconds: 2, rounds: 19 },
  };
}
