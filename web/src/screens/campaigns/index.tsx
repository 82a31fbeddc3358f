import { useMutation, useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { keys, queryClient, trpc } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { useTenantId } from '../../session.tsx';
import { Badge, Field, Notice, PagedList, PageTitle, Section, usePaged } from '../../ui/index.tsx';

type Channel = 'email' | 'webhook' | 'sms' | 'whatsapp' | 'log';
const CHANNELS: Channel[] = ['email', 'log', 'webhook', 'sms', 'whatsapp'];
type Campaign = Awaited<ReturnType<typeof trpc.campaigns.list.query>>['items'][number];

function Groups() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const key = [...keys.scoped(tenantId, 'campaigns'), 'groups'];
  const [name, setName] = useState('');
  const [tag, setTag] = useState('');
  const paged = usePaged(key, (cursor) => trpc.campaigns.groups.list.query({ cursor, limit: 50 }));
  const refresh = () => void queryClient.invalidateQueries({ queryKey: key });
  const create = useMutation({
    mutationFn: () => trpc.campaigns.groups.create.mutate({ name }),
    onSuccess: () => {
      setName('');
      refresh();
    },
  });
  // Adds every contact with a tag (first 100) to a group.
  const addTagged = useMutation({
    mutationFn: async (groupId: string) => {
      const page = await trpc.crm.contacts.list.query({ tag, limit: 100 });
      if (page.items.length === 0) return { changed: 0, memberCount: 0 };
      return trpc.campaigns.groups.addMembers.mutate({ id: groupId, contactIds: page.items.map((c) => c.id) });
    },
    onSuccess: refresh,
  });
  return (
    <>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Field label={t('Group name')}>
          {(p) => <input {...p} required value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <button type="submit" disabled={create.isPending}>
          {t('Create group')}
        </button>
      </form>
      <Field label={t('Contact tag to add')}>
        {(p) => <input {...p} value={tag} onChange={(e) => setTag(e.target.value)} />}
      </Field>
      <Notice
        error={create.error ?? addTagged.error}
        success={addTagged.data ? t('{count} contacts added.', { count: addTagged.data.changed }) : null}
      />
      <PagedList paged={paged} empty={t('No groups yet.')}>
        {(items) => (
          <ul className="list">
            {items.map((g) => (
              <li key={g.id} className="row spread">
                <span>
                  <strong>{g.name}</strong> <small>{t('{count} contacts', { count: g.memberCount })}</small>
                </span>
                <button type="button" className="secondary" disabled={!tag} onClick={() => addTagged.mutate(g.id)}>
                  {t('Add contacts tagged “{tag}”', { tag: tag || '…' })}
                </button>
              </li>
            ))}
          </ul>
        )}
      </PagedList>
    </>
  );
}

function Templates() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const key = [...keys.scoped(tenantId, 'campaigns'), 'templates'];
  const [form, setForm] = useState({ name: '', channel: 'email' as Channel, subject: '', body: 'Hello {{contact.name}},' });
  const paged = usePaged(key, (cursor) => trpc.campaigns.templates.list.query({ cursor, limit: 50 }));
  const create = useMutation({
    mutationFn: () =>
      trpc.campaigns.templates.create.mutate({
        name: form.name,
        channel: form.channel,
        subject: form.subject || null,
        body: form.body,
      }),
    onSuccess: () => {
      setForm({ ...form, name: '' });
      void queryClient.invalidateQueries({ queryKey: key });
    },
  });
  return (
    <>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <div className="row">
          <Field label={t('Template name')}>
            {(p) => <input {...p} required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />}
          </Field>
          <Field label={t('Channel')}>
            {(p) => (
              <select {...p} value={form.channel} onChange={(e) => setForm({ ...form, channel: e.target.value as Channel })}>
                {CHANNELS.map((c) => (
                  <option key={c} value={c}>
                    {c}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label={t('Subject')}>
            {(p) => <input {...p} value={form.subject} onChange={(e) => setForm({ ...form, subject: e.target.value })} />}
          </Field>
        </div>
        <Field label={t('Body')}>
          {(p) => (
            <textarea {...p} rows={4} required value={form.body} onChange={(e) => setForm({ ...form, body: e.target.value })} />
          )}
        </Field>
        <button type="submit" disabled={create.isPending}>
          {t('Create template')}
        </button>
        <Notice error={create.error} />
      </form>
      <PagedList paged={paged} empty={t('No templates yet.')}>
        {(items) => (
          <ul className="list">
            {items.map((tpl) => (
              <li key={tpl.id}>
                <strong>{tpl.name}</strong> <Badge>{tpl.channel}</Badge> <small>{tpl.subject}</small>
              </li>
            ))}
          </ul>
        )}
      </PagedList>
    </>
  );
}

function Progress({ campaign }: { campaign: Campaign }) {
  const { t } = useI18n();
  const counts = campaign.counts as Record<string, number>;
  const total = counts.total ?? 0;
  const done = (counts.sent ?? 0) + (counts.failed ?? 0) + (counts.skipped ?? 0);
  return (
    <div>
      <progress max={Math.max(total, 1)} value={done} aria-label={t('Progress of {name}', { name: campaign.name })} />
      <small>
        {' '}
        {t('{done} of {total} done ({sent} sent, {failed} failed)', {
          done,
          total,
          sent: counts.sent ?? 0,
          failed: counts.failed ?? 0,
        })}
      </small>
    </div>
  );
}

function CampaignList() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const key = [...keys.scoped(tenantId, 'campaigns'), 'list'];
  const templates = useQuery({
    queryKey: [...keys.scoped(tenantId, 'campaigns'), 'templates', 'all'],
    queryFn: () => trpc.campaigns.templates.list.query({ limit: 100 }),
  });
  const groups = useQuery({
    queryKey: [...keys.scoped(tenantId, 'campaigns'), 'groups', 'all'],
    queryFn: () => trpc.campaigns.groups.list.query({ limit: 100 }),
  });
  const [name, setName] = useState('');
  const [templateId, setTemplateId] = useState('');
  const [groupId, setGroupId] = useState('');
  const paged = usePaged(key, (cursor) => trpc.campaigns.list.query({ cursor, limit: 50 }));
  const running = paged.items.some((c) => c.status === 'running');
  // Live progress: a running campaign's counts are polled (and refreshed by realtime events).
  const refresh = () => void queryClient.invalidateQueries({ queryKey: key });
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => void queryClient.invalidateQueries({ queryKey: keys.scoped(tenantId, 'campaigns') }), 2000);
    return () => clearInterval(timer);
  }, [running, tenantId]);
  const create = useMutation({
    mutationFn: () => trpc.campaigns.create.mutate({ name, templateId, groupIds: [groupId] }),
    onSuccess: () => {
      setName('');
      refresh();
    },
  });
  const action = useMutation({
    mutationFn: ({ id, verb }: { id: string; verb: 'start' | 'pause' | 'resume' | 'cancel' }) =>
      trpc.campaigns[verb].mutate({ id }),
    onSuccess: refresh,
  });
  return (
    <>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Field label={t('Campaign name')}>
          {(p) => <input {...p} required value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label={t('Template')}>
          {(p) => (
            <select {...p} required value={templateId} onChange={(e) => setTemplateId(e.target.value)}>
              <option value="">—</option>
              {templates.data?.items.map((tpl) => (
                <option key={tpl.id} value={tpl.id}>
                  {tpl.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t('Group')}>
          {(p) => (
            <select {...p} required value={groupId} onChange={(e) => setGroupId(e.target.value)}>
              <option value="">—</option>
              {groups.data?.items.map((g) => (
                <option key={g.id} value={g.id}>
                  {g.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <button type="submit" disabled={create.isPending}>
          {t('Create campaign')}
        </button>
      </form>
      <Notice error={create.error ?? action.error} />
      <PagedList paged={paged} empty={t('No campaigns yet.')}>
        {(items) => (
          <ul className="list">
            {items.map((c) => (
              <li key={c.id}>
                <div className="row spread">
                  <span>
                    <strong>{c.name}</strong>{' '}
                    <Badge tone={c.status === 'completed' ? 'good' : c.status === 'failed' ? 'bad' : 'neutral'}>
                      {t(c.status)}
                    </Badge>
                  </span>
                  <span className="actions">
                    {(c.status === 'draft' || c.status === 'scheduled') && (
                      <button type="button" onClick={() => action.mutate({ id: c.id, verb: 'start' })}>
                        {t('Start')}
                      </button>
                    )}
                    {c.status === 'running' && (
                      <button type="button" className="secondary" onClick={() => action.mutate({ id: c.id, verb: 'pause' })}>
                        {t('Pause')}
                      </button>
                    )}
                    {c.status === 'paused' && (
                      <button type="button" onClick={() => action.mutate({ id: c.id, verb: 'resume' })}>
                        {t('Resume')}
                      </button>
                    )}
                    {['draft', 'scheduled', 'running', 'paused'].includes(c.status) && (
                      <button type="button" className="danger" onClick={() => action.mutate({ id: c.id, verb: 'cancel' })}>
                        {t('Cancel')}
                      </button>
                    )}
                  </span>
                </div>
                <Progress campaign={c} />
              </li>
            ))}
          </ul>
        )}
      </PagedList>
    </>
  );
}

export function Campaigns() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t('Campaigns')}</PageTitle>
      <Section title={t('Campaigns')}>
        <CampaignList />
      </Section>
      <div className="grid">
        <Section title={t('Groups')}>
          <Groups />
        </Section>
        <Section title={t('Templates')}>
          <Templates />
        </Section>
      </div>
    </>
  );
}
