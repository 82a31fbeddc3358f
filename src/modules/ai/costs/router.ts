import { router } from '../../../api/procedures.ts';
import { budgetProcedures } from './budget.ts';
import { costEventProcedures } from './events.ts';

/**
 * Cost tracking and budgets: `ai.costs.events`, `ai.costs.summary` and `ai.costs.budget.*`,
 * served under `/ai/costs/...` and `/ai/budget...` (REST).
 */
export const costsRouter = router({
  ...costEventProcedures,
  budget: router(budgetProcedures),
});
