import type { ReactNode } from 'react';
import { type MessageKey, useI18n } from '../../i18n/index.tsx';
import { Link } from '../../router.tsx';
import { PageTitle } from '../../ui/index.tsx';
import { Agents } from './agents.tsx';
import { ConversationDetail, Conversations } from './conversations.tsx';
import { Costs } from './costs.tsx';
import { Knowledge } from './knowledge.tsx';
import { Meetings } from './meetings.tsx';
import { WidgetDetail, Widgets } from './widgets.tsx';

const TABS: { to: string; label: MessageKey }[] = [
  { to: '/ai/agents', label: 'Agents' },
  { to: '/ai/knowledge', label: 'Knowledge base' },
  { to: '/ai/widgets', label: 'Widgets' },
  { to: '/ai/conversations', label: 'Conversations' },
  { to: '/ai/meetings', label: 'Meetings' },
  { to: '/ai/costs', label: 'Costs' },
];

const isCurrent = (tab: { to: string }, path: string) => path === tab.to || path.startsWith(`${tab.to}/`);

function AiTabs({ path }: { path: string }) {
  const { t } = useI18n();
  return (
    <nav className="tabs" aria-label={t('AI assistant')}>
      {TABS.map((tab) => (
        <Link key={tab.to} to={tab.to} className="tab" aria-current={isCurrent(tab, path) ? 'page' : undefined}>
          {t(tab.label)}
        </Link>
      ))}
    </nav>
  );
}

const UUID = '([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})';

/** The screen for an /ai/... path, or null for a path that names none. */
function screenFor(path: string): ReactNode {
  const widget = path.match(new RegExp(`^/ai/widgets/${UUID}$`));
  if (widget?.[1]) return <WidgetDetail key={widget[1]} id={widget[1]} />;
  const conversation = path.match(new RegExp(`^/ai/conversations/${UUID}$`));
  if (conversation?.[1]) return <ConversationDetail key={conversation[1]} id={conversation[1]} />;
  switch (path) {
    case '/ai':
    case '/ai/agents':
      return <Agents />;
    case '/ai/knowledge':
      return <Knowledge />;
    case '/ai/widgets':
      return <Widgets />;
    case '/ai/conversations':
      return <Conversations />;
    case '/ai/meetings':
      return <Meetings />;
    case '/ai/costs':
      return <Costs />;
    default:
      return null;
  }
}

/** The AI assistant's screens (one file each) below one row of tabs; the heading names the current one. */
export function AiScreens({ path }: { path: string }) {
  const { t } = useI18n();
  const screen = screenFor(path);
  if (!screen) return <PageTitle>{t('Page not found')}</PageTitle>;
  const current = TABS.find((tab) => isCurrent(tab, path)) ?? TABS[0];
  return (
    <>
      {/* Keyed by path: the heading takes focus again on every tab, so screen readers announce the new screen. */}
      <PageTitle key={path}>{t(current?.label ?? 'AI assistant')}</PageTitle>
      <AiTabs path={path} />
      {screen}
    </>
  );
}
