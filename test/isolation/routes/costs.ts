import type { TenantFixture } from '../../support/client.ts';
import { jsonBody, type RouteKey, type TenantRouteCase } from '../tenant-procedures.ts';
import { meetingIn } from './meetings.ts';

/**
 * A's budget, set by A's admin. The limit is an odd amount that appears in a
 * response only if A's budget is in it.
 */
async function budgetIn(a: TenantFixture, monthlyLimit: number): Promise<void> {
  const res = await a.admin.request('PUT', '/api/v1/ai/budget', {
    monthlyLimit,
    alertThresholds: [50, 80, 100],
    hardLimit: false,
  });
  if (res.status !== 200) throw new Error(`arrange: budget failed ${res.status} ${JSON.stringify(res.body)}`);
}

/**
 * Costs in A through the public API: an ended meeting records its LiveKit
 * participant-minutes. With a tiny limit the cost crosses every threshold, so
 * A has open alerts too.
 */
async function costsIn(a: TenantFixture, participantMinutes: number) {
  await budgetIn(a, 0.01);
  const meeting = await meetingIn(a, 'ended', participantMinutes);
  const alerts = await a.admin.get('/api/v1/ai/budget/alerts?limit=100');
  if (alerts.status !== 200 || alerts.body.items.length === 0) {
    throw new Error(`arrange: no budget alerts ${alerts.status} ${JSON.stringify(alerts.body)}`);
  }
  return { costId: meeting.costId as string, alertIds: (alerts.body.items as { id: string }[]).map((x) => x.id) };
}

/** An odd number of participant-minutes: its digits appear in a response only if A's costs are in it. */
const oddUnits = () => Number(`7${String(Math.floor(Math.random() * 900)).padStart(3, '0')}.37`);

/** Cross-tenant cases for the cost and budget routes (see tenant-procedures.ts for what each field means). */
export const COSTS_ROUTES: Record<RouteKey, TenantRouteCase> = {
  'GET /api/v1/ai/costs/events': {
    shape: 'list',
    arrange: async ({ a }) => {
      const { costId } = await costsIn(a, oddUnits());
      return { input: { limit: 100 }, markers: [costId] };
    },
  },
  // Aggregates of the active tenant: no id to aim at A; the odd unit count is A's marker.
  'GET /api/v1/ai/costs/summary': {
    shape: 'active-tenant',
    arrange: async ({ a }) => {
      const units = oddUnits();
      await costsIn(a, units);
      return { input: { period: 'day' }, markers: [String(units)] };
    },
  },
  'GET /api/v1/ai/budget': {
    shape: 'active-tenant',
    arrange: async ({ a }) => {
      const limit = Number(`4${String(Math.floor(Math.random() * 900)).padStart(3, '0')}.17`);
      await budgetIn(a, limit);
      return { markers: [String(limit)] };
    },
  },
  'PUT /api/v1/ai/budget': {
    shape: 'active-tenant',
    arrange: async ({ a }) => {
      const limit = Number(`4${String(Math.floor(Math.random() * 900)).padStart(3, '0')}.17`);
      await budgetIn(a, limit);
      return {
        input: jsonBody({ monthlyLimit: 25, hardLimit: true, alertThresholds: [50, 90] }),
        markers: [String(limit)],
      };
    },
  },
  'GET /api/v1/ai/budget/alerts': {
    shape: 'list',
    arrange: async ({ a }) => {
      const { alertIds } = await costsIn(a, oddUnits());
      return { input: { limit: 100 }, markers: alertIds };
    },
  },
  'POST /api/v1/ai/budget/alerts/{id}/acknowledge': {
    shape: 'object',
    arrange: async ({ a }) => {
      const { alertIds } = await costsIn(a, oddUnits());
      const id = alertIds[0] as string;
      return { params: { id }, markers: [id] };
    },
  },
  'POST /api/v1/ai/budget/alerts/{id}/resolve': {
    shape: 'object',
    arrange: async ({ a }) => {
      const { alertIds } = await costsIn(a, oddUnits());
      const id = alertIds[0] as string;
      return { params: { id }, markers: [id] };
    },
  },
};
