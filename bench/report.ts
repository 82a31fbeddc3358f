import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Comparison } from './compare.ts';
import { describeSplit } from './cpu-split.ts';
import type { Machine } from './machine.ts';
import { round } from './stats.ts';

/** A bound on a ratio: at least `value` (throughput ratios, shares) or at most `value` (latency ratios). */
export interface Target {
  kind: '>=' | '<=';
  value: number;
}

const atLeast = (value: number): Target => ({ kind: '>=', value });
const atMost = (value: number): Target => ({ kind: '<=', value });

/** The targets each ratio is held against (docs/benchmarks.md explains them). Ratios without one are informational. */
export const TARGETS: Partial<Record<string, Target>> = {
  rls_cost_get: atLeast(0.95),
  rls_cost_list: atLeast(0.95),
  context_cost: atLeast(0.6),
  http_vs_pgbench: atLeast(0.5),
  trpc_vs_rest: atLeast(0.8),
  // Every event must reach every receiver; anything less is a lost delivery, not a slow one.
  webhook_delivered_share: atLeast(1),
  realtime_delivered_share: atLeast(1),
  // p95 with 1,000 tenants over p95 with the same contacts in 10 tenants (issue 6): lower is better.
  crm_tenant_scale: atMost(1.2),
  crm_list_tenant_scale: atMost(1.2),
  crm_search_tenant_scale: atMost(1.2),
  // p95 of REST get and list with 10,000 tenants over p95 with the same contacts in 10 tenants (issue 9).
  tenant_scale: atMost(1.2),
  tenant_scale_get: atMost(1.2),
  tenant_scale_list: atMost(1.2),
};

/**
 * A scenario measured on its own rather than as an A/B pair: deliveries and
 * fan-out have no second variant to compare with, so they report rates,
 * latency percentiles and shares.
 */
export interface Observation {
  name: string;
  /** Into latest.json's ratios; held against TARGETS where one exists. */
  ratios: Record<string, number>;
  /** Into latest.json's figures. */
  figures: Record<string, number>;
  /** Lines for the printed table. */
  summary: string[];
}

export interface Results {
  machine: Machine;
  run: Record<string, string | number>;
  ratios: Record<string, number>;
  figures: Record<string, number>;
}

export function buildResults(
  machine: Machine,
  run: Results['run'],
  comparisons: Comparison[],
  observations: Observation[],
  extra: Record<string, number>,
): Results {
  const ratios: Record<string, number> = {};
  const figures: Record<string, number> = { ...extra };
  for (const c of comparisons) {
    ratios[c.name] = round(c.ratio);
    // The spread of the paired rounds: how much to trust the median on a shared machine.
    figures[`${c.name}_round_min`] = Math.min(...c.ratios);
    figures[`${c.name}_round_max`] = Math.max(...c.ratios);
    for (const v of [c.a, c.b]) {
      figures[`${v.key}_per_s`] = round(v.rate, 1);
      figures[`${v.key}_p50_ms`] = round(v.p50Ms);
      figures[`${v.key}_p95_ms`] = round(v.p95Ms);
      if (v.clientCpuUs !== undefined) figures[`${v.key}_client_cpu_us`] = round(v.clientCpuUs, 1);
      for (const [role, us] of Object.entries(v.cpuUs ?? {})) figures[`${v.key}_cpu_${role}_us`] = round(us, 1);
    }
  }
  for (const o of observations) {
    for (const [name, value] of Object.entries(o.ratios)) ratios[name] = round(value);
    for (const [name, value] of Object.entries(o.figures)) figures[name] = round(value, 1);
  }
  return { machine, run, ratios, figures };
}

export function writeResults(path: string, results: Results): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}

const pad = (s: string, n: number) => s.padEnd(n);
const num = (n: number, digits = 0) => n.toFixed(digits).padStart(8);

function verdictOf(name: string, value: number): { wanted: string; verdict: string } {
  const target = TARGETS[name];
  if (target === undefined) return { wanted: '-', verdict: 'info' };
  const met = target.kind === '>=' ? value >= target.value : value <= target.value;
  return { wanted: `${target.kind}${target.value}`, verdict: met ? 'ok' : 'MISSED' };
}

