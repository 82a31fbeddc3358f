import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { keys, queryClient, type RouterInputs, type RouterOutputs, trpc } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { Link } from '../../router.tsx';
import { useSession, useTenantId } from '../../session.tsx';
import { Badge, CheckList, ConfirmButton, Field, Notice, PagedList, Section, splitList, usePaged } from '../../ui/index.tsx';
import { StartChatButton } from './conversations.tsx';

type Agent = RouterOutputs['ai']['agents']['list']['items'][number];
type AgentInput = RouterInputs['ai']['agents']['create'];
type Sharing = Agent['sharing'];

const agentsKey = (tenantId: string | null) => keys.scoped(tenantId, 'ai-agents');

/** The form's fields as typed (numbers stay text until submitted, so a half-typed "0." is not rewritten). */
interface AgentDraft {
  name: string;
  description: string;
  avatarUrl: string;
  systemPrompt: string;
  model: string;
  temperature: string;
  maxTokens: string;
  topP: string;
  presencePenalty: string;
  frequencyPenalty: string;
  categories: string;
  active: boolean;
}

const newAgent = (systemPrompt: string): AgentDraft => ({
  name: '',
  description: '',
  avatarUrl: '',
  systemPrompt,
  model: 'gpt-4o-mini',
  temperature: '0.7',
  maxTokens: '1024',
  topP: '1',
  presencePenalty: '0',
  frequencyPenalty: '0',
  categories: '',
  active: true,
});

const draftOf = (agent: Agent): AgentDraft => ({
  name: agent.name,
  description: agent.description ?? '',
  avatarUrl: agent.avatarUrl ?? '',
  systemPrompt: agent.systemPrompt ?? '',
  model: agent.model,
  temperature: String(agent.temperature),
  maxTokens: String(agent.maxTokens),
  topP: String(agent.topP),
  presencePenalty: String(agent.presencePenalty),
  frequencyPenalty: String(agent.frequencyPenalty),
  categories: agent.knowledgeCategories.join(', '),
  active: agent.active,
});

const inputOf = (draft: AgentDraft): AgentInput => ({
  name: draft.name,
  description: draft.description.trim() || null,
  avatarUrl: draft.avatarUrl.trim() || null,
  systemPrompt: draft.systemPrompt,
  model: draft.model,
  temperature: Number(draft.temperature),
  maxTokens: Number(draft.maxTokens),
  topP: Number(draft.topP),
  presencePenalty: Number(draft.presencePenalty),
  frequencyPenalty: Number(draft.frequencyPenalty),
  knowledgeCategories: splitList(draft.categories),
  active: draft.active,
});

/** Create and edit share one form; `submit` gets the typed input. */
function AgentForm({
  initial,
  label,
  submitLabel,
  pending,
  error,
  onSubmit,
  onCancel,
}: {
  initial: AgentDraft;
  label: string;
  submitLabel: string;
  pending: boolean;
  error: unknown;
  onSubmit(input: AgentInput, reset: () => void): void;
  onCancel?: () => void;
}) {
  const { t } = useI18n();
  const [draft, setDraft] = useState(initial);
  const set = (field: keyof AgentDraft) => (e: { target: { value: string } }) => setDraft({ ...draft, [field]: e.target.value });
  const number = (field: keyof AgentDraft, label: string, attrs: { min: number; max: number; step: number }) => (
    <Field label={label}>
      {(p) => <input {...p} type="number" required {...attrs} value={String(draft[field])} onChange={set(field)} />}
    </Field>
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onSubmit(inputOf(draft), () => setDraft(initial));
  };
  return (
    <form aria-label={label} onSubmit={submit}>
      <div className="row">
        <Field label={t('Name')}>
          {(p) => <input {...p} required maxLength={200} value={draft.name} onChange={set('name')} />}
        </Field>
        <Field label={t('Knowledge categories')} hint={t('Comma-separated; empty: every category')}>
          {(p) => <input {...p} value={draft.categories} onChange={set('categories')} />}
        </Field>
      </div>
      <Field label={t('Description')}>
        {(p) => <input {...p} className="wide" maxLength={2000} value={draft.description} onChange={set('description')} />}
      </Field>
      <Field label={t('Instructions')} hint={t('The system prompt; other tenants never see it.')}>
        {(p) => <textarea {...p} rows={4} required value={draft.systemPrompt} onChange={set('systemPrompt')} />}
      </Field>
      <details>
        <summary>{t('Model settings')}</summary>
        <div className="row">
          <Field label={t('Model')}>{(p) => <input {...p} required value={draft.model} onChange={set('model')} />}</Field>
          {number('temperature', t('Temperature'), { min: 0, max: 2, step: 0.1 })}
          {number('maxTokens', t('Maximum tokens'), { min: 1, max: 32000, step: 1 })}
          {number('topP', 'Top P', { min: 0.01, max: 1, step: 0.01 })}
          {number('presencePenalty', t('Presence penalty'), { min: -2, max: 2, step: 0.1 })}
          {number('frequencyPenalty', t('Frequency penalty'), { min: -2, max: 2, step: 0.1 })}
        </div>
        <Field label={t('Avatar URL')}>
          {(p) => <input {...p} type="url" placeholder="https://" value={draft.avatarUrl} onChange={set('avatarUrl')} />}
        </Field>
      </details>
      <label className="check">
        <input type="checkbox" checked={draft.active} onChange={(e) => setDraft({ ...draft, active: e.target.checked })} />{' '}
        {t('Active')}
      </label>
      <div className="row">
        <button type="submit" disabled={pending}>
          {submitLabel}
        </button>
        {onCancel && (
          <button type="button" className="secondary" onClick={onCancel}>
            {t('Cancel')}
          </button>
        )}
      </div>
      <Notice error={error} />
    </form>
  );
}

