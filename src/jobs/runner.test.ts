import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createFreshDatabase, type FreshDatabase } from '../../test/support/postgres.ts';
import { waitFor } from '../../test/support/wait.ts';
import { type Database, openDatabase } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { createLogger } from '../logger.ts';
import { type JobHandler, type JobOutcome, JobRunner, type JobRunnerOptions } from './runner.ts';

/**
 * The runner's claim at the level of the database: leases renewed while a handler runs, completion only
 * under the claim it was made with, and a limit on thrown errors. Runners of one test share a database
 * as separate processes would.
 */

interface JobRow {
  attempts: number;
  failed_attempts: number;
  /** Epoch milliseconds: the two drivers return timestamps differently. */
  claimed_until_ms: number | null;
  dead: boolean;
  last_error: string | null;
}

/** A handler run the test finishes when it chooses. */
interface HeldRun {
  finish(outcome: JobOutcome): void;
}

const SHORT_LEASE_MS = 300;

for (const backend of ['pglite', 'postgres'] as const) {
  const available = backend === 'pglite' || inject('serverPostgres');
  (available ? describe : describe.skip)(`job runner [${backend}]`, () => {
    let fresh: FreshDatabase | undefined;
    let database: Database;
    let tenantId: string;
    const logLines: Array<{ level: number; msg: string; jobId?: string }> = [];
    const logger = createLogger('info', { write: (line: string) => void logLines.push(JSON.parse(line)) });
    const runners: JobRunner[] = [];
    const heldRuns: HeldRun[] = [];

    beforeAll(async () => {
      if (backend === 'postgres') fresh = await createFreshDatabase();
      database = await openDatabase(fresh ? { url: fresh.url } : { dataDir: 'memory://' });
      await migrate(database);
      const [tenant] = await database.ownerQuery<{ id: string }>(
        "insert into app.tenants (name, slug) values ('Jobs', 'jobs-runner-test') returning id",
      );
      tenantId = tenant?.id ?? '';
    });
    afterEach(async () => {
      for (const run of heldRuns.splice(0)) run.finish({ done: true });
      await Promise.all(runners.splice(0).map((runner) => runner.stop()));
    });
    afterAll(async () => {
      await database?.close();
      await fresh?.drop();
    });

    const startRunner = async (handlers: Record<string, JobHandler>, options: Partial<JobRunnerOptions> = {}) => {
      const runner = new JobRunner({ database, logger, handlers, pollMs: 20, leaseMs: SHORT_LEASE_MS, ...options });
      runners.push(runner);
      await runner.start();
      return runner;
    };
    const enqueue = async (kind: string, runAt = 'now()'): Promise<string> => {
      const [row] = await database.ownerQuery<{ id: string }>(
        `insert into app.jobs (tenant_id, kind, ref_id, run_at) values ($1, $2, gen_random_uuid(), ${runAt}) returning id`,
        [tenantId, kind],
      );
      return row?.id ?? '';
    };
    const jobRow = async (id: string): Promise<JobRow | undefined> => {
      const [row] = await database.ownerQuery<JobRow>(
        `select attempts, failed_attempts, (extract(epoch from claimed_until) * 1000)::float8 as claimed_until_ms,
                dead_at is not null as dead, last_error
           from app.jobs where id = $1`,
        [id],
      );
      return row;
    };
    /** A handler whose every run waits for the test to finish it; `runs` lists the runs started so far. */
    const heldHandler = () => {
      const runs: HeldRun[] = [];
      const handler: JobHandler = () =>
        new Promise<JobOutcome>((resolve) => {
          const run = { finish: resolve };
          runs.push(run);
          heldRuns.push(run);
        });
      return { runs, handler };
    };

    it('keeps a job whose handler outlives the lease: two runners, one run', async () => {
      const { runs, handler } = heldHandler();
      const id = await enqueue('slow');
      await startRunner({ slow: handler });
      await startRunner({ slow: handler });
      await waitFor(
        'the first run',
        async () => runs.length,
        (n) => n === 1,
      );
      const firstClaim = await jobRow(id);
      const firstLeaseEnd = firstClaim?.claimed_until_ms ?? 0;

      // Renewed past three of its original leases: the other runner, polling every 20 ms, has long been free
      // to take the job over had the lease not been renewed.
      await waitFor(
        'the lease renewed well past its first end, or a second run',
        () => jobRow(id),
        (row) => (row?.claimed_until_ms ?? 0) >= firstLeaseEnd + 3 * SHORT_LEASE_MS || runs.length > 1,
      );
      expect(runs).toHaveLength(1);
      expect((await jobRow(id))?.attempts).toBe(1);

      runs[0]?.finish({ done: true });
      await waitFor(
        'the job removed',
        () => jobRow(id),
        (row) => row === undefined,
      );
      expect(runs).toHaveLength(1);
    });

    it('leaves a newer claim alone when a runner that lost its claim finishes', async () => {
      const { runs, handler } = heldHandler();
      const id = await enqueue('stalled');
      // A runner that never renews stands for one whose renewals stalled (a blocked event loop, a lost connection).
      await startRunner({ stalled: handler }, { maxHoldMs: 0 });
      await waitFor(
        'the first run',
        async () => runs.length,
        (n) => n === 1,
      );
      await startRunner({ stalled: handler });
      await waitFor(
        'the job claimed again after the lease ended',
        async () => runs.length,
        (n) => n === 2,
      );

      runs[0]?.finish({ done: true });
      const lostClaimReported = () => logLines.some((line) => line.jobId === id && line.msg.startsWith('job claim lost before'));
      await waitFor(
        "the first run's completion handled",
        () => jobRow(id),
        (row) => lostClaimReported() || row === undefined,
      );
      const newer = await jobRow(id);
      expect(newer?.attempts).toBe(2);
      expect(newer?.claimed_until_ms).not.toBeNull();

      runs[1]?.finish({ done: true });
      await waitFor(
        'the job removed by the newer claim',
        () => jobRow(id),
        (row) => row === undefined,
      );
    });

    it('ends a job whose handler always throws dead after maxFailedAttempts, and claims it no more', async () => {
      let runs = 0;
      const failing: JobHandler = async () => {
        runs++;
        throw new Error('poison');
      };
      const id = await enqueue('poison', "now() - interval '1 hour'");
      await startRunner({ poison: failing, sentinel: async () => ({ done: true }) }, { maxFailedAttempts: 3 });
      for (let failures = 1; failures < 3; failures++) {
        await waitFor(
          `failure ${failures} recorded`,
          () => jobRow(id),
          (row) => row?.failed_attempts === failures && row.claimed_until_ms === null,
        );
        // Skip the backoff.
        await database.ownerQuery("update app.jobs set run_at = now() - interval '1 hour' where id = $1", [id]);
      }
      const dead = await waitFor(
        'the job dead',
        () => jobRow(id),
        (row) => row?.dead === true,
      );
      expect(dead).toMatchObject({ attempts: 3, failed_attempts: 3, claimed_until_ms: null, last_error: 'poison' });
      expect(logLines.filter((line) => line.jobId === id && line.level === 50).map((line) => line.msg)).toEqual([
        'job dead: too many failed attempts, no longer claimed',
      ]);

      // Due before the sentinel: had the dead job been claimable, the poll that took the sentinel took it too.
      const sentinel = await enqueue('sentinel');
      await waitFor(
        'the sentinel run',
        () => jobRow(sentinel),
        (row) => row === undefined,
      );
      expect(runs).toBe(3);
      expect((await jobRow(id))?.attempts).toBe(3);
    });

    it('does not count retryAt outcomes (waiting by design) toward the limit', async () => {
      let runs = 0;
      const waiting: JobHandler = async () => {
        runs++;
        return runs <= 4 ? { retryAt: new Date(Date.now() - 1000) } : { done: true };
      };
      const id = await enqueue('waiting');
      await startRunner({ waiting }, { maxFailedAttempts: 2 });
      await waitFor(
        'the job done',
        () => jobRow(id),
        (row) => row === undefined,
      );
      expect(runs).toBe(5);
    });
  });
}
