import { useQuery } from '@tanstack/react-query';
import { keys, trpc } from '../../api.ts';
import { useTenantId } from '../../session.tsx';

/**
 * The agents this tenant may use (its own and those shared with it) and its widgets, for pickers and for
 * showing names next to ids. The first 100 of each: a picker longer than that needs a search, not a list.
 */
export function useAgentChoices() {
  const tenantId = useTenantId();
  return useQuery({
    queryKey: [...keys.scoped(tenantId, 'ai-agents'), 'choices'],
    queryFn: () => trpc.ai.agents.list.query({ owner: 'all', sort: 'name', limit: 100 }),
    select: (page) => page.items,
  });
}

export function useWidgetChoices() {
  const tenantId = useTenantId();
  return useQuery({
    queryKey: [...keys.scoped(tenantId, 'ai-widgets'), 'choices'],
    queryFn: () => trpc.ai.widgets.list.query({ sort: 'name', limit: 100 }),
    select: (page) => page.items,
  });
}
