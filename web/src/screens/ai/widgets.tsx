import { useMutation, useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { originAllowed } from '../../../../src/modules/ai/widgets/domains.ts';
import { keys, queryClient, type RouterInputs, type RouterOutputs, trpc } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { Link, navigate, useLocation } from '../../router.tsx';
import { useTenantId } from '../../session.tsx';
import {
  Badge,
  ConfirmButton,
  CopyButton,
  ErrorState,
  Field,
  Loading,
  Notice,
  PagedList,
  Section,
  splitList,
  usePaged,
} from '../../ui/index.tsx';
import { useAgentChoices } from './choices.tsx';

type Widget = RouterOutputs['ai']['widgets']['get'];
type WidgetInput = RouterInputs['ai']['widgets']['create'];
type Position = Widget['theme']['position'];

const widgetsKey = (tenantId: string | null) => keys.scoped(tenantId, 'ai-widgets');

interface WidgetDraft {
  name: string;
  agentId: string;
  greeting: string;
  primaryColor: string;
  textColor: string;
  backgroundColor: string;
  position: Position;
  domains: string;
  active: boolean;
}

/** The server's defaults (src/modules/ai/widgets/procedures.ts), so the colour pickers start where a new widget would. */
const newDraft = (agentId: string): WidgetDraft => ({
  name: '',
  agentId,
  greeting: '',
  primaryColor: '#2f6feb',
  textColor: '#1f2328',
  backgroundColor: '#ffffff',
  position: 'bottom-right',
  domains: '',
  active: true,
});

const draftOf = (w: Widget): WidgetDraft => ({
  name: w.name,
  agentId: w.agentId,
  greeting: w.greeting ?? '',
  ...w.theme,
  domains: w.allowedDomains.join('\n'),
  active: w.active,
});

const inputOf = (d: WidgetDraft): WidgetInput => ({
  name: d.name,
  agentId: d.agentId,
  greeting: d.greeting.trim() || null,
  theme: { primaryColor: d.primaryColor, textColor: d.textColor, backgroundColor: d.backgroundColor, position: d.position },
  allowedDomains: splitList(d.domains),
  active: d.active,
});

function WidgetForm({
  initial,
  label,
  submitLabel,
  pending,
  error,
  onSubmit,
}: {
  initial: WidgetDraft;
  label: string;
  submitLabel: string;
  pending: boolean;
  error: unknown;
  onSubmit(input: WidgetInput): void;
}) {
  const { t } = useI18n();
  const agents = useAgentChoices();
  const [draft, setDraft] = useState(initial);
  const set = (field: keyof WidgetDraft) => (e: { target: { value: string } }) => setDraft({ ...draft, [field]: e.target.value });
  const colour = (field: 'primaryColor' | 'textColor' | 'backgroundColor', text: string) => (
    <Field label={text}>{(p) => <input {...p} type="color" value={draft[field]} onChange={set(field)} />}</Field>
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onSubmit(inputOf(draft));
  };
  return (
    <form aria-label={label} onSubmit={submit}>
      <div className="row">
        <Field label={t('Name')}>
          {(p) => <input {...p} required maxLength={200} value={draft.name} onChange={set('name')} />}
        </Field>
        <Field label={t('Agent')}>
          {(p) => (
            <select {...p} required value={draft.agentId} onChange={set('agentId')}>
              <option value="">{agents.isPending ? t('Loading…') : '—'}</option>
              {agents.data?.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.owned ? a.name : t('{name} (shared)', { name: a.name })}
                  {a.active ? '' : ` (${t('inactive')})`}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <Field label={t('Greeting')} hint={t('The first message visitors see.')}>
        {(p) => <input {...p} className="wide" maxLength={1000} value={draft.greeting} onChange={set('greeting')} />}
      </Field>
      <fieldset>
        <legend>{t('Look')}</legend>
        <div className="row">
          {colour('primaryColor', t('Main colour'))}
          {colour('textColor', t('Text colour'))}
          {colour('backgroundColor', t('Background colour'))}
          <Field label={t('Position')}>
            {(p) => (
              <select {...p} value={draft.position} onChange={set('position')}>
                <option value="bottom-right">{t('Bottom right')}</option>
                <option value="bottom-left">{t('Bottom left')}</option>
              </select>
            )}
          </Field>
        </div>
      </fieldset>
      <Field
        label={t('Allowed domains')}
        hint={t('One per line: shop.example.com (any port), shop.example.com:8443, or *.example.com (subdomains).')}
      >
        {(p) => <textarea {...p} rows={3} value={draft.domains} onChange={set('domains')} />}
      </Field>
      <label className="check">
        <input type="checkbox" checked={draft.active} onChange={(e) => setDraft({ ...draft, active: e.target.checked })} />{' '}
        {t('Active')}
      </label>
      <button type="submit" disabled={pending}>
        {submitLabel}
      </button>
      <Notice error={error ?? agents.error} />
    </form>
  );
}

export function Widgets() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const { query } = useLocation();
  const agents = useAgentChoices();
  const paged = usePaged([...widgetsKey(tenantId), 'list'], (cursor) =>
    trpc.ai.widgets.list.query({ sort: 'name', cursor, limit: 50 }),
  );
  const create = useMutation({
    mutationFn: (input: WidgetInput) => trpc.ai.widgets.create.mutate(input),
    onSuccess: (widget) => {
      void queryClient.invalidateQueries({ queryKey: widgetsKey(tenantId) });
      navigate(`/ai/widgets/${widget.id}`);
    },
  });
  const agentName = (id: string) => agents.data?.find((a) => a.id === id)?.name ?? '—';
  return (
    <>
      <Section title={t('New widget')}>
        <WidgetForm
          initial={newDraft(query.get('agent') ?? '')}
          label={t('New widget')}
          submitLabel={t('Create widget')}
          pending={create.isPending}
          error={create.error}
          onSubmit={(input) => create.mutate(input)}
        />
      </Section>
      <Section title={t('Widgets')}>
        <PagedList paged={paged} empty={t('No widgets yet.')}>
          {(items) => (
            <ul className="list">
              {items.map((w) => (
                <li key={w.id} className="row spread">
                  <span>
                    <span className="swatch" style={{ background: w.theme.primaryColor }} aria-hidden="true" />{' '}
                    <Link to={`/ai/widgets/${w.id}`}>
                      <strong>{w.name}</strong>
                    </Link>{' '}
                    {w.active ? <Badge tone="good">{t('active')}</Badge> : <Badge>{t('inactive')}</Badge>}
                    <br />
                    <small>
                      {t('Agent')}: {agentName(w.agentId)} · {t('Allowed domains')}: {w.allowedDomains.join(', ') || '—'}
                    </small>
                  </span>
                </li>
              ))}
            </ul>
          )}
        </PagedList>
      </Section>
    </>
  );
}

/**
 * The widget as visitors get it: /widget-preview (src/web/widget-preview.ts) is a blank page on this
 * dashboard's origin, served to members of the widget's tenant only, that loads the real /widget.js with the widget's key, so config, theme, sessions and
 * streamed answers all go through the public widget API. That origin must be one of the widget's allowed
 * domains like any other site; the dashboard offers to add it instead of the server making an exception.
 */
function LivePreview({ widget }: { widget: Widget }) {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const allow = useMutation({
    mutationFn: () => trpc.ai.widgets.update.mutate({ id: widget.id, allowedDomains: [...widget.allowedDomains, location.host] }),
    onSuccess: (updated) => queryClient.setQueryData([...widgetsKey(tenantId), 'one', widget.id], updated),
  });
  if (!widget.active) return <p className="hint">{t('The widget is switched off: pages that embed it show nothing.')}</p>;
  if (!originAllowed(location.origin, widget.allowedDomains)) {
    return (
      <div className="notice">
        <p>
          {t('The preview runs on this dashboard’s address, {host}, which is not among the allowed domains.', {
            host: location.host,
          })}
        </p>
        <button type="button" disabled={allow.isPending} onClick={() => allow.mutate()}>
          {t('Allow {host} for the preview', { host: location.host })}
        </button>
        <Notice error={allow.error} />
      </div>
    );
  }
  return (
    <iframe
      // A new key or saved settings load the page again.
      key={`${widget.publishableKey}:${widget.updatedAt}`}
      className="preview"
      title={t('Live preview of {name}', { name: widget.name })}
      src={`/widget-preview?tenant=${tenantId}&widget=${widget.id}`}
      // The page and the widget are this server's own; the sandbox still keeps them from navigating the dashboard.
      sandbox="allow-scripts allow-same-origin allow-forms"
    />
  );
}

function EmbedSnippet({ widget }: { widget: Widget }) {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const rotate = useMutation({
    mutationFn: () => trpc.ai.widgets.rotateKey.mutate({ id: widget.id }),
    onSuccess: (updated) => {
      queryClient.setQueryData([...widgetsKey(tenantId), 'one', widget.id], updated);
      void queryClient.invalidateQueries({ queryKey: widgetsKey(tenantId) });
    },
  });
  return (
    <>
      <p className="hint">{t('Paste this into the pages of an allowed domain, just before </body>.')}</p>
      <pre className="snippet-code">
        <code data-testid="embed-snippet">{widget.embedSnippet}</code>
      </pre>
      <div className="toolbar">
        <CopyButton text={widget.embedSnippet} label={t('Copy snippet')} />
        <ConfirmButton
          question={t('Pages with the current snippet stop working at once. Rotate the key?')}
          onConfirm={() => rotate.mutate()}
          disabled={rotate.isPending}
          className="secondary"
        >
          {t('Rotate key')}
        </ConfirmButton>
      </div>
      <Notice error={rotate.error} success={rotate.isSuccess ? t('New key issued: update the snippet on your pages.') : null} />
    </>
  );
}

export function WidgetDetail({ id }: { id: string }) {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const key = [...widgetsKey(tenantId), 'one', id];
  const widget = useQuery({ queryKey: key, queryFn: () => trpc.ai.widgets.get.query({ id }) });
  const update = useMutation({
    mutationFn: (input: WidgetInput) => trpc.ai.widgets.update.mutate({ id, ...input }),
    onSuccess: (updated) => {
      queryClient.setQueryData(key, updated);
      void queryClient.invalidateQueries({ queryKey: widgetsKey(tenantId) });
    },
  });
  const remove = useMutation({
    mutationFn: () => trpc.ai.widgets.delete.mutate({ id }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: widgetsKey(tenantId) });
      navigate('/ai/widgets');
    },
  });
  if (widget.isPending) return <Loading />;
  if (widget.isError) return <ErrorState error={widget.error} onRetry={() => void widget.refetch()} />;
  const w = widget.data;
  return (
    <>
      <p>
        <Link to="/ai/widgets">{t('All widgets')}</Link> ·{' '}
        <Link to={`/ai/conversations?widgetId=${w.id}`}>{t('Its conversations')}</Link>
      </p>
      <div className="grid">
        <Section title={t('Settings of {name}', { name: w.name })}>
          <WidgetForm
            key={w.updatedAt}
            initial={draftOf(w)}
            label={t('Settings of {name}', { name: w.name })}
            submitLabel={t('Save')}
            pending={update.isPending}
            error={update.error}
            onSubmit={(input) => update.mutate(input)}
          />
          <Notice success={update.isSuccess ? t('Saved.') : null} />
          <ConfirmButton
            question={t('Delete {name}?', { name: w.name })}
            onConfirm={() => remove.mutate()}
            disabled={remove.isPending}
          >
            {t('Delete widget')}
          </ConfirmButton>
          <Notice error={remove.error} />
        </Section>
        <div>
          <Section title={t('Live preview')}>
            <LivePreview widget={w} />
          </Section>
          <Section title={t('Embed snippet')}>
            <EmbedSnippet widget={w} />
          </Section>
        </div>
      </div>
    </>
  );
}
