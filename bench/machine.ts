import { execFileSync } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';
import postgres from 'postgres';

export interface Machine {
  cpu_model: string;
  cores: number;
  memory_gb: number;
  os: string;
  node: string;
  postgres: string;
  pgbench: string;
  note: string;
}

/** What the figures were measured on. Server, database and load generator share these cores. */
export async function describeMachine(url: string, pgbenchPath: string): Promise<Machine> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  let version = 'unknown';
  try {
    const [row] = await sql.unsafe<Array<{ server_version: string }>>('show server_version');
    version = row?.server_version ?? version;
  } finally {
    await sql.end({ timeout: 5 });
  }
  let pgbench = 'unknown';
  try {
    pgbench = execFileSync(pgbenchPath, ['--version'], { encoding: 'utf8', timeout: 5_000 }).trim();
  } catch {
    // reported as unknown; the pgbench scenario fails loudly on its own
  }
  const cores = cpus();
  return {
    cpu_model: cores[0]?.model.trim() ?? 'unknown',
    cores: cores.length,
    memory_gb: Math.round(totalmem() / 2 ** 30),
    os: `${process.platform} ${release()}`,
    node: process.version,
    postgres: version,
    pgbench,
    note: 'server, PostgreSQL and the load generator share the same cores',
  };
}
