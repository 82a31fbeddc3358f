import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { errorCode, keys, queryClient, type RouterInputs, type RouterOutputs, trpc } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { Link } from '../../router.tsx';
import { useTenantId } from '../../session.tsx';
import {
  Badge,
  CheckList,
  ConfirmButton,
  CopyButton,
  Field,
  FilterSelect,
  Notice,
  PagedList,
  Section,
  splitList,
  usePaged,
} from '../../ui/index.tsx';

type Meeting = RouterOutputs['ai']['meetings']['list']['items'][number];
type MeetingStatus = Meeting['status'];
type Participant = NonNullable<RouterInputs['ai']['meetings']['create']['participants']>[number];

const meetingsKey = (tenantId: string | null) => keys.scoped(tenantId, 'ai-meetings');

function NewMeeting() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const members = useQuery({
    queryKey: [...keys.scoped(tenantId, 'members'), 'choices'],
    queryFn: () => trpc.members.list.query({ limit: 100 }),
    select: (page) => page.items,
  });
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [when, setWhen] = useState('');
  const [invited, setInvited] = useState<string[]>([]);
  const [guests, setGuests] = useState('');
  const create = useMutation({
    mutationFn: () => {
      const participants: Participant[] = [
        ...(members.data ?? [])
          .filter((m) => invited.includes(m.userId))
          .map((m) => ({ userId: m.userId, name: m.name, email: m.email })),
        ...splitList(guests).map((name) => ({ name })),
      ];
      return trpc.ai.meetings.create.mutate({
        title,
        description: description.trim() || null,
        // datetime-local is the browser's local time; the API takes an instant.
        scheduledAt: when ? new Date(when).toISOString() : null,
        participants,
      });
    },
    onSuccess: () => {
      setTitle('');
      setDescription('');
      setWhen('');
      setInvited([]);
      setGuests('');
      void queryClient.invalidateQueries({ queryKey: meetingsKey(tenantId) });
    },
  });
  return (
    <form
      aria-label={t('New meeting')}
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <div className="row">
        <Field label={t('Title')}>
          {(p) => <input {...p} required maxLength={300} value={title} onChange={(e) => setTitle(e.target.value)} />}
        </Field>
        <Field label={t('Scheduled for')} hint={t('Optional')}>
          {(p) => <input {...p} type="datetime-local" value={when} onChange={(e) => setWhen(e.target.value)} />}
        </Field>
      </div>
      <Field label={t('Description')}>
        {(p) => (
          <textarea {...p} rows={2} maxLength={5000} value={description} onChange={(e) => setDescription(e.target.value)} />
        )}
      </Field>
      {members.data && members.data.length > 0 && (
        <fieldset>
          <legend>{t('Invite members')}</legend>
          <CheckList items={members.data.map((m) => ({ id: m.userId, label: m.name }))} chosen={invited} onChange={setInvited} />
        </fieldset>
      )}
      <Field label={t('Other participants')} hint={t('Names, one per line')}>
        {(p) => <textarea {...p} rows={2} value={guests} onChange={(e) => setGuests(e.target.value)} />}
      </Field>
      <button type="submit" disabled={create.isPending}>
        {t('Create meeting')}
      </button>
      <Notice error={create.error ?? members.error} />
    </form>
  );
}

type JoinMutation = ReturnType<typeof useJoin>;
const useJoin = (meeting: Meeting) => useMutation({ mutationFn: () => trpc.ai.meetings.joinToken.mutate({ id: meeting.id }) });

/** The caller's join token. Without LiveKit the API answers MEETINGS_NOT_CONFIGURED, which gets its own explanation. */
function JoinResult({ join }: { join: JoinMutation }) {
  const { t, formatDate } = useI18n();
  if (join.isError && errorCode(join.error) === 'MEETINGS_NOT_CONFIGURED') {
    return (
      <div className="notice" role="alert">
        <p>
          <strong>{t('Meetings are not set up on this server.')}</strong>{' '}
          {t(
            'Joining needs a LiveKit server: set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET and restart. Planning, starting and ending meetings work without it.',
          )}
        </p>
      </div>
    );
  }
  if (join.isError) return <Notice error={join.error} />;
  if (!join.data) return null;
  return (
    <div className="secret" role="status">
      <p>
        {t('Connect a LiveKit client to {url}, room {room}, with this token (valid until {until}):', {
          url: join.data.url,
          room: join.data.room,
          until: formatDate(join.data.expiresAt),
        })}
      </p>
      <code>{join.data.token}</code> <CopyButton text={join.data.token} label={t('Copy token')} />
    </div>
  );
}