function NewAgent() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const create = useMutation({
    mutationFn: (input: AgentInput) => trpc.ai.agents.create.mutate(input),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: agentsKey(tenantId) }),
  });
  return (
    <AgentForm
      // A starting prompt in the user's language; it is the agent's own text from then on.
      initial={newAgent(t('You are a helpful assistant. Answer from the sources you are given.'))}
      label={t('New agent')}
      submitLabel={t('Create agent')}
      pending={create.isPending}
      error={create.error}
      onSubmit={(input, reset) => create.mutate(input, { onSuccess: reset })}
    />
  );
}

/** Admins decide who else may use an agent: nobody, every tenant, or the tenants listed. */
function SharingControl({ agent }: { agent: Agent }) {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const session = useSession();
  const [sharing, setSharing] = useState<Sharing>(agent.sharing);
  const mine = session.me.tenants.filter((tenant) => tenant.id !== tenantId);
  const [chosen, setChosen] = useState<string[]>(agent.sharedWith.filter((id) => mine.some((m) => m.id === id)));
  const [others, setOthers] = useState(agent.sharedWith.filter((id) => !mine.some((m) => m.id === id)).join('\n'));
  const share = useMutation({
    mutationFn: () =>
      trpc.ai.agents.share.mutate({
        id: agent.id,
        sharing,
        sharedWith: sharing === 'selective' ? [...new Set([...chosen, ...splitList(others)])] : [],
      }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: agentsKey(tenantId) }),
  });
  const options: { value: Sharing; label: string }[] = [
    { value: 'private', label: t('Private: this tenant only') },
    { value: 'global', label: t('Global: every tenant may use it') },
    { value: 'selective', label: t('Selective: the tenants listed') },
  ];
  return (
    <form
      className="sharing"
      aria-label={t('Sharing of {name}', { name: agent.name })}
      onSubmit={(e) => {
        e.preventDefault();
        share.mutate();
      }}
    >
      <fieldset>
        <legend>{t('Sharing')}</legend>
        {options.map((option) => (
          <label key={option.value} className="check">
            <input
              type="radio"
              name={`sharing-${agent.id}`}
              value={option.value}
              checked={sharing === option.value}
              onChange={() => setSharing(option.value)}
            />{' '}
            {option.label}
          </label>
        ))}
        {sharing === 'selective' && (
          <>
            {mine.length > 0 && (
              <CheckList items={mine.map((m) => ({ id: m.id, label: m.name }))} chosen={chosen} onChange={setChosen} />
            )}
            <Field label={t('Other tenant ids')} hint={t('One per line; ask the other tenant for its id.')}>
              {(p) => <textarea {...p} rows={2} value={others} onChange={(e) => setOthers(e.target.value)} />}
            </Field>
          </>
        )}
        <button type="submit" className="secondary" disabled={share.isPending}>
          {t('Save sharing')}
        </button>
        <Notice error={share.error} success={share.isSuccess ? t('Saved.') : null} />
      </fieldset>
    </form>
  );
}

function SharingBadge({ sharing }: { sharing: Sharing }) {
  const { t } = useI18n();
  const label = { private: t('private'), global: t('shared with every tenant'), selective: t('shared with some tenants') }[
    sharing
  ];
  return <Badge tone={sharing === 'private' ? 'neutral' : 'warn'}>{label}</Badge>;
}

function Usage({ agent }: { agent: Agent }) {
  const { t, formatDate, formatNumber } = useI18n();
  return (
    <small>
      {t('{conversations} conversations, {messages} messages, {tokens} tokens; last used {when}', {
        conversations: formatNumber(agent.usage.conversations),
        messages: formatNumber(agent.usage.messages),
        tokens: formatNumber(agent.usage.tokens),
        when: formatDate(agent.usage.lastUsedAt),
      })}
    </small>
  );
}

