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
  attempts: number;
}

/** What a handler may do: work inside the job's own tenant, and nothing across tenants. */
export interface JobContext {
  job: Job;
  inTenant<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
}

/** `done` removes the job; `retryAt` runs it again later; throwing retries with a default backoff. */
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
  /** How long a claim lasts before another process may take the job over. */
  leaseMs?: number;
}

/**
 * Runs queued jobs at least once, across crashes, restarts and several
 * processes: jobs are claimed with FOR UPDATE SKIP LOCKED and a lease, so
 * two processes never run the same job at once and a dead process's jobs are
 * picked up when their lease ends. NOTIFY wakes the runner right after a
 * commit; polling covers everything else (retries, lost notifications).
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

  constructor(private readonly options: JobRunnerOptions) {
    this.batchSize = options.batchSize ?? 20;
    this.pollMs = options.pollMs ?? 1000;
    this.leaseMs = options.leaseMs ?? 60_000;
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
        .where(and(inArray(jobs.kind, kinds), lte(jobs.runAt, now), or(isNull(jobs.claimedUntil), lte(jobs.claimedUntil, now))))
        .orderBy(asc(jobs.runAt))
        .limit(this.batchSize)
        .for('update', { skipLocked: true });
      return tx
        .update(jobs)
        .set({ claimedUntil: new Date(now.getTime() + this.leaseMs), attempts: sql`${jobs.attempts} + 1` })
        .where(inArray(jobs.id, due))
        .returning({ id: jobs.id, tenantId: jobs.tenantId, kind: jobs.kind, refId: jobs.refId, attempts: jobs.attempts });
    });
  }

  private async runOne(job: Job): Promise<void> {
    const handler = this.options.handlers[job.kind];
    if (!handler) return;
    const context: JobContext = {
      job,
      inTenant: (fn) => withSystemTenant(this.options.database, job.tenantId, fn),
    };
    let outcome: JobOutcome;
    try {
      outcome = await handler(context);
    } catch (error) {
      this.options.logger.warn({ err: error, jobId: job.id, kind: job.kind, tenantId: job.tenantId }, 'job failed');
      const backoffMs = Math.min(60_000 * 2 ** Math.min(job.attempts, 10), 6 * 3_600_000);
      outcome = { retryAt: new Date(Date.now() + backoffMs), error: error instanceof Error ? error.message : String(error) };
    }
    await withWorker(this.options.database, async (tx) => {
      if ('done' in outcome) {
        await tx.delete(jobs).where(eq(jobs.id, job.id));
      } else {
        await tx
          .update(jobs)
          .set({ runAt: outcome.retryAt, claimedUntil: null, lastError: outcome.error?.slice(0, 1000) ?? null })
          .where(eq(jobs.id, job.id));
      }
    });
  }
}
