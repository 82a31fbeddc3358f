import type { TestProject } from 'vitest/node';
import { IN_CI, SERVER_URL, serverPostgresReachable } from './postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    serverPostgres: boolean;
  }
}

/**
 * Decides once per run whether the server-PostgreSQL suites run. In CI they
 * are mandatory: an unreachable server fails the run instead of skipping.
 */
export default async function setup(project: TestProject): Promise<void> {
  const reachable = await serverPostgresReachable();
  if (!reachable && IN_CI) {
    throw new Error(`CI=true but server PostgreSQL is not reachable at ${new URL(SERVER_URL).host}`);
  }
  if (!reachable) {
    console.warn(
      `\n  NOTICE: server PostgreSQL is not reachable at ${new URL(SERVER_URL).host}; its suites are SKIPPED (PGlite suites run). Set TEST_DATABASE_URL or start PostgreSQL.\n`,
    );
  }
  project.provide('serverPostgres', reachable);
}
