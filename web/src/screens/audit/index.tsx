import { useState } from 'react';
import { keys, trpc } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { useTenantId } from '../../session.tsx';
import { Field, PagedList, PageTitle, Section, usePaged } from '../../ui/index.tsx';

export function AuditLog() {
  const { t, formatDate } = useI18n();
  const tenantId = useTenantId();
  const [action, setAction] = useState('');
  const [filter, setFilter] = useState('');
  const paged = usePaged([...keys.scoped(tenantId, 'audit'), filter], (cursor) =>
    trpc.audit.list.query({ cursor, limit: 50, ...(filter ? { action: filter } : {}) }),
  );
  return (
    <>
      <PageTitle>{t('Audit log')}</PageTitle>
      <Section title={t('Entries')}>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            setFilter(action.trim());
          }}
        >
          <Field label={t('Action')} hint={t('For example member.role_changed')}>
            {(p) => <input {...p} value={action} onChange={(e) => setAction(e.target.value)} />}
          </Field>
          <button type="submit" className="secondary">
            {t('Filter')}
          </button>
        </form>
        <PagedList paged={paged} empty={t('No entries.')}>
          {(items) => (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('When')}</th>
                  <th scope="col">{t('Action')}</th>
                  <th scope="col">{t('Target')}</th>
                  <th scope="col">{t('Actor')}</th>
                  <th scope="col">{t('Details')}</th>
                </tr>
              </thead>
              <tbody>
                {items.map((entry) => (
                  <tr key={entry.id}>
                    <td>{formatDate(entry.createdAt)}</td>
                    <td>
                      <code>{entry.action}</code>
                    </td>
                    <td>
                      {entry.targetType} <small>{entry.targetId}</small>
                    </td>
                    <td>
                      <small>{entry.actorUserId ?? entry.actorApiKeyId ?? '—'}</small>
                    </td>
                    <td>
                      <details>
                        <summary>{t('Show')}</summary>
                        <pre>{JSON.stringify({ data: entry.data, before: entry.before, after: entry.after }, null, 2)}</pre>
                      </details>
                    </td>
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
