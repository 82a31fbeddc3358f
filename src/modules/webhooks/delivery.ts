import { and, eq, sql } from 'drizzle-orm';
import { recordAudit } from '../../audit/record.ts';
import type { Config } from '../../config.ts';
import type { SecretBox } from '../../crypto/secret-box.ts';
import type { Tx } from '../../db/tenant.ts';
import type { DispatchedEvent } from '../../events/dispatch.ts';
import { emitEvent } from '../../events/emit.ts';
import { matchesFilter } from '../../events/filter.ts';
import { JOBS_CHANNEL, type JobHandler, type JobOutcome } from '../../jobs/runner.ts';
import { jobs } from '../../jobs/schema.ts';
import type { Logger } from '../../logger.ts';
import { type OutboundPolicy, sendOutbound } from '../../webhooks/safe-http.ts';
import { webhookHeaders } from '../../webhooks/signature.ts';
import { webhookAttempts, webhookDeliveries, webhookEndpoints } from './schema.ts';

export const DELIVER_WEBHOOK_JOB = 'deliver_webhook';
export const TEST_EVENT_TYPE = 'webhook.test';

/** Delay before attempt n+1 after attempt n failed (n from 1): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const RETRY_SCHEDULE_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

/** The `webhook-id` header: stable for a delivery across retries and replays. */
export const messageId = (deliveryId: string) => `msg_${deliveryId.replaceAll('-', '')}`;

/** Creates the deliveries of one event (idempotent: one per event and endpoint) and queues them. */
export async function createDeliveries(event: DispatchedEvent, tx: Tx): Promise<void> {
  const endpoints = await tx
    .select({ id: webhookEndpoints.id, eventTypes: webhookEndpoints.eventTypes })
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.tenantId, event.tenantId), eq(webhookEndpoints.enabled, true)));
  // A test event goes only to the endpoint it was sent to.
  const targets =
    event.type === TEST_EVENT_TYPE
      ? endpoints.filter((e) => e.id === event.data.endpointId)
      : endpoints.filter((e) => matchesFilter(e.eventTypes, event.type));
  if (targets.length === 0) return;
  const payload = JSON.stringify({ type: event.type, timestamp: event.occurredAt.toISOString(), data: event.data });
  const created = await tx
    .insert(webhookDeliveries)
    .values(
      targets.map((e) => ({ tenantId: event.tenantId, endpointId: e.id, eventId: event.id, eventType: event.type, payload })),
    )
    .onConflictDoNothing()
    .returning({ id: webhookDeliveries.id });
  if (created.length === 0) return;
  await tx.insert(jobs).values(created.map((d) => ({ tenantId: event.tenantId, kind: DELIVER_WEBHOOK_JOB, refId: d.id })));
  // Wakes a runner at commit, so the first attempt does not wait for the next poll.
  await tx.execute(sql`select pg_notify(${JOBS_CHANNEL}, '')`);
}

export interface DeliveryDeps {
  config: Config;
  secrets: SecretBox;
  policy: OutboundPolicy;
  logger: Logger;
  /** Hears each attempt's result, for metrics. */
  onAttempt?: (result: 'succeeded' | 'failed' | 'gone' | 'error') => void;
}

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** ±10 % so that many deliveries failing together do not retry in lockstep. */
const jitter = (ms: number) => Math.round(ms * (0.9 + Math.random() * 0.2));

/**
 * Sends one attempt of one delivery, outside any transaction, then records
 * it. 2xx succeeds; 410 disables the endpoint; anything else retries on the
 * schedule (or later, if Retry-After says so) until the schedule runs out.
 * An endpoint failing without a success for WEBHOOK_DISABLE_AFTER_HOURS is
 * disabled, with an event and an audit entry.
 */
