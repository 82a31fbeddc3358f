import { z } from 'zod';
import { adminProcedure, router } from '../../api/procedures.ts';
import { withTenant } from '../../db/tenant.ts';

export const windowInput = z.object({ windowMinutes: z.coerce.number().int().min(1).max(60).default(15) });
export const slowQueryInput = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) });

export const procedureStatsOutput = z.object({
  procedure: z.string(),
  count: z.number().int(),
  errors: z.number().int(),
  errorRate: z.number(),
  p50Ms: z.number(),
  p95Ms: z.number(),
  p99Ms: z.number(),
});

export const slowQueryOutput = z.object({
  at: z.iso.datetime(),
  requestId: z.string().nullable(),
  procedure: z.string().nullable(),
  durationMs: z.number(),
  fingerprint: z.string(),
  statements: z.array(z.string()),
});

const tags = ['observability'];

/**
 * A tenant's own view of how Palisade serves it, from this process's memory
 * (docs/operations.md explains the per-process scope). Filtered to the
 * caller's tenant; the figures of other tenants are never in reach.
 *
 * They read no table, yet run inside a tenant transaction: opening it is where an API key is checked
 * again (its resolution is remembered per process, auth/principal.ts), so a key revoked or expired
 * since is refused here as on every other procedure.
 */
export const observabilityRouter = router({
  stats: adminProcedure
    .meta({
      scope: 'audit:read',
      summary: 'Request count, error rate and latency percentiles by procedure over recent minutes',
      tags,
      rest: { method: 'GET', path: '/observability/stats' },
    })
    .input(windowInput)
    .output(z.object({ windowMinutes: z.number().int(), procedures: z.array(procedureStatsOutput) }))
    .query(({ ctx, input }) =>
      withTenant(ctx.principal, async () => ({
        windowMinutes: input.windowMinutes,
        procedures: ctx.services.telemetry.stats
          .snapshot(input.windowMinutes, ctx.principal.tenantId)
          .map(({ tenantId: _tenant, ...rest }) => rest),
      })),
    ),

  slowQueries: adminProcedure
    .meta({
      scope: 'audit:read',
      summary: "The tenant's recent slow transactions: statement shapes and fingerprints, never values",
      tags,
      rest: { method: 'GET', path: '/observability/slow-queries' },
    })
    .input(slowQueryInput)
    .output(z.object({ thresholdMs: z.number(), items: z.array(slowQueryOutput) }))
    .query(({ ctx, input }) =>
      withTenant(ctx.principal, async () => ({
        thresholdMs: ctx.services.telemetry.slowQueries.thresholdMs,
        items: ctx.services.telemetry.slowQueries
          .list(input.limit, ctx.principal.tenantId)
          .map(({ tenantId: _tenant, ...rest }) => rest),
      })),
    ),
});
