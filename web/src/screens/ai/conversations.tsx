import { useMutation, useQuery } from '@tanstack/react-query';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { httpErrorOf, keys, postEventStream, queryClient, type RouterInputs, type RouterOutputs, trpc } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { Link, navigate, useLocation } from '../../router.tsx';
import { useTenantId } from '../../session.tsx';
import {
  Badge,
  ConfirmButton,
  Empty,
  ErrorState,
  Field,
  FilterSelect,
  Loading,
  Notice,
  PagedList,
  Section,
  usePaged,
} from '../../ui/index.tsx';
import { useAgentChoices, useWidgetChoices } from './choices.tsx';
import { Snippet } from './snippet.tsx';

type ConversationFilter = Omit<RouterInputs['ai']['conversations']['list'], 'cursor' | 'limit' | 'sort'>;
type Transcript = RouterOutputs['ai']['conversations']['get'];
type Message = Transcript['messages'][number];
type ChatTurn = RouterOutputs['ai']['conversations']['send'];

const conversationsKey = (tenantId: string | null) => keys.scoped(tenantId, 'ai-conversations');

/** Starts a conversation with an agent and opens it. */
export function StartChatButton({ agent }: { agent: { id: string; name: string; active: boolean } }) {
  const { t } = useI18n();
  const start = useMutation({
    mutationFn: () =>
      trpc.ai.conversations.create.mutate({ agentId: agent.id, title: t('Chat with {name}', { name: agent.name }) }),
    onSuccess: (conversation) => navigate(`/ai/conversations/${conversation.id}`),
  });
  return (
    <>
      <button
        type="button"
        disabled={!agent.active || start.isPending}
        title={agent.active ? undefined : t('The agent is switched off.')}
        aria-label={t('Chat with {name}', { name: agent.name })}
        onClick={() => start.mutate()}
      >
        {t('Chat')}
      </button>
      {start.error && <ErrorState error={start.error} />}
    </>
  );
}

