import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { trpc } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { useSession } from '../../session.tsx';
import { Badge, Empty, ErrorState, Field, Loading, PagedList, PageTitle, Section, usePaged } from '../../ui/index.tsx';
import { ProcedureStatsTable } from '../overview/procedure-stats.tsx';

/** For platform admins only (the API refuses everyone else; the menu hides the link). */
export function Platform() {
  const { t, formatDate } = useI18n();
  const session = useSession();
  const [search, setSearch] = useState('');
  const [q, setQ] = useState('');
  const [includeDeleted, setIncludeDeleted] = useState(false);
  const tenants = usePaged(
    ['platform', 'tenants', q, includeDeleted],
    (cursor) => trpc.platform.tenants.query({ cursor, limit: 50, includeDeleted, ...(q ? { q } : {}) }),
    session.isPlatformAdmin,
  );
  const users = usePaged(
    ['platform', 'users', q],
    (cursor) => trpc.platform.users.query({ cursor, limit: 50, ...(q ? { q } : {}) }),
    session.isPlatformAdmin,
  );
  const stats = useQuery({
    queryKey: ['platform', 'stats'],
    queryFn: () => trpc.platform.stats.query({ windowMinutes: 15 }),
    enabled: session.isPlatformAdmin,
  });
  const slow = useQuery({
    queryKey: ['platform', 'slow-queries'],
    queryFn: () => trpc.platform.slowQueries.query({ limit: 20 }),
    enabled: session.isPlatformAdmin,
  });
  const tenantName = (id: string | null) => (id ? (tenants.items.find((tn) => tn.id === id)?.name ?? id.slice(0, 8)) : '—');
  if (!session.isPlatformAdmin) {
    return (
      <>
        <PageTitle>{t('Platform')}</PageTitle>
        <Empty>{t('You do not have access to this.')}</Empty>
      </>
    );
  }
  return (
    <>
      <PageTitle>{t('Platform')}</PageTitle>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          setQ(search.trim());
        }}
      >
        <Field label={t('Search')}>
          {(p) => <input {...p} type="search" value={search} onChange={(e) => setSearch(e.target.value)} />}
        </Field>
        <label className="check">
          <input type="checkbox" checked={includeDeleted} onChange={(e) => setIncludeDeleted(e.target.checked)} />{' '}
          {t('Include deleted tenants')}
        </label>
        <button type="submit" className="secondary">
          {t('Search')}
        </button>
      </form>
      <div className="grid">
        <Section title={t('Tenants')}>
          <PagedList paged={tenants} empty={t('No tenants.')}>
            {(items) => (
              <ul className="list">
                {items.map((tn) => (
                  <li key={tn.id}>
                    <strong>{tn.name}</strong> <code>{tn.slug}</code> <Badge>{tn.plan}</Badge>{' '}
                    {tn.deletedAt && <Badge tone="bad">{t('deleted')}</Badge>}
                    <br />
                    <small>
                      {t('{count} members', { count: tn.memberCount })} · {formatDate(tn.createdAt)}
                    </small>
                  </li>
                ))}
              </ul>
            )}
          </PagedList>
        </Section>
        <Section title={t('Users')}>
          <PagedList paged={users} empty={t('No users.')}>
            {(items) => (
              <ul className="list">
                {items.map((u) => (
                  <li key={u.id}>
                    <strong>{u.name}</strong> {u.email}
                  </li>
                ))}
              </ul>
            )}
          </PagedList>
        </Section>
      </div>
      <Section title={t('Usage')}>
        {stats.isPending ? (
          <Loading />
        ) : stats.isError ? (
          <ErrorState error={stats.error} />
        ) : stats.data.procedures.length === 0 ? (
          <Empty>{t('No API calls in the last 15 minutes.')}</Empty>
        ) : (
          <ProcedureStatsTable
            rows={stats.data.procedures}
            most={15}
            caption={{ text: t('{count} procedures called in the last 15 minutes.', { count: stats.data.procedures.length }) }}
            tenantName={(id) => tenantName(id ?? null)}
          />
        )}
      </Section>
      <Section title={t('Slow transactions')}>
        {slow.isPending ? (
          <Loading />
        ) : slow.isError ? (
          <ErrorState error={slow.error} />
        ) : slow.data.items.length === 0 ? (
          <Empty>{t('No transaction took longer than {ms} ms.', { ms: slow.data.thresholdMs })}</Empty>
        ) : (
          <ul className="list">
            {slow.data.items.map((item) => (
              <li key={`${item.at}:${item.fingerprint}`}>
                <strong>{Math.round(item.durationMs)} ms</strong> <code>{item.procedure ?? '—'}</code> ·{' '}
                {tenantName(item.tenantId)} · <time dateTime={item.at}>{formatDate(item.at)}</time>
                {item.statements[0] && <pre>{item.statements[0]}</pre>}
              </li>
            ))}
          </ul>
        )}
      </Section>
    </>
  );
}
