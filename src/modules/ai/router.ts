import { router } from '../../api/procedures.ts';
import { agentsRouter } from './agents/procedures.ts';
import { conversationsRouter } from './conversations/procedures.ts';
import { costsRouter } from './costs/router.ts';
import { knowledgeRouter } from './knowledge/router.ts';
import { meetingsRouter } from './meetings/router.ts';
import { widgetsRouter } from './widgets/procedures.ts';

/** The AI assistant module, wired under `ai.` (tRPC) and `/ai/...` (REST). */
export const aiRouter = router({
  agents: agentsRouter,
  conversations: conversationsRouter,
  widgets: widgetsRouter,
  knowledge: knowledgeRouter,
  costs: costsRouter,
  meetings: meetingsRouter,
});
