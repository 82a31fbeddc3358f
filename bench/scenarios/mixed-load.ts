import type { OwnerSql } from '../data.ts';
import { MixedWorkload, prepareMixedTenants } from '../mixed.ts';
import type { Observation } from '../report.ts';
import type { BenchSettings } from '../settings.ts';

/**
 * mixed_load (issue 9): the mixed workload (bench/mixed.ts: reads, writes,
 * searches and cross-tenant probes of CRM contacts over REST) from
 * `mixed.tenants` tenants at once, one client with its own API key each,
 * against one server, for `mixed.seconds` after an unmeasured warm-up. Every
 * response is checked for foreign rows. 0 leaks and 0 errors are part of the
 * result, reported rather than thrown, beside the throughput and the p50, p95
 * and p99 latency of all responses (and the p95 of each group).
 */
export interface MixedLoadContext {
  baseUrl: string;
  /** The owner of the server's database: keys and contact ids. */
  owner: OwnerSql;
  /** The tenants to load, with their contacts (the first `mixed.tenants` are used). */
  tenantIds: string[];
  settings: BenchSettings;
}

export async function mixedLoad(ctx: MixedLoadContext): Promise<Observation> {
  const { tenants: count, seconds, warmupSeconds, maxRequests } = ctx.settings.mixed;
  if (ctx.tenantIds.length < count) throw new Error(`mixed_load: ${count} tenants wanted, ${ctx.tenantIds.length} loaded`);
  const tenants = await prepareMixedTenants(ctx.owner, ctx.tenantIds.slice(0, count));
  const contacts = tenants.reduce((sum, t) => sum + t.contactIds.length, 0);
  console.error(
    `\nmixed_load: ${count} tenants (${contacts.toLocaleString('en')} contacts), one client and key each, ${seconds} s after ${warmupSeconds} s of warm-up`,
  );
  const workload = new MixedWorkload(tenants);
  const warmup = await workload.runFor(ctx.baseUrl, warmupSeconds, maxRequests);
  const run = await workload.runFor(ctx.baseUrl, seconds, maxRequests);
  const { tally } = run;
  // The warm-up is checked too: a leak or error there counts as much.
  const leaks = tally.leaks + warmup.tally.leaks;
  const errors = tally.errors + warmup.tally.errors;
  const figures = {
    mixed_load_tenants: count,
    mixed_load_seconds: run.seconds,
    mixed_load_responses: tally.responses,
    mixed_load_per_s: run.rate,
    mixed_load_p50_ms: run.p50Ms,
    mixed_load_p95_ms: run.p95Ms,
    mixed_load_p99_ms: run.p99Ms,
    mixed_load_read_p95_ms: run.groups.read.p95Ms,
    mixed_load_search_p95_ms: run.groups.search.p95Ms,
    mixed_load_write_p95_ms: run.groups.write.p95Ms,
    mixed_load_created: tally.created,
    mixed_load_read_back: tally.readBack,
    mixed_load_rows_checked: tally.rowsChecked + warmup.tally.rowsChecked,
    mixed_load_leaks: leaks,
    mixed_load_errors: errors,
  };
  const summary = [
    `${tally.responses} responses in ${run.seconds.toFixed(1)} s = ${run.rate.toFixed(0)}/s from ${count} tenants ` +
      `(${run.groups.read.count} reads, ${run.groups.search.count} searches, ${run.groups.write.count} writes, ${run.groups.probe.count} probes)`,
    `latency p50 ${run.p50Ms.toFixed(1)} ms, p95 ${run.p95Ms.toFixed(1)} ms, p99 ${run.p99Ms.toFixed(1)} ms ` +
      `(p95 reads ${run.groups.read.p95Ms.toFixed(1)}, searches ${run.groups.search.p95Ms.toFixed(1)}, writes ${run.groups.write.p95Ms.toFixed(1)} ms)`,
    `${figures.mixed_load_rows_checked} returned rows checked against the caller's tenant: ${leaks} leaks, ${errors} errors` +
      ` (${tally.created} contacts created, ${tally.readBack} read back)`,
    ...[...warmup.tally.samples, ...tally.samples].map((s) => `  ${s}`),
  ];
  for (const line of summary) console.error(`  ${line}`);
  return { name: 'mixed_load', ratios: {}, figures, summary };
}
