import { useMutation, useQuery } from '@tanstack/react-query';
import { Fragment, useState } from 'react';
import { keys, queryClient, trpc } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { useTenantId } from '../../session.tsx';
import {
  Badge,
  ConfirmButton,
  CopyButton,
  Empty,
  ErrorState,
  Field,
  Loading,
  Notice,
  PagedList,
  PageTitle,
  Section,
  splitList,
  usePaged,
} from '../../ui/index.tsx';

/** Every attempt at one delivery: status, latency, and what the receiver answered or why it failed. */
function Attempts({ deliveryId }: { deliveryId: string }) {
  const { t, formatDate } = useI18n();
  const tenantId = useTenantId();
  const attempts = useQuery({
    queryKey: [...keys.scoped(tenantId, 'webhooks'), 'attempts', deliveryId],
    queryFn: () => trpc.webhooks.attempts.query({ id: deliveryId }),
  });
  if (attempts.isPending) return <Loading />;
  if (attempts.isError) return <ErrorState error={attempts.error} />;
  if (attempts.data.length === 0) return <Empty>{t('Not attempted yet.')}</Empty>;
  return (
    <ol className="timeline">
      {attempts.data.map((a) => (
        <li key={a.attempt}>
          <strong>{t('Attempt {n}', { n: a.attempt })}</strong> <time dateTime={a.createdAt}>{formatDate(a.createdAt)}</time> ·{' '}
          {a.statusCode ?? '—'} · {a.latencyMs} ms
          {a.error && <div className="state error">{a.error}</div>}
          {a.responseExcerpt && <pre>{a.responseExcerpt}</pre>}
        </li>
      ))}
    </ol>
  );
}

function Deliveries({ endpointId }: { endpointId: string }) {
  const { t, formatDate } = useI18n();
  const tenantId = useTenantId();
  const [open, setOpen] = useState<string | null>(null);
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
                <Fragment key={d.id}>
                  <tr>
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
                      <button
                        type="button"
                        className="secondary"
                        aria-expanded={open === d.id}
                        onClick={() => setOpen(open === d.id ? null : d.id)}
                      >
                        {t('Attempts')}
                      </button>
                      <button type="button" className="secondary" onClick={() => replay.mutate(d.id)}>
                        {t('Replay')}
                      </button>
                    </td>
                  </tr>
                  {open === d.id && (
                    <tr>
                      <td colSpan={6}>
                        <Attempts deliveryId={d.id} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        )}
      </PagedList>
    </>
  );
}

export function Webhooks() {
  const { t, formatDate } = useI18n();
  const tenantId = useTenantId();
  const [url, setUrl] = useState('');
  const [types, setTypes] = useState('*');
  const [open, setOpen] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const paged = usePaged(keys.scoped(tenantId, 'webhooks'), (cursor) => trpc.webhooks.list.query({ cursor, limit: 50 }));
  const refresh = () => void queryClient.invalidateQueries({ queryKey: keys.scoped(tenantId, 'webhooks') });
  const rotate = useMutation({
    mutationFn: (id: string) => trpc.webhooks.rotateSecret.mutate({ id }),
    onSuccess: (rotated) => setSecret(rotated.secret),
  });
  const create = useMutation({
    mutationFn: () =>
      trpc.webhooks.create.mutate({
        url,
        eventTypes: splitList(types),
      }),
    onSuccess: (created) => {
      setUrl('');
      rotate.reset();
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
            <code>{secret}</code> <CopyButton text={secret} />
            {rotate.data && (
              <p className="hint">
                {t('The previous secret keeps signing until {when}.', { when: formatDate(rotate.data.previousSecretExpiresAt) })}
              </p>
            )}
          </div>
        )}
      </Section>
      <Section title={t('Endpoints')}>
        <Notice
          error={update.error ?? remove.error ?? test.error ?? rotate.error}
          success={test.isSuccess ? t('Test event sent.') : null}
        />
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
                      <ConfirmButton
                        question={t('Issue a new signing secret for this endpoint?')}
                        onConfirm={() => rotate.mutate(endpoint.id)}
                        className="secondary"
                      >
                        {t('Rotate secret')}
                      </ConfirmButton>
                      <ConfirmButton question={t('Delete this endpoint?')} onConfirm={() => remove.mutate(endpoint.id)}>
                        {t('Delete')}
                      </ConfirmButton>
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
