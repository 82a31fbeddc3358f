import { router } from '../../api/procedures.ts';
import { activitiesRouter } from './activities/procedures.ts';
import { companiesRouter } from './companies/procedures.ts';
import { contactsRouter } from './contacts/procedures.ts';
import { customFieldsRouter } from './custom-fields/procedures.ts';
import { leadsRouter } from './leads/procedures.ts';
import { pipelinesRouter } from './pipelines/procedures.ts';
import { searchRouter } from './search/procedures.ts';

/** The CRM: every resource's router, wired under `crm.` (tRPC) and `/crm/...` (REST). */
export const crmRouter = router({
  contacts: contactsRouter,
  companies: companiesRouter,
  pipelines: pipelinesRouter,
  leads: leadsRouter,
  activities: activitiesRouter,
  customFields: customFieldsRouter,
  search: searchRouter,
});
