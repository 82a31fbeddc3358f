import { performance } from 'node:perf_hooks';
import type { Measurement } from './compare.ts';
import { percentile } from './stats.ts';

export interface LoopOptions {
  /** Operations in flight at once (closed loop: each worker starts its next operation when the last one ends). */
  concurrency: number;
  durationMs: number;
  /** Hard bound on operations per run, whatever the duration. */
  maxOperations: number;
}

/**
 * A closed-loop load generator inside this process: `concurrency` workers call
 * `op(n)` with a shared counter n until the duration or the operation bound is
 * reached. The first failure stops every worker and rejects the run.
 */
export async function closedLoop(op: (n: number) => Promise<void>, options: LoopOptions): Promise<Measurement> {
  const latencies: number[] = [];
  let next = 0;
  let failure: unknown;
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  const deadline = started + options.durationMs;
  const worker = async () => {
    while (failure === undefined && next < options.maxOperations && performance.now() < deadline) {
      const n = next++;
      const t0 = performance.now();
      try {
        await op(n);
      } catch (error) {
        failure ??= error;
        return;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  if (failure !== undefined) throw failure;
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuAtStart);
  return {
    rate: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    operations: latencies.length,
    clientCpuUs: (cpu.user + cpu.system) / Math.max(1, latencies.length),
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Polls `done` every `stepMs` until it holds (true) or `timeoutMs` has passed (false). */
export async function waitUntil(done: () => boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await sleep(stepMs);
  }
  return true;
}

/** Awaits every promise, then fails with the first failure: nothing is left running behind the cleanup. */
export async function settled<T extends readonly unknown[]>(promises: { readonly [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(promises);
  for (const result of results) if (result.status === 'rejected') throw result.reason;
  return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
