import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callApi, createApiKey, createTenant } from './api.ts';
import type { Measurement } from './compare.ts';
import { describeSplit, medianSplit } from './cpu-split.ts';
import { migrateServerDatabase } from './data.ts';
import { createBenchDatabase } from './database.ts';
import { runAutocannon, type ServerProcess, signUp, startServerProcess } from './http.ts';
import { median } from './stats.ts';

/**
 * npm run bench:versus -- <git ref> [--rounds 10] [--seconds 3] [--session]
 *
 * This checkout's server against another commit's, side by side on one fresh database: GET
 * /api/v1/audit-log/{id} with an API key (or a session cookie, `--session`), 8 connections, rounds
 * alternating which server goes first, each server's rate and CPU per request (bench/cpu-split.ts).
 * For telling whether a change to the request path made it cheaper: on a shared two-core machine the
 * rates of runs minutes apart differ by more than most such changes, and two servers measured in
 * alternation do not. Both servers get the same calls before measuring (a server that ran more kinds of
 * requests measured up to a sixth more CPU per request on the same route). The commit must have the
 * same migrations as this checkout, which migrates the database.
 */
const args = process.argv.slice(2);
const ref = args.find((arg) => !arg.startsWith('--') && !/^\d+$/.test(arg));
const numberAfter = (flag: string, fallback: number) => {
  const index = args.indexOf(flag);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
if (!ref) throw new Error('usage: npm run bench:versus -- <git ref> [--rounds 10] [--seconds 3] [--session]');
const rounds = numberAfter('--rounds', 10);
const seconds = numberAfter('--seconds', 3);

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const git = (...gitArgs: string[]) => execFileSync('git', gitArgs, { cwd: ROOT, encoding: 'utf8' }).trim();
try {
  git('diff', '--quiet', ref, '--', 'src/db/migrations');
} catch {
  throw new Error(`${ref} has other migrations than this checkout; compare commits with the same schema`);
}

const worktree = mkdtempSync(join(tmpdir(), 'palisade-versus-'));
git('worktree', 'add', '--detach', worktree, ref);
symlinkSync(join(ROOT, 'node_modules'), join(worktree, 'node_modules'));
const pg = await createBenchDatabase();
const servers: ServerProcess[] = [];
try {
  await migrateServerDatabase(pg.url);
  const start = async (entry: string | undefined) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'palisade-versus-data-'));
    const server = await startServerProcess({ databaseUrl: pg.url, appDatabaseUrl: pg.appUrl, poolSize: 10, dataDir, entry });
    servers.push(server);
    return server;
  };
  const here = await start(undefined);
  const there = await start(join(worktree, 'bench', 'server.ts'));
  // The same calls on both, so that both ran the same code before measuring; the first one's are measured.
  const setUp = async (server: ServerProcess) => {
    const user = await signUp(server.url);
    const slug = `versus-${servers.indexOf(server)}-${Date.now()}`;
    const tenantId = await createTenant(server.url, user.cookie, 'Versus', slug);
    const key = await createApiKey(server.url, user.cookie, tenantId, { name: 'versus', role: 'admin', scopes: ['audit:read'] });
    const list = await callApi<{ items: Array<{ id: string }> }>(server.url, 'GET', '/api/v1/audit-log', {
      'x-api-key': key.secret,
    });
    return { user, tenantId, key, entryId: list.items[0]?.id };
  };
  const caller = await setUp(here);
  await setUp(there);
  const headers: Record<string, string> = args.includes('--session')
    ? { cookie: caller.user.cookie, 'x-tenant-id': caller.tenantId }
    : { 'x-api-key': caller.key.secret };
  const measure = (server: ServerProcess, runSeconds = seconds) =>
    runAutocannon({
      url: `${server.url}/api/v1/audit-log/${caller.entryId}`,
      headers,
      connections: 8,
      seconds: runSeconds,
      serverPid: server.pid,
    });

  await measure(here, 3);
  await measure(there, 3);
  const runs = new Map<ServerProcess, Measurement[]>([
    [here, []],
    [there, []],
  ]);
  for (let round = 0; round < rounds; round++) {
    for (const server of round % 2 === 0 ? [here, there] : [there, here]) runs.get(server)?.push(await measure(server));
  }
  const summary = (label: string, server: ServerProcess) => {
    const measured = runs.get(server) ?? [];
    const split = describeSplit(medianSplit(measured.map((m) => m.cpuUs ?? {})));
    return `${label.padEnd(28)} ${median(measured.map((m) => m.rate))
      .toFixed(0)
      .padStart(6)}/s  cpu ${split}`;
  };
  console.log(
    `\nGET /api/v1/audit-log/{id}, ${args.includes('--session') ? 'session cookie' : 'API key'}, ${rounds} rounds of ${seconds} s, medians`,
  );
  console.log(summary('this checkout', here));
  console.log(summary(ref, there));
} finally {
  for (const server of servers) await server.stop();
  await pg.drop();
  git('worktree', 'remove', '--force', worktree);
  rmSync(worktree, { recursive: true, force: true });
}
