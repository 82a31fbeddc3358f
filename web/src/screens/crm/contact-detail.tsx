import { useMutation, useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { keys, queryClient, trpc } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { navigate } from '../../router.tsx';
import { useTenantId } from '../../session.tsx';
import { ConfirmButton, ErrorState, Field, Loading, Notice, PageTitle, Section } from '../../ui/index.tsx';
import { CrmTabs } from './nav.tsx';
import { Timeline } from './timeline.tsx';

export function ContactDetail({ id }: { id: string }) {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const contact = useQuery({
    queryKey: [...keys.scoped(tenantId, 'contacts'), id],
    queryFn: () => trpc.crm.contacts.get.query({ id }),
  });
  const [form, setForm] = useState({ name: '', email: '', title: '', phones: '', tags: '' });
  useEffect(() => {
    if (!contact.data) return;
    const c = contact.data;
    setForm({ name: c.name, email: c.email ?? '', title: c.title ?? '', phones: c.phones.join(', '), tags: c.tags.join(', ') });
  }, [contact.data]);
  const list = (s: string) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  const save = useMutation({
    mutationFn: () =>
      trpc.crm.contacts.update.mutate({
        id,
        name: form.name,
        email: form.email || null,
        title: form.title || null,
        phones: list(form.phones),
        tags: list(form.tags),
      }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: keys.scoped(tenantId, 'contacts') }),
  });
  const remove = useMutation({
    mutationFn: () => trpc.crm.contacts.delete.mutate({ id }),
    onSuccess: () => navigate('/crm/contacts'),
  });
  if (contact.isPending) return <Loading />;
  if (contact.isError) return <ErrorState error={contact.error} />;
  const set = (field: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [field]: e.target.value });
  return (
    <>
      <PageTitle>{contact.data.name}</PageTitle>
      <CrmTabs />
      <div className="grid">
        <Section title={t('Details')}>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              save.mutate();
            }}
          >
            <Field label={t('Name')}>{(p) => <input {...p} required value={form.name} onChange={set('name')} />}</Field>
            <Field label={t('Email')}>{(p) => <input {...p} type="email" value={form.email} onChange={set('email')} />}</Field>
            <Field label={t('Job title')}>{(p) => <input {...p} value={form.title} onChange={set('title')} />}</Field>
            <Field label={t('Phones')} hint={t('Comma-separated')}>
              {(p) => <input {...p} value={form.phones} onChange={set('phones')} />}
            </Field>
            <Field label={t('Tags')} hint={t('Comma-separated')}>
              {(p) => <input {...p} value={form.tags} onChange={set('tags')} />}
            </Field>
            <div className="row">
              <button type="submit" disabled={save.isPending}>
                {t('Save')}
              </button>
              <ConfirmButton question={t('Delete this contact?')} onConfirm={() => remove.mutate()}>
                {t('Delete')}
              </ConfirmButton>
            </div>
            <Notice error={save.error ?? remove.error} success={save.isSuccess ? t('Saved.') : null} />
          </form>
        </Section>
        <Section title={t('Timeline')}>
          <Timeline contactId={id} />
        </Section>
      </div>
    </>
  );
}
