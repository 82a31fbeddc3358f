import { useMutation, useQuery } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { keys, queryClient, trpc } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { Link, useLocation } from '../../router.tsx';
import { useSession, useTenantId } from '../../session.tsx';
import { Badge, Empty, ErrorState, Field, Loading, Notice, PagedList, PageTitle, Section, usePaged } from '../../ui/index.tsx';

/**
 * Simple screens over the AI assistant API (agents, knowledge base, widgets, conversations, meetings,
 * costs). Items are read loosely (`row()`): the AI module was still changing when these were written.
 */
type Row = Record<string, unknown>;
const row = (item: unknown) => item as Row;
const text = (value: unknown) => (value === null || value === undefined || value === '' ? '—' : String(value));

function AiTabs() {
  const { t } = useI18n();
  const { path } = useLocation();
  const tabs = [
    { to: '/ai/agents', label: t('Agents') },
    { to: '/ai/knowledge', label: t('Knowledge base') },
    { to: '/ai/widgets', label: t('Widgets') },
    { to: '/ai/conversations', label: t('Conversations') },
    { to: '/ai/meetings', label: t('Meetings') },
    { to: '/ai/costs', label: t('Costs') },
  ];
  return (
    <nav className="tabs" aria-label={t('AI')}>
      {tabs.map((tab) => (
        <Link key={tab.to} to={tab.to} className="tab" aria-current={path === tab.to ? 'page' : undefined}>
          {tab.label}
        </Link>
      ))}
    </nav>
  );
}

function SimpleList({ items, render }: { items: unknown[]; render: (item: Row) => ReactNode }) {
  return (
    <ul className="list">
      {items.map((item) => (
        <li key={String(row(item).id)}>{render(row(item))}</li>
      ))}
    </ul>
  );
}

function Agents() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const session = useSession();
  const key = keys.scoped(tenantId, 'ai-agents');
  const paged = usePaged(key, (cursor) => trpc.ai.agents.list.query({ cursor, limit: 50 }));
  const [name, setName] = useState('');
  const [systemPrompt, setSystemPrompt] = useState('You are a helpful assistant.');
  const create = useMutation({
    mutationFn: () => trpc.ai.agents.create.mutate({ name, systemPrompt }),
    onSuccess: () => {
      setName('');
      void queryClient.invalidateQueries({ queryKey: key });
    },
  });
  return (
    <>
      {session.isAdmin && (
        <Section title={t('New agent')}>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              create.mutate();
            }}
          >
            <Field label={t('Name')}>
              {(p) => <input {...p} required value={name} onChange={(e) => setName(e.target.value)} />}
            </Field>
            <Field label={t('Instructions')}>
              {(p) => (
                <textarea {...p} rows={3} required value={systemPrompt} onChange={(e) => setSystemPrompt(e.target.value)} />
              )}
            </Field>
            <button type="submit" disabled={create.isPending}>
              {t('Create agent')}
            </button>
            <Notice error={create.error} />
          </form>
        </Section>
      )}
      <Section title={t('Agents')}>
        <PagedList paged={paged} empty={t('No agents yet.')}>
          {(items) => (
            <SimpleList
              items={items}
              render={(a) => (
                <>
                  <strong>{text(a.name)}</strong> <Badge>{text(a.model)}</Badge>{' '}
                  {a.sharing ? <small>{text(a.sharing)}</small> : null}
                </>
              )}
            />
          )}
        </PagedList>
      </Section>
    </>
  );
}