export function printTable(comparisons: Comparison[], observations: Observation[], header: string): void {
  const lines = [
    '',
    header,
    '',
    `${pad('ratio', 25)}${'value'.padStart(7)}${'target'.padStart(8)}  ${pad('', 6)}  value = median of the paired rounds' A/B (rates; p95 where marked)`,
  ];
  for (const c of comparisons) {
    const { wanted, verdict } = verdictOf(c.name, c.ratio);
    lines.push(
      `${pad(c.name, 25)}${c.ratio.toFixed(3).padStart(7)}${wanted.padStart(8)}  ${pad(verdict, 6)}  ${c.metric === 'p95' ? 'p95 ' : ''}rounds: ${c.ratios.join(' ')}`,
    );
    for (const [tag, v] of [['A', c.a] as const, ['B', c.b] as const]) {
      const cpu =
        v.clientCpuUs !== undefined ? `  cpu ${num(v.clientCpuUs)} us/op` : v.cpuUs ? `  cpu ${describeSplit(v.cpuUs)}` : '';
      lines.push(
        `${' '.repeat(29)}${tag} ${num(v.rate)}/s  p50 ${num(v.p50Ms, 2)} ms  p95 ${num(v.p95Ms, 2)} ms${cpu}  ${v.label}`,
      );
    }
  }
  for (const o of observations) {
    lines.push('', o.name);
    for (const [name, value] of Object.entries(o.ratios)) {
      const { wanted, verdict } = verdictOf(name, value);
      lines.push(`  ${pad(name, 27)}${value.toFixed(3).padStart(7)}${wanted.padStart(8)}  ${verdict}`);
    }
    for (const line of o.summary) lines.push(`  ${line}`);
  }
  console.log(lines.join('\n'));
}

const START = '<!-- bench:figures -->';
const END = '<!-- /bench:figures -->';

/** The run's figures as Markdown: ratios against their targets, the variants' absolute figures, the observations. */
export function figuresMarkdown(comparisons: Comparison[], observations: Observation[], header: string): string {
  const cell = (value: number, digits = 3) => value.toFixed(digits);
  const target = (name: string, value: number) => {
    const { wanted, verdict } = verdictOf(name, value);
    return wanted === '-'
      ? 'informational'
      : `${wanted.replace('>=', '>= ').replace('<=', '<= ')}: ${verdict === 'ok' ? 'met' : '**missed**'}`;
  };
  const lines = [header, '', '| Ratio | Value | Target | Rounds (min-max) |', '|---|---|---|---|'];
  for (const c of comparisons) {
    lines.push(
      `| \`${c.name}\` | ${cell(c.ratio)} | ${target(c.name, c.ratio)} | ${cell(Math.min(...c.ratios), 2)}-${cell(Math.max(...c.ratios), 2)} |`,
    );
  }
  for (const o of observations) {
    for (const [name, value] of Object.entries(o.ratios))
      lines.push(`| \`${name}\` | ${cell(value)} | ${target(name, value)} | |`);
  }
  lines.push(
    '',
    'Absolute figures (medians over the rounds). CPU per operation: for the in-process loops, the benchmark process; for HTTP and pgbench, the server process, PostgreSQL and the client (autocannon in the benchmark process, or pgbench):',
    '',
    '| Variant | Per second | p50 ms | p95 ms | CPU us/op |',
    '|---|---|---|---|---|',
  );
  for (const c of comparisons) {
    for (const v of [c.a, c.b]) {
      const cpu =
        v.clientCpuUs !== undefined ? Math.round(v.clientCpuUs).toLocaleString('en') : v.cpuUs ? describeSplit(v.cpuUs) : '';
      lines.push(
        `| ${v.label} | ${Math.round(v.rate).toLocaleString('en')} | ${cell(v.p50Ms, 2)} | ${cell(v.p95Ms, 2)} | ${cpu} |`,
      );
    }
  }
  lines.push('', 'Observed scenarios:', '');
  for (const o of observations) lines.push(`- \`${o.name}\`: ${o.summary.map((s) => s.trim()).join('; ')}`);
  return lines.join('\n');
}

/**
 * Rewrites the generated part of docs/benchmarks.md (between its two markers) with this run's figures; the
 * method and the reading of the figures around it are written by hand.
 */
export function writeFiguresSection(docPath: string, markdown: string): void {
  const doc = readFileSync(docPath, 'utf8');
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${docPath} lacks the ${START} ... ${END} markers`);
  writeFileSync(docPath, `${doc.slice(0, start + START.length)}\n${markdown}\n${doc.slice(end)}`);
}
