import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { keys, queryClient, trpc } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { useTenantId } from '../../session.tsx';
import { ConfirmButton, Field, Notice, PagedList, PageTitle, Section, usePaged } from '../../ui/index.tsx';
import { CrmTabs } from './nav.tsx';

export function Companies() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const [name, setName] = useState('');
  const [domain, setDomain] = useState('');
  const [industry, setIndustry] = useState('');
  const [search, setSearch] = useState('');
  const [q, setQ] = useState('');
  const key = keys.scoped(tenantId, 'companies');
  const paged = usePaged([...key, q], (cursor) => trpc.crm.companies.list.query({ cursor, limit: 50, ...(q ? { q } : {}) }));
  const create = useMutation({
    mutationFn: () => trpc.crm.companies.create.mutate({ name, domain: domain || null, industry: industry || null }),
    onSuccess: () => {
      setName('');
      setDomain('');
      setIndustry('');
      void queryClient.invalidateQueries({ queryKey: key });
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => trpc.crm.companies.delete.mutate({ id }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: key }),
  });
  return (
    <>
      <PageTitle>{t('Companies')}</PageTitle>
      <CrmTabs />
      <Section title={t('New company')}>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <Field label={t('Name')}>
            {(p) => <input {...p} required value={name} onChange={(e) => setName(e.target.value)} />}
          </Field>
          <Field label={t('Domain')}>
            {(p) => <input {...p} placeholder="example.com" value={domain} onChange={(e) => setDomain(e.target.value)} />}
          </Field>
          <Field label={t('Industry')}>
            {(p) => <input {...p} value={industry} onChange={(e) => setIndustry(e.target.value)} />}
          </Field>
          <button type="submit" disabled={create.isPending}>
            {t('Add company')}
          </button>
        </form>
        <Notice error={create.error ?? remove.error} />
      </Section>
      <Section title={t('All companies')}>
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
        <PagedList paged={paged} empty={t('No companies yet.')}>
          {(items) => (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('Name')}</th>
                  <th scope="col">{t('Domain')}</th>
                  <th scope="col">{t('Industry')}</th>
                  <th scope="col">
                    <span className="visually-hidden">{t('Actions')}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {items.map((c) => (
                  <tr key={c.id}>
                    <td>{c.name}</td>
                    <td>{c.domain ?? '—'}</td>
                    <td>{c.industry ?? '—'}</td>
                    <td className="actions">
                      <ConfirmButton question={t('Delete {name}?', { name: c.name })} onConfirm={() => remove.mutate(c.id)}>
                        {t('Delete')}
                      </ConfirmButton>
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
