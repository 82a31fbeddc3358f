import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Measurement } from './compare.ts';
import { cpuPerOperation, cpuTicks } from './cpu-split.ts';
import { percentile } from './stats.ts';

export const PGBENCH = process.env.BENCH_PGBENCH ?? '/usr/bin/pgbench';

export interface PgbenchRun {
  /** A script file (see writeScript). */
  script: string;
  /** Values for the script's :variables. */
  variables: Record<string, string>;
  host: string;
  port: string;
  user: string;
  database: string;
  clients: number;
  seconds: number;
  /** A scratch directory for pgbench's per-transaction logs (latencies). */
  workDir: string;
}

/**
 * A pgbench script. `$n` placeholders of the statements are replaced by the
 * named :variables, so pgbench sends them as bound parameters (-M prepared),
 * exactly like the driver does.
 */
export function writeScript(
  path: string,
  header: string,
  statements: Array<{ text: string; names: string[] }>,
  begin: 'BEGIN' | 'BEGIN READ ONLY',
): void {
  const lines = statements.map(({ text, names }) =>
    text.replace(/\$(\d+)/g, (_match, index: string) => {
      const name = names[Number(index) - 1];
      if (!name) throw new Error(`no variable for $${index} in ${text}`);
      return `:${name}`;
    }),
  );
  writeFileSync(path, `${header}\n${begin};\n${lines.map((l) => `${l};`).join('\n')}\nCOMMIT;\n`);
}

let runCounter = 0;

/** Runs pgbench once and reads tps from its report and latencies from its transaction log. */
export async function runPgbench(run: PgbenchRun): Promise<Measurement> {
  const prefix = `pgbench_${++runCounter}`;
  const args = [
    '--no-vacuum',
    '--protocol=prepared',
    `--client=${run.clients}`,
    '--jobs=1',
    `--time=${run.seconds}`,
    `--file=${run.script}`,
    `--host=${run.host}`,
    `--port=${run.port}`,
    `--username=${run.user}`,
    '--log',
    `--log-prefix=${join(run.workDir, prefix)}`,
    ...Object.entries(run.variables).map(([k, v]) => `--define=${k}=${v}`),
    run.database,
  ];
  const cpuBefore = cpuTicks();
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(PGBENCH, args, {
      cwd: run.workDir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '' },
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    // Bounded: pgbench stops itself after --time; this only catches a hang.
    const timer = setTimeout(() => child.kill('SIGKILL'), (run.seconds + 30) * 1000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`pgbench exited with ${code}:\n${out}`));
    });
  });
  // pgbench's backends end with it; read once the postmaster has waited for them (their CPU then counts
  // in its children's time), not while they exit, when a reading misses some of them altogether.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const cpuAfter = cpuTicks();
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(output);
  if (!tps?.[1]) throw new Error(`pgbench: no tps in output:\n${output}`);
  const failed = /number of failed transactions: (\d+)/.exec(output);
  if (failed?.[1] && Number(failed[1]) > 0) throw new Error(`pgbench: ${failed[1]} failed transactions:\n${output}`);

  // Log lines: client_id transaction_no latency_us script_no epoch_s epoch_us
  const latencies: number[] = [];
  for (const file of readdirSync(run.workDir).filter((f) => f.startsWith(`${prefix}.`))) {
    for (const line of readFileSync(join(run.workDir, file), 'utf8').split('\n')) {
      const field = line.split(' ')[2];
      if (field) latencies.push(Number(field) / 1000);
    }
    rmSync(join(run.workDir, file));
  }
  return {
    rate: Number(tps[1]),
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    operations: latencies.length,
    cpuUs: cpuPerOperation(cpuBefore, cpuAfter, latencies.length),
  };
}