function Knowledge() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const key = keys.scoped(tenantId, 'ai-knowledge');
  const paged = usePaged(key, (cursor) => trpc.ai.knowledge.documents.list.query({ cursor, limit: 50 }));
  const [title, setTitle] = useState('');
  const [content, setContent] = useState('');
  const [q, setQ] = useState('');
  const create = useMutation({
    mutationFn: () => trpc.ai.knowledge.documents.create.mutate({ title, content }),
    onSuccess: () => {
      setTitle('');
      setContent('');
      void queryClient.invalidateQueries({ queryKey: key });
    },
  });
  const search = useMutation({ mutationFn: () => trpc.ai.knowledge.search.query({ q, limit: 5 }) });
  const results = (search.data as { items?: unknown[]; results?: unknown[] } | undefined) ?? {};
  const hits = results.items ?? results.results ?? [];
  return (
    <>
      <div className="grid">
        <Section title={t('Add a document')}>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              create.mutate();
            }}
          >
            <Field label={t('Title')}>
              {(p) => <input {...p} required value={title} onChange={(e) => setTitle(e.target.value)} />}
            </Field>
            <Field label={t('Content (Markdown)')}>
              {(p) => <textarea {...p} rows={5} required value={content} onChange={(e) => setContent(e.target.value)} />}
            </Field>
            <button type="submit" disabled={create.isPending}>
              {t('Add document')}
            </button>
            <Notice error={create.error} />
          </form>
        </Section>
        <Section title={t('Search playground')}>
          <form
            className="row"
            onSubmit={(e) => {
              e.preventDefault();
              search.mutate();
            }}
          >
            <Field label={t('Question')}>
              {(p) => <input {...p} required value={q} onChange={(e) => setQ(e.target.value)} />}
            </Field>
            <button type="submit" disabled={search.isPending}>
              {t('Search')}
            </button>
          </form>
          <Notice error={search.error} />
          {search.isSuccess &&
            (hits.length === 0 ? (
              <Empty>{t('Nothing found.')}</Empty>
            ) : (
              <ol className="timeline">
                {hits.map((hit, index) => (
                  <li key={String(row(hit).chunkId ?? row(hit).id ?? index)}>
                    <strong>{text(row(hit).title ?? row(hit).documentTitle)}</strong>
                    <p>{text(row(hit).content ?? row(hit).text).slice(0, 400)}</p>
                  </li>
                ))}
              </ol>
            ))}
        </Section>
      </div>
      <Section title={t('Documents')}>
        <PagedList paged={paged} empty={t('No documents yet.')}>
          {(items) => (
            <SimpleList
              items={items}
              render={(d) => (
                <>
                  <strong>{text(d.title)}</strong> <Badge>{text(d.status)}</Badge> <small>{text(d.category)}</small>
                </>
              )}
            />
          )}
        </PagedList>
      </Section>
    </>
  );
}

function Widgets() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const key = keys.scoped(tenantId, 'ai-widgets');
  const paged = usePaged(key, (cursor) => trpc.ai.widgets.list.query({ cursor, limit: 50 }));
  return (
    <Section title={t('Widgets')}>
      <PagedList paged={paged} empty={t('No widgets yet.')}>
        {(items) => (
          <SimpleList
            items={items}
            render={(w) => (
              <>
                <strong>{text(w.name)}</strong>{' '}
                {w.active ? <Badge tone="good">{t('enabled')}</Badge> : <Badge tone="warn">{t('disabled')}</Badge>}
                <br />
                <small>
                  {t('Allowed domains')}: {Array.isArray(w.allowedDomains) ? w.allowedDomains.join(', ') || '—' : '—'}
                </small>
                {typeof w.embedSnippet === 'string' && (
                  <details>
                    <summary>{t('Embed snippet')}</summary>
                    <pre>{w.embedSnippet}</pre>
                  </details>
                )}
              </>
            )}
          />
        )}
      </PagedList>
    </Section>
  );
}

function Transcript({ id }: { id: string }) {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const conversation = useQuery({
    queryKey: [...keys.scoped(tenantId, 'ai-conversations'), id],
    queryFn: () => trpc.ai.conversations.get.query({ id }),
  });
  if (conversation.isPending) return <Loading />;
  if (conversation.isError) return <ErrorState error={conversation.error} />;
  const messages = row(conversation.data).messages;
  if (!Array.isArray(messages) || messages.length === 0) return <Empty>{t('No messages.')}</Empty>;
  return (
    <ol className="timeline">
      {messages.map((m, index) => (
        <li key={String(row(m).id ?? index)}>
          <Badge>{text(row(m).role)}</Badge> {text(row(m).content)}
        </li>
      ))}
    </ol>
  );
}

