import { AsyncResource } from 'node:async_hooks';
import { and, asc, eq, inArray, isNull, lte, or, sql } from 'drizzle-orm';
import type { Database, Tx } from '../db/client.ts';
import { withSystemTenant, withWorker } from '../db/tenant.ts';
import type { Logger } from '../logger.ts';
import { jobs } from './schema.ts';

export const JOBS_CHANNEL = 'palisade_jobs';

export interface Job {
  id: string;
  tenantId: string;
  kind: string;
  refId: string;
  /** Claims so far, this one included; it also identifies this claim (see completion). */
  attempts: number;
  /** Earlier runs whose handler threw. */
  failedAttempts: number;
}

/** What a handler may do: work inside the job's own tenant, and nothing across tenants. */
export interface JobContext {
  job: Job;
  inTenant<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
}

/**
 * `done` removes the job; `retryAt` runs it again later (waiting by design, not a failure); throwing retries
 * with a growing backoff and counts toward `maxFailedAttempts`.
 */
export type JobOutcome = { done: true } | { retryAt: Date; error?: string };

export type JobHandler = (context: JobContext) => Promise<JobOutcome>;

export interface JobRunnerOptions {
  database: Database;
  logger: Logger;
  handlers: Record<string, JobHandler>;
  /** Jobs claimed per poll. */
  batchSize?: number;
  /** How often to look for due jobs when no notification arrives. */
  pollMs?: number;
  /** How long a claim lasts before another process may take the job over; renewed while the handler runs. */
  leaseMs?: number;
  /**
   * How long a running handler may keep its job by renewing the lease (30 min). A handler hung past it lets
   * its lease lapse, so the job runs again elsewhere rather than never.
   */
  maxHoldMs?: number;
  /** Thrown errors after which a job is dead: kept with `dead_at` set and never claimed again (25). */
  maxFailedAttempts?: number;
}

type JobChanges = Partial<typeof jobs.$inferInsert>;

/** Every claim increments `attempts`, so the value a runner claimed with names its claim. */
const heldBy = (job: Job) => and(eq(jobs.id, job.id), eq(jobs.attempts, job.attempts));

const logFieldsOf = (job: Job) => ({ jobId: job.id, kind: job.kind, tenantId: job.tenantId, attempts: job.attempts });

/**
 * Runs queued jobs at least once, across crashes, restarts and several
 * processes: jobs are claimed with FOR UPDATE SKIP LOCKED and a lease that
 * the runner renews while the handler runs, so two live processes do not run
 * the same job at once and a dead process's jobs are picked up when their
 * lease ends. A runner finishes a job only while it still holds its claim.
 * A job whose handler keeps throwing ends dead after `maxFailedAttempts`.
 * NOTIFY wakes the runner right after a commit; polling covers everything
 * else (retries, lost notifications).
 */
export class JobRunner {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = true;
  private wakeRequested = false;
  private inFlight = new Set<Promise<void>>();
  private unlisten: (() => Promise<void>) | undefined;
  private readonly batchSize: number;
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly maxHoldMs: number;
  private readonly maxFailedAttempts: number;

  constructor(private readonly options: JobRunnerOptions) {
    this.batchSize = options.batchSize ?? 20;
    this.pollMs = options.pollMs ?? 1000;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.maxHoldMs = options.maxHoldMs ?? 30 * 60_000;
    this.maxFailedAttempts = Math.max(1, options.maxFailedAttempts ?? 25);
  }

  /**
   * Bound to the runner's creation context: a wake-up arrives inside whatever
   * request committed the job, and the job must not run as part of that
   * request (its request scope would otherwise claim the job's queries).
   */
  private readonly tickInOwnContext = AsyncResource.bind(() => void this.tick());

  async start(): Promise<void> {
    this.stopped = false;
    this.unlisten = await this.options.database.listen(JOBS_CHANNEL, () => this.wake());
    this.schedule(0);
  }

