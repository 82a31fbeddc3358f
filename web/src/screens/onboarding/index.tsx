import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { keys, queryClient, tenantStore, trpc } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { navigate } from '../../router.tsx';
import { useSession } from '../../session.tsx';
import { ErrorState, Field, PageTitle, Section } from '../../ui/index.tsx';

/** Creating a tenant: the first screen of a user without one, and "New tenant" for everyone else. */
export function CreateTenant() {
  const { t } = useI18n();
  const session = useSession();
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const create = useMutation({
    mutationFn: () => trpc.tenants.create.mutate({ name, slug }),
    onSuccess: async (tenant) => {
      tenantStore.set(tenant.id);
      await queryClient.invalidateQueries({ queryKey: keys.me });
      navigate('/', { replace: true });
    },
  });
  const suggest = (value: string) =>
    value
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 63);
  return (
    <>
      <PageTitle>{t('New tenant')}</PageTitle>
      <Section title={session.tenant ? t('Create another tenant') : t('Create your first tenant')}>
        {!session.tenant && <p>{t('You are not a member of any tenant yet. Create one, or open an invitation link.')}</p>}
        <form
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <Field label={t('Name')}>
            {(p) => (
              <input
                {...p}
                required
                maxLength={200}
                value={name}
                onChange={(e) => {
                  if (slug === suggest(name)) setSlug(suggest(e.target.value));
                  setName(e.target.value);
                }}
              />
            )}
          </Field>
          <Field label={t('Slug')} hint={t('Lowercase letters, digits and dashes.')}>
            {(p) => (
              <input {...p} required pattern="[a-z0-9][a-z0-9-]{1,62}" value={slug} onChange={(e) => setSlug(e.target.value)} />
            )}
          </Field>
          {create.error && <ErrorState error={create.error} />}
          <button type="submit" disabled={create.isPending}>
            {t('Create tenant')}
          </button>
        </form>
      </Section>
    </>
  );
}
