import { useQuery } from '@tanstack/react-query';
import { keys, trpc } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { useRealtime } from '../../realtime.tsx';
import { Link } from '../../router.tsx';
import { useSession, useTenantId } from '../../session.tsx';
import { Empty, ErrorState, Loading, PageTitle, Section } from '../../ui/index.tsx';
import { BudgetStatus, CostsChart } from '../ai/costs.tsx';
import { ProcedureStatsTable } from './procedure-stats.tsx';

function Counts() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const counts = useQuery({
    queryKey: [...keys.scoped(tenantId, 'overview'), 'counts'],
    queryFn: async () => {
      const [contacts, companies, leads, campaigns] = await Promise.all([
        trpc.crm.contacts.list.query({ limit: 100 }),
        trpc.crm.companies.list.query({ limit: 100 }),
        trpc.crm.leads.list.query({ limit: 100 }),
        trpc.campaigns.list.query({ limit: 100 }),
      ]);
      const count = (page: { items: unknown[]; nextCursor: string | null }) =>
        page.nextCursor ? `${page.items.length}+` : String(page.items.length);
      return [
        { label: t('Contacts'), value: count(contacts) },
        { label: t('Companies'), value: count(companies) },
        { label: t('Leads'), value: count(leads) },
        { label: t('Campaigns'), value: count(campaigns) },
      ];
    },
  });
  if (counts.isPending) return <Loading />;
  if (counts.isError) return <ErrorState error={counts.error} onRetry={() => void counts.refetch()} />;
  return (
    <ul className="stats">
      {counts.data.map((c) => (
        <li key={c.label}>
          <strong>{c.value}</strong>
          <span>{c.label}</span>
        </li>
      ))}
    </ul>
  );
}

function Usage() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const stats = useQuery({
    queryKey: [...keys.scoped(tenantId, 'overview'), 'usage'],
    queryFn: () => trpc.observability.stats.query({ windowMinutes: 60 }),
  });
  if (stats.isPending) return <Loading />;
  if (stats.isError) return <ErrorState error={stats.error} />;
  if (stats.data.procedures.length === 0) return <Empty>{t('No API calls in the last hour.')}</Empty>;
  return (
    <ProcedureStatsTable
      rows={stats.data.procedures}
      most={8}
      caption={{ text: t('API calls in the last hour'), hidden: true }}
    />
  );
}

function LiveEvents() {
  const { t, formatDate } = useI18n();
  const live = useRealtime();
  if (live.events.length === 0) return null;
  return (
    <ul className="feed" aria-live="polite" aria-label={t('Live events')}>
      {live.events.slice(0, 10).map((e) => (
        <li key={e.id}>
          <code>{e.type}</code> <time dateTime={e.timestamp}>{formatDate(e.timestamp)}</time>
        </li>
      ))}
    </ul>
  );
}

function Activity() {
  const { t, formatDate } = useI18n();
  const tenantId = useTenantId();
  const audit = useQuery({
    queryKey: [...keys.scoped(tenantId, 'overview'), 'audit'],
    queryFn: () => trpc.audit.list.query({ limit: 10 }),
  });
  return (
    <>
      <LiveEvents />
      {audit.isPending ? (
        <Loading />
      ) : audit.isError ? (
        <ErrorState error={audit.error} />
      ) : audit.data.items.length === 0 ? (
        <Empty>{t('Nothing has happened yet.')}</Empty>
      ) : (
        <ul className="feed">
          {audit.data.items.map((entry) => (
            <li key={entry.id}>
              <code>{entry.action}</code> {entry.targetType} <time dateTime={entry.createdAt}>{formatDate(entry.createdAt)}</time>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** Members do not read the audit log, but they see this tenant's events as they happen. */
function MemberActivity() {
  const { t } = useI18n();
  const live = useRealtime();
  return (
    <>
      <LiveEvents />
      {live.events.length === 0 && <Empty>{t('No events since you opened the dashboard. Only admins see the audit log.')}</Empty>}
    </>
  );
}

export function Overview() {
  const { t } = useI18n();
  const session = useSession();
  return (
    <>
      <PageTitle>{session.tenant?.name ?? t('Overview')}</PageTitle>
      <div className="grid">
        <Section title={t('At a glance')}>
          <Counts />
        </Section>
        <Section title={t('Activity')}>{session.isAdmin ? <Activity /> : <MemberActivity />}</Section>
        <Section title={t('AI costs')}>
          <CostsChart period="day" compact />
          <BudgetStatus />
          <Link to="/ai/costs">{t('Costs and budget')}</Link>
        </Section>
        {session.isAdmin && (
          <Section title={t('Usage')}>
            <Usage />
          </Section>
        )}
      </div>
    </>
  );
}
