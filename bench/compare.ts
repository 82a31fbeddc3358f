import { type CpuSplit, describeSplit, medianSplit } from './cpu-split.ts';
import { median, round } from './stats.ts';

/** One timed run of one variant. */
export interface Measurement {
  /** Completed operations (transactions, requests) per second. */
  rate: number;
  p50Ms: number;
  p95Ms: number;
  operations: number;
  /**
   * CPU time (user and system) the benchmark process spent per operation, for loops that run inside it
   * (closedLoop): what the client side of an operation costs, apart from the database's and the waiting.
   */
  clientCpuUs?: number;
  /** For runs over HTTP and pgbench: the CPU per operation of the server, PostgreSQL and the client (cpu-split.ts). */
  cpuUs?: CpuSplit;
  /** The same run split by kind of operation (e.g. get and list), each measured over its own operations. */
  parts?: Record<string, Measurement>;
}

export interface Variant {
  label: string;
  /** Prefix of this variant's entries in latest.json's figures. */
  key: string;
  measure(): Promise<Measurement>;
}

export interface VariantSummary {
  label: string;
  key: string;
  /** Medians over the rounds. */
  rate: number;
  p50Ms: number;
  p95Ms: number;
  clientCpuUs?: number;
  cpuUs?: CpuSplit;
}

export interface Comparison {
  name: string;
  /** What the ratio divides: throughputs (A's rate / B's rate, the default) or p95 latencies (A's p95 / B's p95). */
  metric: RatioMetric;
  /** Median over rounds of A/B of the metric, each round's pair measured back to back. */
  ratio: number;
  ratios: number[];
  a: VariantSummary;
  b: VariantSummary;
}

export type RatioMetric = 'rate' | 'p95';

export interface CompareOptions {
  rounds: number;
  /** Runs each variant once, unrecorded, before the rounds (caches, prepared statements, JIT). */
  warmup: boolean;
  /** Throughputs (default: higher A/B is better) or p95 latencies (lower A/B is better). */
  metric?: RatioMetric;
}

function summary(variant: { label: string; key: string }, runs: Measurement[]): VariantSummary {
  return {
    label: variant.label,
    key: variant.key,
    rate: median(runs.map((r) => r.rate)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p95Ms: median(runs.map((r) => r.p95Ms)),
    ...(runs.every((r) => r.clientCpuUs !== undefined) && { clientCpuUs: median(runs.map((r) => r.clientCpuUs ?? 0)) }),
    ...(runs.every((r) => r.cpuUs !== undefined) && { cpuUs: medianSplit(runs.map((r) => r.cpuUs ?? {})) }),
  };
}

const show = (m: Measurement) =>
  `${m.rate.toFixed(0).padStart(6)}/s p50 ${m.p50Ms.toFixed(2)} ms p95 ${m.p95Ms.toFixed(2)} ms` +
  (m.clientCpuUs === undefined ? '' : ` cpu ${m.clientCpuUs.toFixed(0)} us/op`) +
  (m.cpuUs === undefined ? '' : ` cpu ${describeSplit(m.cpuUs)}`);

/**
 * Measures A and B side by side: interleaved rounds (A B, then B A, so that
 * neither always runs first on a warmer or cooler machine), one ratio per
 * round, and the median of those ratios. The machine is shared and noisy; the
 * median of paired ratios is what survives that noise.
 */
export async function compare(name: string, a: Variant, b: Variant, options: CompareOptions): Promise<Comparison> {
  const [main] = await compareWithParts(name, a, b, options, []);
  return must(main);
}

/**
 * compare(), plus one more Comparison per part of the measurements (Measurement.parts): the same paired
 * rounds, each part's ratio taken per round from the part's own figures. For runs that mix kinds of
 * operations (get and list) and want the ratio of each beside the ratio of the mix, without measuring
 * twice. A part's variant key is the variant's key, `_`, the part's key.
 */
export async function compareWithParts(
  name: string,
  a: Variant,
  b: Variant,
  options: CompareOptions,
  parts: Array<{ part: string; name: string; label: string }>,
): Promise<Comparison[]> {
  const metric = options.metric ?? 'rate';
  console.error(`\n${name}: ${a.label}  vs  ${b.label}${metric === 'p95' ? '  (ratio of p95 latencies)' : ''}`);
  if (options.warmup) {
    await a.measure();
    await b.measure();
  }
  const runsA: Measurement[] = [];
  const runsB: Measurement[] = [];
  const ratioOf = (ma: Measurement, mb: Measurement) => (metric === 'p95' ? ma.p95Ms / mb.p95Ms : ma.rate / mb.rate);
  for (let i = 0; i < options.rounds; i++) {
    let ma: Measurement;
    let mb: Measurement;
    if (i % 2 === 0) {
      ma = await a.measure();
      mb = await b.measure();
    } else {
      mb = await b.measure();
      ma = await a.measure();
    }
    runsA.push(ma);
    runsB.push(mb);
    console.error(`  round ${i + 1}/${options.rounds}  A ${show(ma)}   B ${show(mb)}   A/B ${ratioOf(ma, mb).toFixed(3)}`);
  }
  const comparisonOf = (
    comparisonName: string,
    va: { label: string; key: string },
    vb: { label: string; key: string },
    ra: Measurement[],
    rb: Measurement[],
  ): Comparison => {
    const ratios = ra.map((m, i) => ratioOf(m, must(rb[i])));
    return {
      name: comparisonName,
      metric,
      ratio: median(ratios),
      ratios: ratios.map((r) => round(r)),
      a: summary(va, ra),
      b: summary(vb, rb),
    };
  };
  const results = [comparisonOf(name, a, b, runsA, runsB)];
  for (const { part, name: partName, label } of parts) {
    const partOf = (m: Measurement) => {
      const found = m.parts?.[part];
      if (!found) throw new Error(`${name}: a measurement has no part ${part}`);
      return found;
    };
    results.push(
      comparisonOf(
        partName,
        { label: `${label}, ${a.label}`, key: `${a.key}_${part}` },
        { label: `${label}, ${b.label}`, key: `${b.key}_${part}` },
        runsA.map(partOf),
        runsB.map(partOf),
      ),
    );
  }
  for (const c of results) console.error(`  ${c.name}: median A/B ${c.ratio.toFixed(3)}`);
  return results;
}

function must<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('compare: missing value');
  return value;
}