function NewConversation() {
  const { t } = useI18n();
  const agents = useAgentChoices();
  const [agentId, setAgentId] = useState('');
  const [title, setTitle] = useState('');
  const start = useMutation({
    mutationFn: () => trpc.ai.conversations.create.mutate({ agentId, title: title.trim() || null }),
    onSuccess: (conversation) => navigate(`/ai/conversations/${conversation.id}`),
  });
  const usable = (agents.data ?? []).filter((a) => a.active);
  return (
    <form
      className="row"
      aria-label={t('New conversation')}
      onSubmit={(e) => {
        e.preventDefault();
        start.mutate();
      }}
    >
      <Field label={t('Agent')}>
        {(p) => (
          <select {...p} required value={agentId} onChange={(e) => setAgentId(e.target.value)}>
            <option value="">{agents.isPending ? t('Loading…') : '—'}</option>
            {usable.map((a) => (
              <option key={a.id} value={a.id}>
                {a.owned ? a.name : t('{name} (shared)', { name: a.name })}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label={t('Title')}>
        {(p) => <input {...p} maxLength={300} value={title} onChange={(e) => setTitle(e.target.value)} />}
      </Field>
      <button type="submit" disabled={start.isPending || !agentId}>
        {t('Start conversation')}
      </button>
      <Notice error={start.error ?? agents.error} />
    </form>
  );
}

function Filters({ filter, onChange }: { filter: ConversationFilter; onChange(filter: ConversationFilter): void }) {
  const { t } = useI18n();
  const agents = useAgentChoices();
  const widgets = useWidgetChoices();
  return (
    <form className="row" aria-label={t('Filter conversations')} onSubmit={(e) => e.preventDefault()}>
      <FilterSelect
        label={t('Status')}
        value={filter.status}
        options={[
          { value: 'open', label: t('open') },
          { value: 'closed', label: t('closed') },
        ]}
        onChange={(status) => onChange({ ...filter, status })}
      />
      <FilterSelect
        label={t('Kind')}
        value={filter.mode}
        options={[
          { value: 'text', label: t('Chat') },
          { value: 'meeting', label: t('Meeting transcript') },
        ]}
        onChange={(mode) => onChange({ ...filter, mode })}
      />
      <FilterSelect
        label={t('Agent')}
        value={filter.agentId}
        options={(agents.data ?? []).map((a) => ({ value: a.id, label: a.name }))}
        onChange={(agentId) => onChange({ ...filter, agentId })}
      />
      <FilterSelect
        label={t('Widget')}
        value={filter.widgetId}
        options={(widgets.data ?? []).map((w) => ({ value: w.id, label: w.name }))}
        onChange={(widgetId) => onChange({ ...filter, widgetId })}
      />
    </form>
  );
}

export function Conversations() {
  const { t, formatDate, formatMoney } = useI18n();
  const tenantId = useTenantId();
  const agents = useAgentChoices();
  const widgets = useWidgetChoices();
  const { query } = useLocation();
  // A widget's page links here with ?widgetId=, to show that widget's conversations.
  const [filter, setFilter] = useState<ConversationFilter>(() => {
    const widgetId = query.get('widgetId');
    return widgetId && /^[0-9a-f-]{36}$/.test(widgetId) ? { widgetId } : {};
  });
  const paged = usePaged([...conversationsKey(tenantId), 'list', filter], (cursor) =>
    trpc.ai.conversations.list.query({ ...filter, sort: '-createdAt', cursor, limit: 25 }),
  );
  const agentName = (id: string | null) => agents.data?.find((a) => a.id === id)?.name ?? '—';
  const source = (c: (typeof paged.items)[number]) => {
    if (c.mode === 'meeting') return t('Meeting transcript');
    if (c.widgetId) return t('Widget {name}', { name: widgets.data?.find((w) => w.id === c.widgetId)?.name ?? '…' });
    return c.visitorId ? t('Widget visitor') : t('Dashboard or API');
  };
  return (
    <>
      <Section title={t('New conversation')}>
        <NewConversation />
      </Section>
      <Section title={t('Conversations')}>
        <Filters filter={filter} onChange={setFilter} />
        <PagedList paged={paged} empty={t('No conversations match.')}>
          {(items) => (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('Title')}</th>
                  <th scope="col">{t('Agent')}</th>
                  <th scope="col">{t('Source')}</th>
                  <th scope="col">{t('Status')}</th>
                  <th scope="col">{t('Messages')}</th>
                  <th scope="col">{t('Cost')}</th>
                  <th scope="col">{t('Last message')}</th>
                </tr>
              </thead>
              <tbody>
                {items.map((c) => (
                  <tr key={c.id}>
                    <td>
                      <Link to={`/ai/conversations/${c.id}`}>{c.title ?? t('Untitled conversation')}</Link>
                    </td>
                    <td>{agentName(c.agentId)}</td>
                    <td>{source(c)}</td>
                    <td>
                      <Badge tone={c.status === 'open' ? 'good' : 'neutral'}>{t(c.status)}</Badge>
                    </td>
                    <td>{c.totals.messages}</td>
                    <td>{formatMoney(c.totals.cost)}</td>
                    <td>{formatDate(c.lastMessageAt ?? c.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </PagedList>
      </Section>
    </>
  );
}

function Citations({ message }: { message: Message }) {
  const { t } = useI18n();
  if (message.citations.length === 0) return null;
  return (
    <details className="citations">
      <summary>{t('Sources ({count})', { count: message.citations.length })}</summary>
      <ol>
        {message.citations.map((c) => (
          <li key={`${c.documentId}:${c.position}`}>
            <strong>{c.documentTitle}</strong> <small>{t('passage {position}', { position: c.position + 1 })}</small>
            <br />
            <Snippet html={c.snippet} />
          </li>
        ))}
      </ol>
    </details>
  );
}

function MessageView({ message }: { message: Message }) {
  const { t, formatDate, formatMoney } = useI18n();
  const who = message.role === 'user' ? t('Question') : message.role === 'assistant' ? t('Answer') : t('System');
  return (
    <li className={`message ${message.role}`}>
      <div className="message-head">
        <strong>{who}</strong> <time dateTime={message.createdAt}>{formatDate(message.createdAt)}</time>
      </div>
      <div className="message-body">{message.content}</div>
      {message.role === 'assistant' && (
        <small className="muted">
          {message.model ?? '—'} · {t('{in} tokens in, {out} out', { in: message.tokensIn, out: message.tokensOut })} ·{' '}
          {formatMoney(message.cost)}
          {message.latencyMs !== null && ` · ${message.latencyMs} ms`}
        </small>
      )}
      <Citations message={message} />
    </li>
  );
}

/** One turn being answered: the question as sent and the answer as far as it has streamed. */
interface PendingTurn {
  question: string;
  answer: string;
}

/**
 * Asks through the SSE route, so the answer appears as it is generated. When it is done, the stored question
 * and answer go into the cached transcript (no flicker), then the conversation refetches for its totals.
 */
function useStreamedChat(conversationId: string, transcriptKey: readonly unknown[]) {
  const tenantId = useTenantId();
  const [pending, setPending] = useState<PendingTurn | null>(null);
  const [error, setError] = useState<unknown>(null);
  const abort = useRef<AbortController | null>(null);
  useEffect(() => () => abort.current?.abort(), []);
  const ask = async (question: string) => {
    const controller = new AbortController();
    abort.current = controller;
    setError(null);
    setPending({ question, answer: '' });
    const turn: { done: ChatTurn | null } = { done: null };
    try {
      await postEventStream(
        `/api/v1/ai/conversations/${conversationId}/messages/stream`,
        { content: question },
        (event, data) => {
          if (event === 'delta') {
            const piece = (data as { text: string }).text;
            setPending((p) => (p ? { ...p, answer: p.answer + piece } : p));
          } else if (event === 'done') {
            turn.done = data as ChatTurn;
          } else if (event === 'error') {
            throw httpErrorOf(0, 'stream failed', data);
          }
        },
        controller.signal,
      );
      const done = turn.done;
      if (!done) throw new Error('The answer ended early. Try again.');
      // A realtime refetch may have brought them already.
      queryClient.setQueryData<Transcript>(transcriptKey, (old) =>
        old
          ? {
              ...old,
              messages: [
                ...old.messages,
                ...[done.question, done.answer].filter((m) => !old.messages.some((o) => o.id === m.id)),
              ],
            }
          : old,
      );
    } catch (caught) {
      if (!controller.signal.aborted) setError(caught);
    } finally {
      if (!controller.signal.aborted) setPending(null);
      void queryClient.invalidateQueries({ queryKey: conversationsKey(tenantId) });
    }
  };
  return { pending, error, ask, busy: pending !== null };
}

function ChatBox({ onAsk, busy }: { onAsk(question: string): void; busy: boolean }) {
  const { t } = useI18n();
  const [question, setQuestion] = useState('');
  const send = () => {
    const q = question.trim();
    if (!q || busy) return;
    setQuestion('');
    onAsk(q);
  };
  return (
    <form
      className="chat-box"
      aria-label={t('Ask the agent')}
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        send();
      }}
    >
      <Field label={t('Your question')} hint={t('Enter sends, Shift+Enter starts a new line.')}>
        {(p) => (
          <textarea
            {...p}
            rows={2}
            maxLength={20000}
            value={question}
            onChange={(e) => setQuestion(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey) {
                e.preventDefault();
                send();
              }
            }}
          />
        )}
      </Field>
      <button type="submit" disabled={busy || !question.trim()}>
        {busy ? t('Answering…') : t('Send')}
      </button>
    </form>
  );
}

function ConversationFacts({ conversation }: { conversation: Transcript }) {
  const { t, formatDate, formatMoney, formatNumber } = useI18n();
  const agents = useAgentChoices();
  const widgets = useWidgetChoices();
  const agent = agents.data?.find((a) => a.id === conversation.agentId);
  const widget = widgets.data?.find((w) => w.id === conversation.widgetId);
  return (
    <dl className="facts">
      <dt>{t('Agent')}</dt>
      <dd>{agent?.name ?? '—'}</dd>
      <dt>{t('Kind')}</dt>
      <dd>{conversation.mode === 'meeting' ? t('Meeting transcript') : t('Chat')}</dd>
      {widget && (
        <>
          <dt>{t('Widget')}</dt>
          <dd>
            <Link to={`/ai/widgets/${widget.id}`}>{widget.name}</Link>
            {conversation.visitorId && <small> · {conversation.visitorId}</small>}
          </dd>
        </>
      )}
      <dt>{t('Status')}</dt>
      <dd>
        <Badge tone={conversation.status === 'open' ? 'good' : 'neutral'}>{t(conversation.status)}</Badge>
      </dd>
      <dt>{t('Messages')}</dt>
      <dd>{formatNumber(conversation.totals.messages)}</dd>
      <dt>{t('Tokens')}</dt>
      <dd>
        {t('{in} tokens in, {out} out', {
          in: formatNumber(conversation.totals.tokensIn),
          out: formatNumber(conversation.totals.tokensOut),
        })}
      </dd>
      <dt>{t('Cost')}</dt>
      <dd>{formatMoney(conversation.totals.cost)}</dd>
      <dt>{t('Created')}</dt>
      <dd>{formatDate(conversation.createdAt)}</dd>
    </dl>
  );
}

/** A transcript with its citations; open dashboard conversations take new questions, answered as a stream. */
export function ConversationDetail({ id }: { id: string }) {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const transcriptKey = [...conversationsKey(tenantId), 'one', id];
  const conversation = useQuery({ queryKey: transcriptKey, queryFn: () => trpc.ai.conversations.get.query({ id }) });
  const chat = useStreamedChat(id, transcriptKey);
  const refresh = () => void queryClient.invalidateQueries({ queryKey: conversationsKey(tenantId) });
  const close = useMutation({ mutationFn: () => trpc.ai.conversations.close.mutate({ id }), onSuccess: refresh });
  const remove = useMutation({
    mutationFn: () => trpc.ai.conversations.delete.mutate({ id }),
    onSuccess: () => {
      refresh();
      navigate('/ai/conversations');
    },
  });
  if (conversation.isPending) return <Loading />;
  if (conversation.isError) return <ErrorState error={conversation.error} onRetry={() => void conversation.refetch()} />;
  const c = conversation.data;
  // A widget visitor's conversation belongs to the visitor, and a meeting's transcript to the meeting: both are read-only here.
  const canAsk = c.status === 'open' && c.mode === 'text' && !c.widgetId && !c.visitorId;
  return (
    <>
      <p>
        <Link to="/ai/conversations">{t('All conversations')}</Link>
      </p>
      <div className="grid wide-first">
        <Section title={c.title ?? t('Untitled conversation')}>
          {c.messages.length === 0 && !chat.pending ? (
            <Empty>{t('No messages yet.')}</Empty>
          ) : (
            <ol className="transcript" aria-label={t('Transcript')} aria-busy={chat.busy}>
              {c.messages.map((m) => (
                <MessageView key={m.id} message={m} />
              ))}
              {chat.pending && (
                <>
                  <li className="message user">
                    <div className="message-head">
                      <strong>{t('Question')}</strong>
                    </div>
                    <div className="message-body">{chat.pending.question}</div>
                  </li>
                  <li className="message assistant streaming" aria-live="polite">
                    <div className="message-head">
                      <strong>{t('Answer')}</strong>
                    </div>
                    <div className="message-body" data-testid="streaming-answer">
                      {chat.pending.answer || <span className="typing">{t('Thinking…')}</span>}
                    </div>
                  </li>
                </>
              )}
            </ol>
          )}
          <Notice error={chat.error} />
          {canAsk ? (
            <ChatBox busy={chat.busy} onAsk={(q) => void chat.ask(q)} />
          ) : (
            <p className="hint">
              {c.status === 'closed'
                ? t('This conversation is closed.')
                : t('This transcript is read-only here: it belongs to a widget visitor or a meeting.')}
            </p>
          )}
        </Section>
        <Section title={t('Details')}>
          <ConversationFacts conversation={c} />
          <div className="actions">
            {c.status === 'open' && (
              <button type="button" className="secondary" disabled={close.isPending} onClick={() => close.mutate()}>
                {t('Close conversation')}
              </button>
            )}
            <ConfirmButton
              question={t('Delete this conversation and its messages?')}
              onConfirm={() => remove.mutate()}
              disabled={remove.isPending}
            >
              {t('Delete')}
            </ConfirmButton>
          </div>
          <Notice error={close.error ?? remove.error} />
        </Section>
      </div>
    </>
  );
}