function AgentSummary({ agent }: { agent: Agent }) {
  const { t } = useI18n();
  return (
    <div>
      <strong>{agent.name}</strong> {agent.active ? <Badge tone="good">{t('active')}</Badge> : <Badge>{t('inactive')}</Badge>}{' '}
      {agent.owned && <SharingBadge sharing={agent.sharing} />} <Badge>{agent.model}</Badge>
      {agent.description && <p className="muted">{agent.description}</p>}
      <p>
        <small>
          {t('Knowledge')}: {agent.knowledgeCategories.length > 0 ? agent.knowledgeCategories.join(', ') : t('every category')}
        </small>
        <br />
        <Usage agent={agent} />
      </p>
    </div>
  );
}

function OwnAgent({ agent }: { agent: Agent }) {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const session = useSession();
  const [editing, setEditing] = useState(false);
  const [sharing, setSharing] = useState(false);
  const refresh = () => void queryClient.invalidateQueries({ queryKey: agentsKey(tenantId) });
  const update = useMutation({
    mutationFn: (input: RouterInputs['ai']['agents']['update']) => trpc.ai.agents.update.mutate(input),
    onSuccess: refresh,
  });
  const remove = useMutation({ mutationFn: () => trpc.ai.agents.delete.mutate({ id: agent.id }), onSuccess: refresh });
  return (
    <li>
      <div className="row spread">
        <AgentSummary agent={agent} />
        <div className="actions">
          <StartChatButton agent={agent} />
          <button type="button" className="secondary" aria-expanded={editing} onClick={() => setEditing(!editing)}>
            {t('Edit')}
          </button>
          {session.isAdmin && (
            <button type="button" className="secondary" aria-expanded={sharing} onClick={() => setSharing(!sharing)}>
              {t('Sharing')}
            </button>
          )}
          <button
            type="button"
            className="secondary"
            disabled={update.isPending}
            onClick={() => update.mutate({ id: agent.id, active: !agent.active })}
          >
            {agent.active ? t('Deactivate') : t('Activate')}
          </button>
          <ConfirmButton
            question={t('Delete {name}?', { name: agent.name })}
            onConfirm={() => remove.mutate()}
            disabled={remove.isPending}
          >
            {t('Delete')}
          </ConfirmButton>
        </div>
      </div>
      {/* While editing, the form shows the update's error itself. */}
      <Notice error={remove.error ?? (editing ? null : update.error)} />
      {editing && (
        <AgentForm
          initial={draftOf(agent)}
          label={t('Edit {name}', { name: agent.name })}
          submitLabel={t('Save')}
          pending={update.isPending}
          error={update.error}
          onSubmit={(input) => update.mutate({ id: agent.id, ...input }, { onSuccess: () => setEditing(false) })}
          onCancel={() => setEditing(false)}
        />
      )}
      {session.isAdmin && sharing && <SharingControl agent={agent} />}
    </li>
  );
}

function SharedAgent({ agent }: { agent: Agent }) {
  const { t } = useI18n();
  return (
    <li>
      <div className="row spread">
        <AgentSummary agent={agent} />
        <div className="actions">
          <StartChatButton agent={agent} />
          <Link className="button secondary" to={`/ai/widgets?agent=${agent.id}`}>
            {t('Use in a widget')}
          </Link>
        </div>
      </div>
    </li>
  );
}

export function Agents() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const own = usePaged([...agentsKey(tenantId), 'own'], (cursor) =>
    trpc.ai.agents.list.query({ owner: 'own', cursor, limit: 50 }),
  );
  const shared = usePaged([...agentsKey(tenantId), 'shared'], (cursor) =>
    trpc.ai.agents.list.query({ owner: 'shared', cursor, limit: 50 }),
  );
  return (
    <>
      <Section title={t('New agent')}>
        <NewAgent />
      </Section>
      <Section title={t('Your agents')}>
        <PagedList paged={own} empty={t('No agents yet.')}>
          {(items) => (
            <ul className="list">
              {items.map((agent) => (
                <OwnAgent key={`${agent.id}:${agent.updatedAt}`} agent={agent} />
              ))}
            </ul>
          )}
        </PagedList>
      </Section>
      <Section title={t('Shared with you')}>
        <p className="hint">
          {t(
            'Agents other tenants share. You may chat with them and put them in widgets; they answer from your own knowledge base.',
          )}
        </p>
        <PagedList paged={shared} empty={t('No other tenant shares an agent with you.')}>
          {(items) => (
            <ul className="list">
              {items.map((agent) => (
                <SharedAgent key={agent.id} agent={agent} />
              ))}
            </ul>
          )}
        </PagedList>
      </Section>
    </>
  );
}