export function deliverWebhookHandler(deps: DeliveryDeps): JobHandler {
  const { config } = deps;
  return async ({ job, inTenant }): Promise<JobOutcome> => {
    const loaded = await inTenant(async (tx) => {
      const [row] = await tx
        .select({
          id: webhookDeliveries.id,
          status: webhookDeliveries.status,
          attempts: webhookDeliveries.attempts,
          payload: webhookDeliveries.payload,
          endpointId: webhookEndpoints.id,
          url: webhookEndpoints.url,
          enabled: webhookEndpoints.enabled,
          secret: webhookEndpoints.secretCiphertext,
          previousSecret: webhookEndpoints.previousSecretCiphertext,
          previousSecretExpiresAt: webhookEndpoints.previousSecretExpiresAt,
          failingSince: webhookEndpoints.failingSince,
        })
        .from(webhookDeliveries)
        .innerJoin(
          webhookEndpoints,
          and(eq(webhookEndpoints.tenantId, webhookDeliveries.tenantId), eq(webhookEndpoints.id, webhookDeliveries.endpointId)),
        )
        .where(and(eq(webhookDeliveries.tenantId, job.tenantId), eq(webhookDeliveries.id, job.refId)));
      if (row && row.status === 'pending' && !row.enabled) {
        await tx
          .update(webhookDeliveries)
          .set({ status: 'skipped', completedAt: new Date() })
          .where(and(eq(webhookDeliveries.tenantId, job.tenantId), eq(webhookDeliveries.id, row.id)));
      }
      return row;
    });
    if (loaded?.status !== 'pending' || !loaded.enabled) return { done: true };

    const secrets = [deps.secrets.open(loaded.secret)];
    if (loaded.previousSecret && loaded.previousSecretExpiresAt && loaded.previousSecretExpiresAt > new Date()) {
      // A previous secret sealed under an older AUTH_SECRET cannot be opened; signing with the current one is enough.
      try {
        secrets.push(deps.secrets.open(loaded.previousSecret));
      } catch {
        deps.logger.warn(
          { endpointId: loaded.endpointId },
          'previous webhook secret cannot be opened; signing with the current one only',
        );
      }
    }
    const timestamp = Math.floor(Date.now() / 1000);
    const started = performance.now();
    let statusCode: number | null = null;
    let excerpt: string | null = null;
    let error: string | null = null;
    let retryAfter: number | undefined;
    try {
      const response = await sendOutbound(
        {
          url: loaded.url,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'Palisade-Webhooks/1',
            ...webhookHeaders(secrets, messageId(loaded.id), timestamp, loaded.payload),
          },
          body: loaded.payload,
          timeoutMs: config.WEBHOOK_TIMEOUT_MS,
        },
        deps.policy,
      );
      statusCode = response.status;
      excerpt = response.bodyExcerpt.slice(0, 1024);
      retryAfter = retryAfterMs(response.headers['retry-after']);
    } catch (cause) {
      error = (cause instanceof Error ? cause.message : String(cause)).slice(0, 500);
    }
    const latencyMs = Math.round(performance.now() - started);
    const attempt = loaded.attempts + 1;
    const succeeded = statusCode !== null && statusCode >= 200 && statusCode < 300;
    const gone = statusCode === 410;
    deps.onAttempt?.(succeeded ? 'succeeded' : gone ? 'gone' : statusCode === null ? 'error' : 'failed');
    const now = new Date();
    const failingSince = succeeded ? null : (loaded.failingSince ?? now);
    const failingTooLong =
      failingSince !== null && now.getTime() - failingSince.getTime() >= config.WEBHOOK_DISABLE_AFTER_HOURS * 3_600_000;
    const scheduled = RETRY_SCHEDULE_MS[attempt - 1];
    const exhausted = scheduled === undefined;
    const final = succeeded || gone || exhausted || failingTooLong;
    const delay = scheduled === undefined ? 0 : Math.max(jitter(scheduled), retryAfter ?? 0) * config.WEBHOOK_TIME_SCALE;
    const nextAttemptAt = final ? null : new Date(now.getTime() + delay);

    await inTenant(async (tx) => {
      await tx.insert(webhookAttempts).values({
        tenantId: job.tenantId,
        deliveryId: loaded.id,
        attempt,
        statusCode,
        latencyMs,
        responseExcerpt: excerpt,
        error,
      });
      await tx
        .update(webhookDeliveries)
        .set({
          attempts: attempt,
          lastStatusCode: statusCode,
          status: succeeded ? 'succeeded' : final ? 'failed' : 'pending',
          nextAttemptAt,
          completedAt: final ? now : null,
        })
        .where(and(eq(webhookDeliveries.tenantId, job.tenantId), eq(webhookDeliveries.id, loaded.id)));
      const disable = gone || failingTooLong;
      await tx
        .update(webhookEndpoints)
        .set({
          failingSince,
          ...(disable ? { enabled: false, disabledReason: gone ? 'receiver answered 410 Gone' : 'failing continuously' } : {}),
          updatedAt: sql`now()`,
        })
        .where(and(eq(webhookEndpoints.tenantId, job.tenantId), eq(webhookEndpoints.id, loaded.endpointId)));
      if (disable) {
        const actor = { tenantId: job.tenantId, userId: null, requestId: null };
        await recordAudit(
          tx,
          { ...actor, requestId: `job:${job.id}` },
          {
            action: 'webhook_endpoint.disabled',
            targetType: 'webhook_endpoint',
            targetId: loaded.endpointId,
            data: { reason: gone ? 'gone' : 'failing' },
          },
        );
        await emitEvent(tx, actor, 'webhook_endpoint.disabled', { id: loaded.endpointId, reason: gone ? 'gone' : 'failing' });
      }
    });
    return final ? { done: true } : { retryAt: nextAttemptAt as Date, ...(error ? { error } : {}) };
  };
}
