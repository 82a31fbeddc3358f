import { router } from '../../api/procedures.ts';
import { campaignProcedures } from './campaigns.ts';
import { gatewayRouter } from './gateway.ts';
import { groupsRouter } from './groups.ts';
import { messagesRouter, optOutsRouter } from './messages.ts';
import { templatesRouter } from './templates.ts';

/** Messaging campaigns, wired under `campaigns.` (tRPC) and `/campaigns/...` (REST). */
export const campaignsRouter = router({
  groups: groupsRouter,
  templates: templatesRouter,
  messages: messagesRouter,
  optOuts: optOutsRouter,
  gateway: gatewayRouter,
  ...campaignProcedures,
});
