import { useMutation } from '@tanstack/react-query';
import { keys, queryClient, tenantStore, trpc } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { navigate, useLocation } from '../../router.tsx';
import { useSession } from '../../session.tsx';
import { ErrorState, PageTitle, Section } from '../../ui/index.tsx';

/** The page an invitation email links to: `/invitations/accept?token=…` (sign-in comes first). */
export function AcceptInvitation() {
  const { t } = useI18n();
  const { query } = useLocation();
  const session = useSession();
  const token = query.get('token') ?? '';
  const done = async (tenantId: string | null) => {
    if (tenantId) tenantStore.set(tenantId);
    await queryClient.invalidateQueries({ queryKey: keys.me });
    navigate('/', { replace: true });
  };
  const accept = useMutation({
    mutationFn: () => trpc.invitations.accept.mutate({ token }),
    onSuccess: (result) => done(result.tenantId),
  });
  const decline = useMutation({ mutationFn: () => trpc.invitations.decline.mutate({ token }), onSuccess: () => done(null) });
  return (
    <>
      <PageTitle>{t('Invitation')}</PageTitle>
      <Section title={t('Join a tenant')}>
        <p>
          {t('You are signed in as {email}. Accept the invitation to join the tenant that invited you.', {
            email: session.me.user.email,
          })}
        </p>
        {(accept.error ?? decline.error) && <ErrorState error={accept.error ?? decline.error} />}
        <div className="row">
          <button type="button" disabled={!token || accept.isPending} onClick={() => accept.mutate()}>
            {t('Accept invitation')}
          </button>
          <button type="button" className="secondary" disabled={!token || decline.isPending} onClick={() => decline.mutate()}>
            {t('Decline')}
          </button>
        </div>
      </Section>
    </>
  );
}
