import { readdirSync, readFileSync } from 'node:fs';
import { median } from './stats.ts';

/**
 * Where a measured run's CPU went, per operation, in microseconds: the server process, PostgreSQL (every
 * process named `postgres`: backends, background workers), and the client that generates the load (this
 * process, where autocannon and the in-process loops run, with the pgbench it runs). On a machine whose
 * cores all three share, the split says which of them a ratio's gap comes from. Read from /proc, so Linux
 * only (undefined elsewhere); what other processes spent at the time is in none of the three.
 */
export type CpuSplit = Partial<Record<CpuRole, number>>;
const CPU_ROLES = ['server', 'postgres', 'client'] as const;
export type CpuRole = (typeof CPU_ROLES)[number];

/** /proc/<pid>/stat counts in clock ticks, 100 per second on Linux (USER_HZ). */
const TICK_US = 10_000;

function ticksByRole(serverPids: ReadonlySet<number>): CpuTicks {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const ticks = new Map<CpuRole, number>();
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // The command name is in parentheses and may itself contain spaces; the fields after it are plain.
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const role: CpuRole | undefined = serverPids.has(pid)
      ? 'server'
      : name === 'postgres'
        ? 'postgres'
        : pid === process.pid
          ? 'client'
          : undefined;
    if (!role) continue;
    // After the name: utime, stime (the process's own), then cutime, cstime (its children that ended and
    // were waited for). The children count so that what ended during the run is not lost: the backends
    // of pgbench's connections (waited for by the postmaster) and pgbench itself (by this process).
    const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number) as [number, number, number, number];
    ticks.set(role, (ticks.get(role) ?? 0) + utime + stime + cutime + cstime);
  }
  return ticks;
}

/** The CPU ticks each role has used so far (undefined off Linux); two of them make a CpuSplit. */
export type CpuTicks = Map<CpuRole, number> | undefined;

export function cpuTicks(serverPids: number[] = []): CpuTicks {
  return ticksByRole(new Set(serverPids));
}

/** What each role spent per operation between two readings. */
export function cpuPerOperation(before: CpuTicks, after: CpuTicks, operations: number): CpuSplit | undefined {
  if (!before || !after || operations <= 0) return undefined;
  const split: CpuSplit = {};
  for (const [role, ticks] of after) split[role] = ((ticks - (before.get(role) ?? 0)) * TICK_US) / operations;
  return split;
}

/** Each role's median over the runs that counted it. */
export function medianSplit(splits: CpuSplit[]): CpuSplit {
  const result: CpuSplit = {};
  for (const role of CPU_ROLES) {
    const values = splits.flatMap((split) => (split[role] === undefined ? [] : [split[role]]));
    if (values.length > 0) result[role] = median(values);
  }
  return result;
}

/** `server 520 + postgres 160 + client 75 us/op`, the roles a run counted. */
export function describeSplit(split: CpuSplit): string {
  const parts = CPU_ROLES.flatMap((role) => (split[role] === undefined ? [] : [`${role} ${Math.round(split[role])}`]));
  return `${parts.join(' + ')} us/op`;
}