function Conversations() {
  const { t, formatDate } = useI18n();
  const tenantId = useTenantId();
  const paged = usePaged(keys.scoped(tenantId, 'ai-conversations'), (cursor) =>
    trpc.ai.conversations.list.query({ cursor, limit: 50 }),
  );
  const [open, setOpen] = useState<string | null>(null);
  return (
    <Section title={t('Conversations')}>
      <PagedList paged={paged} empty={t('No conversations yet.')}>
        {(items) => (
          <SimpleList
            items={items}
            render={(c) => (
              <>
                <div className="row spread">
                  <span>
                    <strong>{text(c.title)}</strong> <Badge>{text(c.status)}</Badge>{' '}
                    <small>{formatDate(typeof c.createdAt === 'string' ? c.createdAt : null)}</small>
                  </span>
                  <button
                    type="button"
                    className="secondary"
                    aria-expanded={open === c.id}
                    onClick={() => setOpen(open === c.id ? null : String(c.id))}
                  >
                    {t('Transcript')}
                  </button>
                </div>
                {open === c.id && <Transcript id={String(c.id)} />}
              </>
            )}
          />
        )}
      </PagedList>
    </Section>
  );
}

function Meetings() {
  const { t, formatDate } = useI18n();
  const tenantId = useTenantId();
  const paged = usePaged(keys.scoped(tenantId, 'ai-meetings'), (cursor) => trpc.ai.meetings.list.query({ cursor, limit: 50 }));
  return (
    <Section title={t('Meetings')}>
      <PagedList paged={paged} empty={t('No meetings yet.')}>
        {(items) => (
          <SimpleList
            items={items}
            render={(m) => (
              <>
                <strong>{text(m.title)}</strong> <Badge>{text(m.status)}</Badge>{' '}
                <small>{formatDate(typeof m.scheduledAt === 'string' ? m.scheduledAt : null)}</small>
              </>
            )}
          />
        )}
      </PagedList>
    </Section>
  );
}

function Costs() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const summary = useQuery({
    queryKey: [...keys.scoped(tenantId, 'ai-costs'), 'summary'],
    queryFn: () => trpc.ai.costs.summary.query({ period: 'month' }),
  });
  const budget = useQuery({
    queryKey: [...keys.scoped(tenantId, 'ai-costs'), 'budget'],
    queryFn: () => trpc.ai.costs.budget.get.query(),
  });
  return (
    <div className="grid">
      <Section title={t('Costs this month')}>
        {summary.isPending ? (
          <Loading />
        ) : summary.isError ? (
          <ErrorState error={summary.error} />
        ) : (
          <pre>{JSON.stringify(summary.data, null, 2)}</pre>
        )}
      </Section>
      <Section title={t('Budget')}>
        {budget.isPending ? (
          <Loading />
        ) : budget.isError ? (
          <ErrorState error={budget.error} />
        ) : (
          <pre>{JSON.stringify(budget.data, null, 2)}</pre>
        )}
      </Section>
    </div>
  );
}

export function AiScreens({ path }: { path: string }) {
  const { t } = useI18n();
  const screens: Record<string, () => ReactNode> = {
    '/ai/agents': () => <Agents />,
    '/ai/knowledge': () => <Knowledge />,
    '/ai/widgets': () => <Widgets />,
    '/ai/conversations': () => <Conversations />,
    '/ai/meetings': () => <Meetings />,
    '/ai/costs': () => <Costs />,
  };
  const screen = screens[path] ?? screens['/ai/agents'];
  return (
    <>
      <PageTitle>{t('AI assistant')}</PageTitle>
      <AiTabs />
      {screen?.()}
    </>
  );
}
