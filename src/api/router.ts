import { aiRouter } from '../modules/ai/router.ts';
import { apiKeysRouter } from '../modules/api-keys/procedures.ts';
import { auditRouter } from '../modules/audit/procedures.ts';
import { campaignsRouter } from '../modules/campaigns/router.ts';
import { crmRouter } from '../modules/crm/router.ts';
import { invitationsRouter } from '../modules/invitations/procedures.ts';
import { meRouter } from '../modules/me/procedures.ts';
import { membersRouter } from '../modules/members/procedures.ts';
import { observabilityRouter } from '../modules/observability/procedures.ts';
import { platformRouter } from '../modules/platform/procedures.ts';
import { realtimeRouter } from '../modules/realtime/procedures.ts';
import { tenantsRouter } from '../modules/tenants/procedures.ts';
import { webhooksRouter } from '../modules/webhooks/procedures.ts';
import { createCallerFactory, router } from './procedures.ts';

/** Every procedure of the API. Routers only wire; each module owns its procedures. */
export const appRouter = router({
  me: meRouter,
  tenants: tenantsRouter,
  members: membersRouter,
  invitations: invitationsRouter,
  apiKeys: apiKeysRouter,
  audit: auditRouter,
  webhooks: webhooksRouter,
  observability: observabilityRouter,
  platform: platformRouter,
  crm: crmRouter,
  realtime: realtimeRouter,
  campaigns: campaignsRouter,
  ai: aiRouter,
});

export type AppRouter = typeof appRouter;

/** Calls procedures directly with a context: used by the REST adapter and by procedure tests. */
export const createCaller = createCallerFactory(appRouter);
