import { callApi, createApiKey, createTenant, sendTestEvent } from '../api.ts';
import { closedLoop, waitUntil } from '../loop.ts';
import { startReceiver } from '../receiver.ts';
import type { Observation } from '../report.ts';
import { percentile } from '../stats.ts';
import type { EventScenarioContext } from './context.ts';

const EVENT_TYPE = 'webhook.test';

/**
 * webhook_delivery: how fast events become webhook deliveries. One tenant of
 * its own, one endpoint for every event type pointing at a loopback receiver
 * (bench/receiver.ts, answers 204), and an admin API key that creates the
 * events through the API as fast as it allows at a fixed concurrency.
 * Creation and delivery run at the same time on the same server, as they do
 * in production.
 *
 * The events are `webhook.test` (POST /api/v1/webhooks/endpoints/{id}/test):
 * the cheapest event, and one that takes no row lock. tenant.updated would
 * queue every caller on the tenant row, which caps creation and puts the lock
 * wait into the lag (see below); past creation, both go through the same
 * dispatcher and delivery jobs.
 *
 * Lag is the receiver's arrival time minus the payload's `timestamp`, the
 * event's occurred_at (the PostgreSQL now() of the transaction that wrote it,
 * on the same clock as the receiver's; it precedes the commit by the rest of
 * that short transaction). The `webhook-timestamp` header would not do: it is
 * the attempt's send time, in whole seconds.
 */
export async function webhookDelivery(ctx: EventScenarioContext): Promise<Observation> {
  const { events, concurrency, warmupEvents, createSeconds, waitSeconds } = ctx.settings.webhooks;
  console.error(`\nwebhook_delivery: ${events} events, ${concurrency} concurrent callers`);
  const receiver = await startReceiver();
  try {
    const tenantId = await createTenant(ctx.baseUrl, ctx.owner.cookie, 'Webhook bench', 'webhook-bench');
    const key = await createApiKey(ctx.baseUrl, ctx.owner.cookie, tenantId, {
      name: 'webhook bench',
      role: 'admin',
      scopes: ['webhooks:write'],
    });
    const endpoint = await callApi<{ id: string; secret: string }>(
      ctx.baseUrl,
      'POST',
      '/api/v1/webhooks/endpoints',
      { cookie: ctx.owner.cookie, 'x-tenant-id': tenantId },
      { url: `${receiver.url}/hooks`, eventTypes: ['*'] },
    );
    receiver.trust(endpoint.secret);
    const arrivedSince = (since: number) =>
      [...receiver.arrivals.values()].filter((a) => a.type === EVENT_TYPE && a.occurredAt >= since);

    // Unmeasured warm-up (JIT, connections, the job runner's first claims); measuring starts once it is delivered.
    const warmup = await closedLoop(() => sendTestEvent(ctx.baseUrl, key, endpoint.id).then(() => {}), {
      concurrency,
      durationMs: createSeconds * 1000,
      maxOperations: warmupEvents,
    });
    if (!(await waitUntil(() => arrivedSince(0).length >= warmup.operations, waitSeconds * 1000))) {
      throw new Error(`webhook_delivery: warm-up deliveries did not arrive within ${waitSeconds} s`);
    }

    const started = Date.now();
    const creation = await closedLoop(() => sendTestEvent(ctx.baseUrl, key, endpoint.id).then(() => {}), {
      concurrency,
      durationMs: createSeconds * 1000,
      maxOperations: events,
    });
    const created = creation.operations;
    const complete = await waitUntil(() => arrivedSince(started).length >= created, waitSeconds * 1000);
    const failure = receiver.failure();
    if (failure) throw new Error(`webhook_delivery: the receiver got an invalid delivery: ${failure.message}`);

    const arrived = arrivedSince(started);
    const lags = arrived.map((a) => a.receivedAt - a.occurredAt);
    const lastArrival = arrived.reduce((last, a) => Math.max(last, a.receivedAt), started);
    // From the first event request to the last delivery: a backlog left at the end of creation counts.
    const deliveredPerS = arrived.length === 0 ? 0 : arrived.length / ((lastArrival - started) / 1000);
    const share = arrived.length / created;
    const figures = {
      webhook_events: created,
      webhook_create_per_s: creation.rate,
      webhook_create_p50_ms: creation.p50Ms,
      webhook_create_p95_ms: creation.p95Ms,
      webhook_delivered_per_s: deliveredPerS,
      webhook_lag_p50_ms: percentile(lags, 50),
      webhook_lag_p99_ms: percentile(lags, 99),
      webhook_lag_max_ms: percentile(lags, 100),
      webhook_duplicates: receiver.duplicates(),
    };
    const summary = [
      `${created} events created at ${creation.rate.toFixed(0)}/s (request p50 ${creation.p50Ms.toFixed(1)} ms, p95 ${creation.p95Ms.toFixed(1)} ms)`,
      `${arrived.length} delivered at ${deliveredPerS.toFixed(0)}/s${complete ? '' : ` (gave up after ${waitSeconds} s)`}, ` +
        `${receiver.duplicates()} duplicates; lag event to receipt p50 ${figures.webhook_lag_p50_ms} ms, ` +
        `p99 ${figures.webhook_lag_p99_ms} ms, max ${figures.webhook_lag_max_ms} ms`,
    ];
    for (const line of summary) console.error(`  ${line}`);
    return {
      name: 'webhook_delivery',
      ratios: { webhook_delivered_share: share, webhook_delivery_vs_creation: deliveredPerS / creation.rate },
      figures,
      summary,
    };
  } finally {
    await receiver.stop();
  }
}
