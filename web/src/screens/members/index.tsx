import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { keys, queryClient, trpc } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { type Role, useSession, useTenantId } from '../../session.tsx';
import { Badge, ConfirmButton, Field, Notice, PagedList, PageTitle, Section, usePaged } from '../../ui/index.tsx';

const ROLES: Role[] = ['owner', 'admin', 'member'];

function Invite() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const session = useSession();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('member');
  const invite = useMutation({
    mutationFn: () => trpc.invitations.create.mutate({ email, role }),
    onSuccess: () => {
      setEmail('');
      void queryClient.invalidateQueries({ queryKey: keys.scoped(tenantId, 'invitations') });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    invite.mutate();
  };
  return (
    <form className="row" onSubmit={submit} aria-label={t('Invite someone')}>
      <Field label={t('Email')}>
        {(p) => <input {...p} type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />}
      </Field>
      <Field label={t('Role')}>
        {(p) => (
          <select {...p} value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.filter((r) => r !== 'owner' || session.role === 'owner').map((r) => (
              <option key={r} value={r}>
                {t(r)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <button type="submit" disabled={invite.isPending}>
        {t('Send invitation')}
      </button>
      <Notice
        error={invite.error}
        success={invite.isSuccess ? t('Invitation sent to {email}.', { email: invite.data.email }) : null}
      />
    </form>
  );
}

function Invitations() {
  const { t, formatDate } = useI18n();
  const tenantId = useTenantId();
  const paged = usePaged(keys.scoped(tenantId, 'invitations'), (cursor) =>
    trpc.invitations.list.query({ cursor, status: 'pending', limit: 50 }),
  );
  const refresh = () => void queryClient.invalidateQueries({ queryKey: keys.scoped(tenantId, 'invitations') });
  const cancel = useMutation({ mutationFn: (id: string) => trpc.invitations.cancel.mutate({ id }), onSuccess: refresh });
  const resend = useMutation({ mutationFn: (id: string) => trpc.invitations.resend.mutate({ id }), onSuccess: refresh });
  return (
    <PagedList paged={paged} empty={t('No pending invitations.')}>
      {(items) => (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('Email')}</th>
              <th scope="col">{t('Role')}</th>
              <th scope="col">{t('Expires')}</th>
              <th scope="col">
                <span className="visually-hidden">{t('Actions')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((inv) => (
              <tr key={inv.id}>
                <td>{inv.email}</td>
                <td>{t(inv.role)}</td>
                <td>{formatDate(inv.expiresAt)}</td>
                <td className="actions">
                  <button type="button" className="secondary" onClick={() => resend.mutate(inv.id)}>
                    {t('Resend')}
                  </button>
                  <button type="button" className="danger" onClick={() => cancel.mutate(inv.id)}>
                    {t('Cancel')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </PagedList>
  );
}

export function Members() {
  const { t, formatDate } = useI18n();
  const tenantId = useTenantId();
  const session = useSession();
  const paged = usePaged(keys.scoped(tenantId, 'members'), (cursor) => trpc.members.list.query({ cursor, limit: 50 }));
  const refresh = () => void queryClient.invalidateQueries({ queryKey: keys.scoped(tenantId, 'members') });
  const changeRole = useMutation({
    mutationFn: (input: { userId: string; role: Role }) => trpc.members.changeRole.mutate(input),
    onSuccess: refresh,
  });
  const remove = useMutation({ mutationFn: (userId: string) => trpc.members.remove.mutate({ userId }), onSuccess: refresh });
  return (
    <>
      <PageTitle>{t('Members')}</PageTitle>
      <Section title={t('Members')}>
        <Notice error={changeRole.error ?? remove.error} />
        <PagedList paged={paged} empty={t('No members.')}>
          {(items) => (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('Name')}</th>
                  <th scope="col">{t('Email')}</th>
                  <th scope="col">{t('Role')}</th>
                  <th scope="col">{t('Joined')}</th>
                  {session.isAdmin && (
                    <th scope="col">
                      <span className="visually-hidden">{t('Actions')}</span>
                    </th>
                  )}
                </tr>
              </thead>
              <tbody>
                {items.map((m) => (
                  <tr key={m.userId}>
                    <td>
                      {m.name} {m.userId === session.me.user.id && <Badge>{t('you')}</Badge>}
                    </td>
                    <td>{m.email}</td>
                    <td>
                      {session.isAdmin && m.userId !== session.me.user.id ? (
                        <select
                          aria-label={t('Role of {name}', { name: m.name })}
                          value={m.role}
                          onChange={(e) => changeRole.mutate({ userId: m.userId, role: e.target.value as Role })}
                        >
                          {ROLES.map((r) => (
                            <option key={r} value={r}>
                              {t(r)}
                            </option>
                          ))}
                        </select>
                      ) : (
                        t(m.role)
                      )}
                    </td>
                    <td>{formatDate(m.joinedAt)}</td>
                    {session.isAdmin && (
                      <td className="actions">
                        {m.userId !== session.me.user.id && (
                          <ConfirmButton
                            question={t('Remove {name} from this tenant?', { name: m.name })}
                            onConfirm={() => remove.mutate(m.userId)}
                          >
                            {t('Remove')}
                          </ConfirmButton>
                        )}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </PagedList>
      </Section>
      {session.isAdmin && (
        <Section title={t('Invitations')}>
          <Invite />
          <Invitations />
        </Section>
      )}
    </>
  );
}