  /** Stops claiming, waits for jobs in flight (bounded by the caller), releases the listener. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled([...this.inFlight]);
    await this.unlisten?.().catch(() => {});
  }

  /** Look for due jobs now (after a commit that enqueued one). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.wakeRequested = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(this.tickInOwnContext, delayMs);
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = true;
    let claimed = 0;
    try {
      claimed = await this.claimAndRun();
    } catch (error) {
      this.options.logger.warn({ err: error }, 'job runner: claiming failed');
    } finally {
      this.running = false;
    }
    const again = claimed === this.batchSize || this.wakeRequested;
    this.wakeRequested = false;
    this.schedule(again ? 0 : this.pollMs);
  }

  private async claimAndRun(): Promise<number> {
    const claimed = await this.claim();
    await Promise.all(claimed.map((job) => this.track(this.runOne(job))));
    return claimed.length;
  }

  private track(work: Promise<void>): Promise<void> {
    this.inFlight.add(work);
    return work.finally(() => this.inFlight.delete(work));
  }

  private claim(): Promise<Job[]> {
    const kinds = Object.keys(this.options.handlers);
    return withWorker(this.options.database, async (tx) => {
      const now = new Date();
      const due = tx
        .select({ id: jobs.id })
        .from(jobs)
        .where(
          and(
            inArray(jobs.kind, kinds),
            lte(jobs.runAt, now),
            isNull(jobs.deadAt),
            or(isNull(jobs.claimedUntil), lte(jobs.claimedUntil, now)),
          ),
        )
        .orderBy(asc(jobs.runAt))
        .limit(this.batchSize)
        .for('update', { skipLocked: true });
      return tx
        .update(jobs)
        .set({ claimedUntil: new Date(now.getTime() + this.leaseMs), attempts: sql`${jobs.attempts} + 1` })
        .where(inArray(jobs.id, due))
        .returning({
          id: jobs.id,
          tenantId: jobs.tenantId,
          kind: jobs.kind,
          refId: jobs.refId,
          attempts: jobs.attempts,
          failedAttempts: jobs.failedAttempts,
        });
    });
  }

  private async runOne(job: Job): Promise<void> {
    const handler = this.options.handlers[job.kind];
    if (!handler) return;
    const context: JobContext = {
      job,
      inTenant: (fn) => withSystemTenant(this.options.database, job.tenantId, fn),
    };
    const lease = this.keepLease(job);
    let changes: JobChanges | 'delete';
    let thrown: { error: unknown } | undefined;
    try {
      const outcome = await handler(context);
      changes =
        'done' in outcome
          ? 'delete'
          : { runAt: outcome.retryAt, claimedUntil: null, lastError: outcome.error?.slice(0, 1000) ?? null };
    } catch (error) {
      thrown = { error };
      changes = this.changesAfterThrow(job, error);
    } finally {
      // A renewal landing after the completion would claim the finished job again.
      await lease.stop();
    }
    const log = logFieldsOf(job);
    const held = await this.complete(job, changes);
    if (!held) {
      // Another runner claimed the job after this claim's lease ended (or it was removed): its claim stands.
      this.options.logger.warn(
        thrown ? { ...log, err: thrown.error } : log,
        'job claim lost before its handler finished; outcome discarded',
      );
      return;
    }
    if (!thrown || changes === 'delete') return;
    const failure = { ...log, err: thrown.error, failedAttempts: changes.failedAttempts };
    if (changes.deadAt) this.options.logger.error(failure, 'job dead: too many failed attempts, no longer claimed');
    else this.options.logger.warn(failure, 'job failed');
  }

  private changesAfterThrow(job: Job, error: unknown): JobChanges {
    const failedAttempts = job.failedAttempts + 1;
    const lastError = (error instanceof Error ? error.message : String(error)).slice(0, 1000);
    if (failedAttempts >= this.maxFailedAttempts) return { failedAttempts, deadAt: new Date(), claimedUntil: null, lastError };
    const backoffMs = Math.min(60_000 * 2 ** Math.min(failedAttempts, 10), 6 * 3_600_000);
    return { failedAttempts, runAt: new Date(Date.now() + backoffMs), claimedUntil: null, lastError };
  }

  /**
   * Applies the outcome only while this runner still holds its claim: a runner whose lease lapsed and whose
   * job was claimed again matches no row and changes nothing. Resolves with whether the claim was held.
   */
  private complete(job: Job, changes: JobChanges | 'delete'): Promise<boolean> {
    return withWorker(this.options.database, async (tx) => {
      const rows =
        changes === 'delete'
          ? await tx.delete(jobs).where(heldBy(job)).returning({ id: jobs.id })
          : await tx.update(jobs).set(changes).where(heldBy(job)).returning({ id: jobs.id });
      return rows.length > 0;
    });
  }

  /**
   * Extends the job's lease every third of `leaseMs` while its handler runs, so that a slow handler keeps
   * its job rather than being run a second time elsewhere; a crashed process stops renewing and its job is
   * taken over when the lease ends. Renewals stop at `maxHoldMs`, or once the claim is found lost.
   */
  private keepLease(job: Job): { stop(): Promise<void> } {
    const everyMs = Math.max(1, Math.floor(this.leaseMs / 3));
    const holdUntil = Date.now() + this.maxHoldMs;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let renewing: Promise<void> = Promise.resolve();
    const scheduleNext = (): void => {
      if (stopped) return;
      if (Date.now() >= holdUntil) {
        this.options.logger.warn(
          { ...logFieldsOf(job), maxHoldMs: this.maxHoldMs },
          'job handler still running after maxHoldMs; its lease will lapse and the job may run again',
        );
        return;
      }
      timer = setTimeout(() => {
        renewing = this.renewLease(job).then((held) => {
          if (held) scheduleNext();
        });
      }, everyMs);
    };
    scheduleNext();
    return {
      async stop() {
        stopped = true;
        clearTimeout(timer);
        await renewing;
      },
    };
  }

  /** False once the claim is gone; a failed renewal is retried at the next interval, as the lease may still hold. */
  private async renewLease(job: Job): Promise<boolean> {
    const log = logFieldsOf(job);
    try {
      const renewed = await withWorker(this.options.database, (tx) =>
        tx
          .update(jobs)
          .set({ claimedUntil: new Date(Date.now() + this.leaseMs) })
          .where(heldBy(job))
          .returning({ id: jobs.id }),
      );
      if (renewed.length > 0) return true;
      this.options.logger.warn(log, 'job claim lost while its handler runs; another runner may run it too');
      return false;
    } catch (error) {
      this.options.logger.warn({ ...log, err: error }, 'job lease renewal failed');
      return true;
    }
  }
}
