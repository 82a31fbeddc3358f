import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Comparison } from './compare.ts';
import type { Machine } from './machine.ts';
import { round } from './stats.ts';

/** The targets each ratio is held against (docs/benchmarks.md explains them). Ratios without one are informational. */
export const TARGETS: Partial<Record<string, number>> = {
  rls_cost_get: 0.95,
  rls_cost_list: 0.95,
  context_cost: 0.6,
  http_vs_pgbench: 0.5,
  trpc_vs_rest: 0.8,
  // Every event must reach every receiver; anything less is a lost delivery, not a slow one.
  webhook_delivered_share: 1,
  realtime_delivered_share: 1,
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
  return { wanted: `>=${target}`, verdict: value >= target ? 'ok' : 'MISSED' };
}

export function printTable(comparisons: Comparison[], observations: Observation[], header: string): void {
  const lines = [
    '',
    header,
    '',
    `${pad('ratio', 19)}${'value'.padStart(7)}${'target'.padStart(8)}  ${pad('', 6)}  value = median of the paired rounds' A/B`,
  ];
  for (const c of comparisons) {
    const { wanted, verdict } = verdictOf(c.name, c.ratio);
    lines.push(
      `${pad(c.name, 19)}${c.ratio.toFixed(3).padStart(7)}${wanted.padStart(8)}  ${pad(verdict, 6)}  rounds: ${c.ratios.join(' ')}`,
    );
    for (const [tag, v] of [['A', c.a] as const, ['B', c.b] as const]) {
      lines.push(`${' '.repeat(23)}${tag} ${num(v.rate)}/s  p50 ${num(v.p50Ms, 2)} ms  p95 ${num(v.p95Ms, 2)} ms  ${v.label}`);
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