function MeetingItem({ meeting }: { meeting: Meeting }) {
  const { t, formatDate, formatMoney } = useI18n();
  const tenantId = useTenantId();
  const refresh = () => void queryClient.invalidateQueries({ queryKey: meetingsKey(tenantId) });
  const start = useMutation({ mutationFn: () => trpc.ai.meetings.start.mutate({ id: meeting.id }), onSuccess: refresh });
  const end = useMutation({
    mutationFn: () => trpc.ai.meetings.end.mutate({ id: meeting.id }),
    onSuccess: () => {
      refresh();
      void queryClient.invalidateQueries({ queryKey: keys.scoped(tenantId, 'ai-costs') });
    },
  });
  const remove = useMutation({ mutationFn: () => trpc.ai.meetings.delete.mutate({ id: meeting.id }), onSuccess: refresh });
  const join = useJoin(meeting);
  const tone = meeting.status === 'live' ? 'good' : meeting.status === 'ended' ? 'neutral' : 'warn';
  return (
    <li>
      <div className="row spread">
        <div>
          <strong>{meeting.title}</strong> <Badge tone={tone}>{t(meeting.status)}</Badge>
          {meeting.description && <p className="muted">{meeting.description}</p>}
          <br />
          <small>
            {meeting.status === 'scheduled' && t('Scheduled for {when}', { when: formatDate(meeting.scheduledAt) })}
            {meeting.status === 'live' && t('Started {when}', { when: formatDate(meeting.startedAt) })}
            {meeting.status === 'ended' && t('Ended {when}', { when: formatDate(meeting.endedAt) })}
            {meeting.participants.length > 0 && ` · ${meeting.participants.map((p) => p.name).join(', ')}`}
          </small>
        </div>
        <div className="actions">
          {meeting.status === 'scheduled' && (
            <button type="button" disabled={start.isPending} onClick={() => start.mutate()}>
              {t('Start')}
            </button>
          )}
          {meeting.status !== 'ended' && (
            <button type="button" className="secondary" disabled={join.isPending} onClick={() => join.mutate()}>
              {t('Join')}
            </button>
          )}
          {meeting.status === 'live' && (
            <button type="button" disabled={end.isPending} onClick={() => end.mutate()}>
              {t('End')}
            </button>
          )}
          {meeting.conversationId && (
            <Link className="button secondary" to={`/ai/conversations/${meeting.conversationId}`}>
              {t('Transcript')}
            </Link>
          )}
          {meeting.status !== 'live' && (
            <ConfirmButton
              question={t('Delete {name}?', { name: meeting.title })}
              onConfirm={() => remove.mutate()}
              disabled={remove.isPending}
            >
              {t('Delete')}
            </ConfirmButton>
          )}
        </div>
      </div>
      {meeting.status !== 'ended' && <JoinResult join={join} />}
      <Notice
        error={start.error ?? end.error ?? remove.error}
        success={
          end.data
            ? t('Ended: {minutes} participant-minutes recorded ({amount}).', {
                minutes: end.data.cost.participantMinutes,
                amount: formatMoney(end.data.cost.amount),
              })
            : null
        }
      />
    </li>
  );
}

export function Meetings() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const [status, setStatus] = useState<MeetingStatus | undefined>();
  const paged = usePaged([...meetingsKey(tenantId), 'list', status], (cursor) =>
    trpc.ai.meetings.list.query({ status, cursor, limit: 25 }),
  );
  return (
    <>
      <Section title={t('New meeting')}>
        <NewMeeting />
      </Section>
      <Section title={t('Meetings')}>
        <div className="row">
          <FilterSelect<MeetingStatus>
            label={t('Status')}
            value={status}
            options={[
              { value: 'scheduled', label: t('scheduled') },
              { value: 'live', label: t('live') },
              { value: 'ended', label: t('ended') },
            ]}
            onChange={setStatus}
          />
        </div>
        <PagedList paged={paged} empty={t('No meetings yet.')}>
          {(items) => (
            <ul className="list">
              {items.map((m) => (
                <MeetingItem key={m.id} meeting={m} />
              ))}
            </ul>
          )}
        </PagedList>
      </Section>
    </>
  );
}
