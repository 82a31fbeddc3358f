import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { keys, queryClient, trpc } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { useTenantId } from '../../session.tsx';
import { Badge, Field, Notice, PagedList, usePaged } from '../../ui/index.tsx';

type ActivityType = 'note' | 'call' | 'email' | 'meeting' | 'task';
const TYPES: ActivityType[] = ['note', 'call', 'email', 'meeting', 'task'];

/** A contact's activities, newest first, with a form to log a new one. */
export function Timeline({ contactId }: { contactId: string }) {
  const { t, formatDate } = useI18n();
  const tenantId = useTenantId();
  const key = [...keys.scoped(tenantId, 'contacts'), contactId, 'timeline'];
  const paged = usePaged(key, (cursor) => trpc.crm.contacts.timeline.query({ id: contactId, cursor, limit: 20 }));
  const [type, setType] = useState<ActivityType>('note');
  const [subject, setSubject] = useState('');
  const [body, setBody] = useState('');
  const log = useMutation({
    mutationFn: () => trpc.crm.activities.create.mutate({ type, subject, body, contactId }),
    onSuccess: () => {
      setSubject('');
      setBody('');
      void queryClient.invalidateQueries({ queryKey: key });
    },
  });
  return (
    <>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          log.mutate();
        }}
      >
        <div className="row">
          <Field label={t('Type')}>
            {(p) => (
              <select {...p} value={type} onChange={(e) => setType(e.target.value as ActivityType)}>
                {TYPES.map((ty) => (
                  <option key={ty} value={ty}>
                    {t(ty)}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label={t('Subject')}>
            {(p) => <input {...p} required value={subject} onChange={(e) => setSubject(e.target.value)} />}
          </Field>
        </div>
        <Field label={t('Notes')}>
          {(p) => <textarea {...p} rows={3} value={body} onChange={(e) => setBody(e.target.value)} />}
        </Field>
        <button type="submit" disabled={log.isPending}>
          {t('Log activity')}
        </button>
        <Notice error={log.error} />
      </form>
      <PagedList paged={paged} empty={t('No activity yet.')}>
        {(items) => (
          <ol className="timeline">
            {items.map((a) => (
              <li key={a.id}>
                <Badge>{t(a.type)}</Badge> <strong>{a.subject}</strong>{' '}
                <time dateTime={a.createdAt}>{formatDate(a.createdAt)}</time>
                {a.body && <p>{a.body}</p>}
              </li>
            ))}
          </ol>
        )}
      </PagedList>
    </>
  );
}
