import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { trpc } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { useSession } from '../../session.tsx';
import { Empty, ErrorState, Field, Loading, PagedList, PageTitle, Section, usePaged } from '../../ui/index.tsx';

/** For platform admins only (the API refuses everyone else; the menu hides the link). */
export function Platform() {
  const { t, formatDate } = useI18n();
  const session = useSession();
  const [search, setSearch] = useState('');
  const [q, setQ] = useState('');
  const tenants = usePaged(
    ['platform', 'tenants', q],
    (cursor) => trpc.platform.tenants.query({ cursor, limit: 50, ...(q ? { q } : {}) }),
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
                    <strong>{tn.name}</strong> <code>{tn.slug}</code> <small>{formatDate(tn.createdAt)}</small>
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
        <Section title={t('Usage')}>
          {stats.isPending ? (
            <Loading />
          ) : stats.isError ? (
            <ErrorState error={stats.error} />
          ) : (
            <p>{t('{count} procedures called in the last 15 minutes.', { count: stats.data.procedures.length })}</p>
          )}
        </Section>
      </div>
    </>
  );
}
