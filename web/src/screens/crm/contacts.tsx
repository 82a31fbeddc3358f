import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { HttpError, keys, queryClient, trpc } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { Link } from '../../router.tsx';
import { useTenantId } from '../../session.tsx';
import { Field, Notice, PagedList, PageTitle, Section, usePaged } from '../../ui/index.tsx';
import { CrmTabs } from './nav.tsx';

function NewContact() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [title, setTitle] = useState('');
  const create = useMutation({
    mutationFn: () => trpc.crm.contacts.create.mutate({ name, email: email || null, title: title || null }),
    onSuccess: () => {
      setName('');
      setEmail('');
      setTitle('');
      void queryClient.invalidateQueries({ queryKey: keys.scoped(tenantId, 'contacts') });
    },
  });
  return (
    <form
      className="row"
      aria-label={t('New contact')}
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <Field label={t('Name')}>{(p) => <input {...p} required value={name} onChange={(e) => setName(e.target.value)} />}</Field>
      <Field label={t('Email')}>
        {(p) => <input {...p} type="email" value={email} onChange={(e) => setEmail(e.target.value)} />}
      </Field>
      <Field label={t('Job title')}>{(p) => <input {...p} value={title} onChange={(e) => setTitle(e.target.value)} />}</Field>
      <button type="submit" disabled={create.isPending}>
        {t('Add contact')}
      </button>
      <Notice error={create.error} success={create.isSuccess ? t('Contact added.') : null} />
    </form>
  );
}

export function Contacts() {
  const { t, formatDate } = useI18n();
  const tenantId = useTenantId();
  const [search, setSearch] = useState('');
  const [q, setQ] = useState('');
  // Fetched with this tab's X-Tenant-Id (a plain link would export the session's active tenant instead).
  const exporting = useMutation({
    mutationFn: async () => {
      const headers: Record<string, string> = tenantId ? { 'x-tenant-id': tenantId } : {};
      const response = await fetch(`/api/v1/crm/contacts/export${q ? `?q=${encodeURIComponent(q)}` : ''}`, {
        headers,
        credentials: 'include',
      });
      if (!response.ok) throw new HttpError(response.status, `HTTP_${response.status}`, response.statusText);
      const url = URL.createObjectURL(await response.blob());
      const link = document.createElement('a');
      link.href = url;
      link.download = 'contacts.csv';
      link.click();
      URL.revokeObjectURL(url);
    },
  });
  const paged = usePaged([...keys.scoped(tenantId, 'contacts'), q], (cursor) =>
    trpc.crm.contacts.list.query({ cursor, limit: 50, ...(q ? { q } : {}) }),
  );
  return (
    <>
      <PageTitle>{t('Contacts')}</PageTitle>
      <CrmTabs />
      <Section title={t('New contact')}>
        <NewContact />
      </Section>
      <Section title={t('All contacts')}>
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
          <button type="button" className="secondary" disabled={exporting.isPending} onClick={() => exporting.mutate()}>
            {t('Export CSV')}
          </button>
        </form>
        <Notice error={exporting.error} />
        <PagedList paged={paged} empty={q ? t('No contacts match.') : t('No contacts yet.')}>
          {(items) => (
            <table data-testid="contacts">
              <thead>
                <tr>
                  <th scope="col">{t('Name')}</th>
                  <th scope="col">{t('Email')}</th>
                  <th scope="col">{t('Job title')}</th>
                  <th scope="col">{t('Tags')}</th>
                  <th scope="col">{t('Updated')}</th>
                </tr>
              </thead>
              <tbody>
                {items.map((c) => (
                  <tr key={c.id}>
                    <td>
                      <Link to={`/crm/contacts/${c.id}`}>{c.name}</Link>
                    </td>
                    <td>{c.email ?? '—'}</td>
                    <td>{c.title ?? '—'}</td>
                    <td>{c.tags.join(', ')}</td>
                    <td>{formatDate(c.updatedAt)}</td>
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
