-- Dead jobs (a handler that kept throwing) stay in app.jobs for inspection; the due index leaves them out so
-- the claiming scan never walks past them. Replacing the index is safe during a rollout: the previous
-- release's claim query still runs, on a queue that holds only pending jobs, just without this index.
DROP INDEX "app"."jobs_due_idx";--> statement-breakpoint
ALTER TABLE "app"."jobs" ADD COLUMN "failed_attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "app"."jobs" ADD COLUMN "dead_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "jobs_due_idx" ON "app"."jobs" USING btree ("run_at") WHERE dead_at is null;