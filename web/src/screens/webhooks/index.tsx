import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { keys, queryClient, trpc } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { useTenantId } from '../../session.tsx';
import { Badge, Field, Notice, PagedList, PageTitle, Section, usePaged } from '../../ui/index.tsx';

function Deliveries({ endpointId }: { endpointId: string }) {
  const { t, formatDate } = useI18n();
  const tenantId = useTenantId();
  const key = [...keys.scoped(tenantId, 'webhooks'), 'deliveries', endpointId];
  const paged = usePaged(key, (cursor) => trpc.webhooks.deliveries.query({ id: endpointId, cursor, limit: 20 }));
  const replay = useMutation({
    mutationFn: (id: string) => trpc.webhooks.replay.mutate({ id }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: key }),
  });
  return (
    <>
      <Notice error={replay.error} success={replay.isSuccess ? t('Delivery queued again.') : null} />
      <PagedList paged={paged} empty={t('No deliveries yet.')}>
        {(items) => (
          <table>
            <thead>
              <tr>
                <th scope="col">{t('When')}</th>
                <th scope="col">{t('Event')}</th>
                <th scope="col">{t('Status')}</th>
                <th scope="col">{t('Attempts')}</th>
                <th scope="col">HTTP</th>
                <th scope="col">
                  <span className="visually-hidden">{t('Actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <tr key={d.id}>
                  <td>{formatDate(d.createdAt)}</td>
                  <td>
                    <code>{d.eventType}</code>
                  </td>
                  <td>
                    <Badge tone={d.status === 'succeeded' ? 'good' : d.status === 'failed' ? 'bad' : 'neutral'}>
                      {t(d.status)}
                    </Badge>
                  </td>
                  <td>{d.attempts}</td>
                  <td>{d.lastStatusCode ?? '—'}</td>
                  <td className="actions">
                    <button type="button" className="secondary" onClick={() => replay.mutate(d.id)}>
                      {t('Replay')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </PagedList>
    </>
  );
}

export function Webhooks() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const [url, setUrl] = useState('');
  const [types, setTypes] = useState('*');
  const [open, setOpen] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const paged = usePaged(keys.scoped(tenantId, 'webhooks'), (cursor) => trpc.webhooks.list.query({ cursor, limit: 50 }));
  const refresh = () => void queryClient.invalidateQueries({ queryKey: keys.scoped(tenantId, 'webhooks') });
  const create = useMutation({
    mutationFn: () =>
      trpc.webhooks.create.mutate({
        url,
        eventTypes: types
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      }),
    onSuccess: (created) => {
      setUrl('');
      setSecret('secret' in created && typeof created.secret === 'string' ? created.secret : null);
      refresh();
    },
  });
  const update = useMutation({
    mutationFn: (input: { id: string; enabled: boolean }) => trpc.webhooks.update.mutate(input),
    onSuccess: refresh,
  });
  const remove = useMutation({ mutationFn: (id: string) => trpc.webhooks.delete.mutate({ id }), onSuccess: refresh });
  const test = useMutation({ mutationFn: (id: string) => trpc.webhooks.sendTest.mutate({ id }), onSuccess: refresh });
  return (
    <>
      <PageTitle>{t('Webhooks')}</PageTitle>
      <Section title={t('Add an endpoint')}>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <Field label={t('URL')}>
            {(p) => (
              <input {...p} type="url" required placeholder="https://" value={url} onChange={(e) => setUrl(e.target.value)} />
            )}
          </Field>
          <Field label={t('Event types')} hint={t('Comma-separated, such as contact.* or *')}>
            {(p) => <input {...p} required value={types} onChange={(e) => setTypes(e.target.value)} />}
          </Field>
          <button type="submit" disabled={create.isPending}>
            {t('Add endpoint')}
          </button>
        </form>
        <Notice error={create.error} />
        {secret && (
          <div className="secret" role="status">
            <p>{t('The signing secret, shown only once:')}</p>
            <code>{secret}</code>
          </div>
        )}
      </Section>
      <Section title={t('Endpoints')}>
        <Notice error={update.error ?? remove.error ?? test.error} success={test.isSuccess ? t('Test event sent.') : null} />
        <PagedList paged={paged} empty={t('No endpoints yet.')}>
          {(items) => (
            <ul className="list">
              {items.map((endpoint) => (
                <li key={endpoint.id}>
                  <div className="row spread">
                    <div>
                      <strong>{endpoint.url}</strong>{' '}
                      {endpoint.enabled ? <Badge tone="good">{t('enabled')}</Badge> : <Badge tone="warn">{t('disabled')}</Badge>}
                      <br />
                      <small>{endpoint.eventTypes.join(', ')}</small>
                    </div>
                    <div className="actions">
                      <button type="button" className="secondary" onClick={() => test.mutate(endpoint.id)}>
                        {t('Send test event')}
                      </button>
                      <button
                        type="button"
                        className="secondary"
                        onClick={() => update.mutate({ id: endpoint.id, enabled: !endpoint.enabled })}
                      >
                        {endpoint.enabled ? t('Disable') : t('Enable')}
                      </button>
                      <button
                        type="button"
                        className="secondary"
                        aria-expanded={open === endpoint.id}
                        onClick={() => setOpen(open === endpoint.id ? null : endpoint.id)}
                      >
                        {t('Delivery log')}
                      </button>
                      <button
                        type="button"
                        className="danger"
                        onClick={() => {
                          if (confirm(t('Delete this endpoint?'))) remove.mutate(endpoint.id);
                        }}
                      >
                        {t('Delete')}
                      </button>
                    </div>
                  </div>
                  {open === endpoint.id && <Deliveries endpointId={endpoint.id} />}
                </li>
              ))}
            </ul>
          )}
        </PagedList>
      </Section>
    </>
  );
}
