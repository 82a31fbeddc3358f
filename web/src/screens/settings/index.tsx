import { useMutation, useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { keys, queryClient, type RouterInputs, tenantStore, trpc } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { Link, navigate } from '../../router.tsx';
import { useSession, useTenantId } from '../../session.tsx';
import { ConfirmButton, ErrorState, Field, Loading, Notice, PageTitle, Section } from '../../ui/index.tsx';

type Plan = NonNullable<RouterInputs['tenants']['update']['plan']>;
const PLANS = ['starter', 'growth', 'business', 'enterprise'] as const satisfies readonly Plan[];

/** Owners only: the server refuses plan changes from admins. */
function PlanForm({ current }: { current: Plan }) {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const [plan, setPlan] = useState<Plan>(current);
  const save = useMutation({
    mutationFn: () => trpc.tenants.update.mutate({ plan }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: keys.scoped(tenantId, 'tenant') }),
  });
  return (
    <form
      className="row"
      aria-label={t('Plan')}
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <Field label={t('Plan')}>
        {(p) => (
          <select {...p} value={plan} onChange={(e) => setPlan(e.target.value as Plan)}>
            {PLANS.map((option) => (
              <option key={option} value={option}>
                {option}
              </option>
            ))}
          </select>
        )}
      </Field>
      <button type="submit" className="secondary" disabled={save.isPending || plan === current}>
        {t('Change plan')}
      </button>
      <Notice error={save.error} success={save.isSuccess ? t('Saved.') : null} />
    </form>
  );
}

export function Settings() {
  const { t, formatDate } = useI18n();
  const tenantId = useTenantId();
  const session = useSession();
  const tenant = useQuery({ queryKey: keys.scoped(tenantId, 'tenant'), queryFn: () => trpc.tenants.current.query() });
  const [name, setName] = useState('');
  const [confirmSlug, setConfirmSlug] = useState('');
  useEffect(() => {
    if (tenant.data) setName(tenant.data.name);
  }, [tenant.data]);
  const save = useMutation({
    mutationFn: () => trpc.tenants.update.mutate({ name }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.scoped(tenantId, 'tenant') });
      void queryClient.invalidateQueries({ queryKey: keys.me });
    },
  });
  const leave = useMutation({
    mutationFn: () => trpc.members.leave.mutate(),
    onSuccess: async () => {
      tenantStore.set(null);
      await queryClient.invalidateQueries({ queryKey: keys.me });
      navigate('/');
    },
  });
  const remove = useMutation({
    mutationFn: () => trpc.tenants.delete.mutate({ confirmSlug }),
    onSuccess: async () => {
      tenantStore.set(null);
      await queryClient.invalidateQueries({ queryKey: keys.me });
      navigate('/');
    },
  });
  if (tenant.isPending) return <Loading />;
  if (tenant.isError) return <ErrorState error={tenant.error} />;
  return (
    <>
      <PageTitle actions={<Link to="/tenants/new">{t('New tenant')}</Link>}>{t('Settings')}</PageTitle>
      <Section title={t('Tenant')}>
        <dl className="facts">
          <dt>{t('Slug')}</dt>
          <dd>
            <code>{tenant.data.slug}</code>
          </dd>
          <dt>{t('Plan')}</dt>
          <dd>{tenant.data.plan}</dd>
          <dt>{t('Created')}</dt>
          <dd>{formatDate(tenant.data.createdAt)}</dd>
          <dt>{t('Tenant id')}</dt>
          <dd>
            <code>{tenant.data.id}</code>
          </dd>
        </dl>
        {session.isAdmin ? (
          <form
            className="row"
            onSubmit={(e) => {
              e.preventDefault();
              save.mutate();
            }}
          >
            <Field label={t('Name')}>
              {(p) => <input {...p} required value={name} onChange={(e) => setName(e.target.value)} />}
            </Field>
            <button type="submit" disabled={save.isPending}>
              {t('Save')}
            </button>
            <Notice error={save.error} success={save.isSuccess ? t('Saved.') : null} />
          </form>
        ) : (
          <p>{t('Only admins can change the tenant settings.')}</p>
        )}
        {session.role === 'owner' && <PlanForm current={tenant.data.plan} />}
      </Section>
      <Section title={t('Leave')}>
        <ConfirmButton
          className="secondary"
          question={t('Leave {name}?', { name: tenant.data.name })}
          onConfirm={() => leave.mutate()}
        >
          {t('Leave this tenant')}
        </ConfirmButton>
        <Notice error={leave.error} />
      </Section>
      {session.role === 'owner' && (
        <Section title={t('Danger zone')}>
          <form
            className="row"
            onSubmit={(e) => {
              e.preventDefault();
              remove.mutate();
            }}
          >
            <Field label={t('Type the slug to delete this tenant')}>
              {(p) => <input {...p} required value={confirmSlug} onChange={(e) => setConfirmSlug(e.target.value)} />}
            </Field>
            <button type="submit" className="danger" disabled={confirmSlug !== tenant.data.slug || remove.isPending}>
              {t('Delete tenant')}
            </button>
          </form>
          <Notice error={remove.error} />
        </Section>
      )}
    </>
  );
}
