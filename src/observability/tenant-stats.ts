/**
 * Request count, errors and latency percentiles per tenant and procedure over
 * recent minutes, kept in this process's memory: one bucket per minute for the
 * last hour, each holding at most SAMPLES_PER_BUCKET latencies (a uniform
 * reservoir sample beyond that), so memory is bounded by tenants x procedures
 * active in the last hour. Several processes each report their own traffic.
 */
const BUCKET_MS = 60_000;
const KEEP_BUCKETS = 60;
const SAMPLES_PER_BUCKET = 512;

interface Bucket {
  minute: number;
  count: number;
  errors: number;
  samples: number[];
}

export interface ProcedureStats {
  tenantId: string;
  procedure: string;
  count: number;
  errors: number;
  errorRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round((sorted[index] as number) * 100) / 100;
}

export class TenantStats {
  private readonly series = new Map<string, Map<string, Bucket[]>>();

  constructor(private readonly now: () => number = Date.now) {}

  record(tenantId: string, procedure: string, ms: number, isError: boolean): void {
    const minute = Math.floor(this.now() / BUCKET_MS);
    let procedures = this.series.get(tenantId);
    if (!procedures) {
      procedures = new Map();
      this.series.set(tenantId, procedures);
    }
    let buckets = procedures.get(procedure);
    if (!buckets) {
      buckets = [];
      procedures.set(procedure, buckets);
    }
    let bucket = buckets.at(-1);
    if (!bucket || bucket.minute !== minute) {
      bucket = { minute, count: 0, errors: 0, samples: [] };
      buckets.push(bucket);
      while (buckets.length > 0 && (buckets[0] as Bucket).minute <= minute - KEEP_BUCKETS) buckets.shift();
    }
    bucket.count++;
    if (isError) bucket.errors++;
    if (bucket.samples.length < SAMPLES_PER_BUCKET) bucket.samples.push(ms);
    else {
      const slot = Math.floor(Math.random() * bucket.count);
      if (slot < SAMPLES_PER_BUCKET) bucket.samples[slot] = ms;
    }
  }

  /** Statistics over the last `windowMinutes`, for one tenant or (platform admins) all of them. */
  snapshot(windowMinutes: number, tenantId?: string): ProcedureStats[] {
    const since = Math.floor(this.now() / BUCKET_MS) - windowMinutes + 1;
    const tenants = tenantId === undefined ? [...this.series.keys()] : [tenantId];
    const out: ProcedureStats[] = [];
    for (const tenant of tenants) {
      for (const [procedure, buckets] of this.series.get(tenant) ?? []) {
        const recent = buckets.filter((b) => b.minute >= since);
        const count = recent.reduce((n, b) => n + b.count, 0);
        if (count === 0) continue;
        const errors = recent.reduce((n, b) => n + b.errors, 0);
        const sorted = recent.flatMap((b) => b.samples).sort((a, b) => a - b);
        out.push({
          tenantId: tenant,
          procedure,
          count,
          errors,
          errorRate: Math.round((errors / count) * 10_000) / 10_000,
          p50Ms: percentile(sorted, 50),
          p95Ms: percentile(sorted, 95),
          p99Ms: percentile(sorted, 99),
        });
      }
    }
    return out.sort((a, b) => b.count - a.count || a.procedure.localeCompare(b.procedure));
  }

  /** Drops tenants and procedures with nothing in the last hour. */
  prune(): void {
    const oldest = Math.floor(this.now() / BUCKET_MS) - KEEP_BUCKETS;
    for (const [tenant, procedures] of this.series) {
      for (const [procedure, buckets] of procedures) {
        if ((buckets.at(-1)?.minute ?? 0) <= oldest) procedures.delete(procedure);
      }
      if (procedures.size === 0) this.series.delete(tenant);
    }
  }
}
