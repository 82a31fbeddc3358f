import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { keys, queryClient, type RouterInputs, type RouterOutputs, trpc } from '../../api.ts';
import { type MessageKey, useI18n } from '../../i18n/index.tsx';
import { useSession, useTenantId } from '../../session.tsx';
import {
  Badge,
  Empty,
  ErrorState,
  Field,
  FilterSelect,
  Loading,
  Notice,
  PagedList,
  Section,
  splitList,
  usePaged,
} from '../../ui/index.tsx';

type Summary = RouterOutputs['ai']['costs']['summary'];
type Service = Summary['rows'][number]['service'];
type Period = Summary['period'];
type Budget = RouterOutputs['ai']['costs']['budget']['get'];
type Alert = RouterOutputs['ai']['costs']['budget']['alerts']['items'][number];
type AlertStatus = NonNullable<RouterInputs['ai']['costs']['budget']['alerts']['status']>;

const costsKey = (tenantId: string | null) => keys.scoped(tenantId, 'ai-costs');

/** Every service, in stacking order, with its label and colour (a record, so a new service fails to compile here). */
const SERVICES: Record<Service, { label: MessageKey; index: number }> = {
  llm: { label: 'Language model', index: 1 },
  embedding: { label: 'Embeddings', index: 2 },
  vision: { label: 'Vision', index: 3 },
  voice: { label: 'Voice', index: 4 },
  livekit: { label: 'Meetings (LiveKit)', index: 5 },
};
const SERVICE_ORDER = (Object.keys(SERVICES) as Service[]).sort((a, b) => SERVICES[a].index - SERVICES[b].index);

/** The first day (UTC) of every bucket from `from` up to `to`, so days or months without costs show as gaps. */
function buckets(summary: Summary): string[] {
  const out: string[] = [];
  const end = new Date(summary.to);
  const cursor = new Date(summary.from);
  cursor.setUTCHours(0, 0, 0, 0);
  if (summary.period === 'month') cursor.setUTCDate(1);
  while (cursor < end && out.length < 400) {
    out.push(cursor.toISOString().slice(0, 10));
    if (summary.period === 'day') cursor.setUTCDate(cursor.getUTCDate() + 1);
    else cursor.setUTCMonth(cursor.getUTCMonth() + 1);
  }
  return out;
}

function useSummary(period: Period) {
  const tenantId = useTenantId();
  return useQuery({
    queryKey: [...costsKey(tenantId), 'summary', period],
    queryFn: () => trpc.ai.costs.summary.query({ period }),
  });
}

/**
 * Spending per day (the last 30) or month (the last 12) as stacked CSS bars, one colour per service. The
 * bars are one image for assistive technology, described by its label; the same figures are in a table.
 */
export function CostsChart({ period, compact = false }: { period: Period; compact?: boolean }) {
  const { t, locale, formatMoney } = useI18n();
  const summary = useSummary(period);
  if (summary.isPending) return <Loading />;
  if (summary.isError) return <ErrorState error={summary.error} onRetry={() => void summary.refetch()} />;
  const data = summary.data;
  const labelFormat = new Intl.DateTimeFormat(
    locale,
    period === 'day' ? { day: 'numeric', month: 'short', timeZone: 'UTC' } : { month: 'short', year: '2-digit', timeZone: 'UTC' },
  );
  const label = (bucket: string) => labelFormat.format(new Date(`${bucket}T00:00:00Z`));
  const byBucket = new Map<string, Map<Service, number>>();
  for (const row of data.rows) {
    const services = byBucket.get(row.period) ?? new Map<Service, number>();
    services.set(row.service, (services.get(row.service) ?? 0) + row.amount);
    byBucket.set(row.period, services);
  }
  const all = buckets(data);
  const sum = (bucket: string) => [...(byBucket.get(bucket)?.values() ?? [])].reduce((a, b) => a + b, 0);
  const max = Math.max(0, ...all.map(sum));
  const range = period === 'day' ? t('the last 30 days') : t('the last 12 months');
  if (data.total === 0) return <Empty>{t('No AI costs in {range}.', { range })}</Empty>;
  const peak = all.reduce((best, b) => (sum(b) > sum(best) ? b : best), all[0] ?? '');
  const description = t('Costs per {unit} over {range}: {total} in total, highest {peak} on {when}.', {
    unit: period === 'day' ? t('day') : t('month'),
    range,
    total: formatMoney(data.total),
    peak: formatMoney(sum(peak)),
    when: label(peak),
  });
  const used = SERVICE_ORDER.filter((s) => data.totals.some((x) => x.service === s && x.amount > 0));
  const every = Math.ceil(all.length / (compact ? 6 : 10));
  return (
    <figure className={`chart${compact ? ' compact' : ''}`}>
      <div className="bars" role="img" aria-label={description} data-testid={`costs-chart-${period}`}>
        {all.map((bucket, index) => {
          const total = sum(bucket);
          const services = byBucket.get(bucket);
          return (
            <div key={bucket} className="bucket" title={`${label(bucket)}: ${formatMoney(total)}`}>
              <div className="stack" style={{ height: max > 0 ? `${(total / max) * 100}%` : '0' }}>
                {SERVICE_ORDER.filter((s) => (services?.get(s) ?? 0) > 0).map((s) => (
                  // Shares of the bar (summing to 1): flex-grow factors below 1 in total would leave the bar part empty.
                  <span
                    key={s}
                    className={`segment svc-${SERVICES[s].index}`}
                    style={{ flexGrow: (services?.get(s) ?? 0) / total }}
                  />
                ))}
              </div>
              <span className="tick" aria-hidden="true">
                {index % every === 0 ? label(bucket) : ''}
              </span>
            </div>
          );
        })}
      </div>
      <figcaption>
        <ul className="legend">
          {used.map((s) => (
            <li key={s}>
              <span className={`key svc-${SERVICES[s].index}`} aria-hidden="true" /> {t(SERVICES[s].label)}:{' '}
              {formatMoney(data.totals.find((x) => x.service === s)?.amount ?? 0)}
            </li>
          ))}
          <li>
            <strong>
              {t('Total')}: {formatMoney(data.total)}
            </strong>
          </li>
        </ul>
      </figcaption>
      {!compact && (
        <details>
          <summary>{t('Show as a table')}</summary>
          <table>
            <thead>
              <tr>
                <th scope="col">{period === 'day' ? t('Day') : t('Month')}</th>
                {used.map((s) => (
                  <th key={s} scope="col">
                    {t(SERVICES[s].label)}
                  </th>
                ))}
                <th scope="col">{t('Total')}</th>
              </tr>
            </thead>
            <tbody>
              {all
                .filter((b) => sum(b) > 0)
                .map((bucket) => (
                  <tr key={bucket}>
                    <th scope="row">{label(bucket)}</th>
                    {used.map((s) => (
                      <td key={s}>{formatMoney(byBucket.get(bucket)?.get(s) ?? 0)}</td>
                    ))}
                    <td>{formatMoney(sum(bucket))}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </details>
      )}
    </figure>
  );
}

export function useBudget() {
  const tenantId = useTenantId();
  return useQuery({ queryKey: [...costsKey(tenantId), 'budget'], queryFn: () => trpc.ai.costs.budget.get.query() });
}

/** This month's spending against the limit. */
export function BudgetStatus() {
  const { t, formatMoney } = useI18n();
  const budget = useBudget();
  if (budget.isPending) return <Loading />;
  if (budget.isError) return <ErrorState error={budget.error} onRetry={() => void budget.refetch()} />;
  const b = budget.data;
  if (b.monthlyLimit === null) {
    return (
      <p data-testid="budget-status">{t('No monthly limit. Spent this month: {spent}.', { spent: formatMoney(b.spent) })}</p>
    );
  }
  const percent = b.percentUsed ?? 0;
  const tone = percent >= 100 ? 'bad' : percent >= 80 ? 'warn' : 'good';
  return (
    <div data-testid="budget-status">
      <p>
        {t('{spent} of {limit} spent this month ({percent} %).', {
          spent: formatMoney(b.spent),
          limit: formatMoney(b.monthlyLimit),
          percent,
        })}{' '}
        <Badge tone={tone}>{b.hardLimit ? t('hard limit') : t('soft limit')}</Badge>
      </p>
      <meter
        className="budget-meter"
        min={0}
        max={b.monthlyLimit}
        low={b.monthlyLimit * 0.5}
        high={b.monthlyLimit * 0.8}
        optimum={0}
        value={Math.min(b.spent, b.monthlyLimit)}
        aria-label={t('Budget used')}
      />
      {b.reserved > 0 && <small> {t('{amount} held for calls in progress.', { amount: formatMoney(b.reserved) })}</small>}
      <p className="hint">
        {t('Alerts at {thresholds} % of the limit.', { thresholds: b.alertThresholds.join(', ') })}{' '}
        {b.hardLimit ? t('Model calls are refused once the limit is reached.') : t('Model calls continue past the limit.')}
      </p>
    </div>
  );
}

function BudgetForm({ budget }: { budget: Budget }) {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const [limit, setLimit] = useState(budget.monthlyLimit === null ? '' : String(budget.monthlyLimit));
  const [thresholds, setThresholds] = useState(budget.alertThresholds.join(', '));
  const [hardLimit, setHardLimit] = useState(budget.hardLimit);
  const [invalid, setInvalid] = useState(false);
  const save = useMutation({
    mutationFn: (alertThresholds: number[]) =>
      trpc.ai.costs.budget.set.mutate({ monthlyLimit: limit.trim() === '' ? null : Number(limit), alertThresholds, hardLimit }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: costsKey(tenantId) }),
  });
  return (
    <form
      aria-label={t('Budget settings')}
      onSubmit={(e) => {
        e.preventDefault();
        const list = splitList(thresholds).map(Number);
        const ok = list.every((n) => Number.isInteger(n) && n >= 1 && n <= 1000) && list.length <= 10;
        setInvalid(!ok);
        if (ok) save.mutate(list);
      }}
    >
      <div className="row">
        <Field label={t('Monthly limit (USD)')} hint={t('Empty: no limit')}>
          {(p) => <input {...p} type="number" min={0} step={0.01} value={limit} onChange={(e) => setLimit(e.target.value)} />}
        </Field>
        <Field label={t('Alert thresholds (%)')} hint={t('Up to ten whole numbers from 1 to 1000, comma-separated')}>
          {(p) => <input {...p} aria-invalid={invalid} value={thresholds} onChange={(e) => setThresholds(e.target.value)} />}
        </Field>
      </div>
      <label className="check">
        <input type="checkbox" checked={hardLimit} onChange={(e) => setHardLimit(e.target.checked)} />{' '}
        {t('Hard limit: refuse model calls once the limit is reached')}
      </label>
      {invalid && (
        <p className="state error" role="alert">
          {t('Up to ten whole numbers from 1 to 1000, comma-separated')}
        </p>
      )}
      <button type="submit" disabled={save.isPending}>
        {t('Save budget')}
      </button>
      <Notice error={save.error} success={save.isSuccess ? t('Saved.') : null} />
    </form>
  );
}

function AlertRow({ alert }: { alert: Alert }) {
  const { t, formatDate, formatMoney } = useI18n();
  const tenantId = useTenantId();
  const session = useSession();
  const refresh = () => void queryClient.invalidateQueries({ queryKey: costsKey(tenantId) });
  const change = useMutation({
    mutationFn: (action: 'acknowledge' | 'resolve') =>
      trpc.ai.costs.budget[action === 'acknowledge' ? 'acknowledgeAlert' : 'resolveAlert'].mutate({ id: alert.id }),
    onSuccess: refresh,
  });
  const tone = alert.severity === 'critical' ? 'bad' : alert.severity === 'warning' ? 'warn' : 'neutral';
  return (
    <tr>
      <td>{formatDate(alert.createdAt)}</td>
      <td>
        <Badge tone={tone}>{t(alert.severity)}</Badge> {t('{threshold} % reached', { threshold: alert.threshold })}
      </td>
      <td>
        {formatMoney(alert.spent)} / {formatMoney(alert.monthlyLimit)}
      </td>
      <td>{t(alert.status)}</td>
      <td className="actions">
        {session.isAdmin && alert.status === 'open' && (
          <button type="button" className="secondary" disabled={change.isPending} onClick={() => change.mutate('acknowledge')}>
            {t('Acknowledge')}
          </button>
        )}
        {session.isAdmin && alert.status !== 'resolved' && (
          <button type="button" className="secondary" disabled={change.isPending} onClick={() => change.mutate('resolve')}>
            {t('Resolve')}
          </button>
        )}
        {change.error && <ErrorState error={change.error} />}
      </td>
    </tr>
  );
}

function Alerts() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const [status, setStatus] = useState<AlertStatus | undefined>();
  const paged = usePaged([...costsKey(tenantId), 'alerts', status], (cursor) =>
    trpc.ai.costs.budget.alerts.query({ status, cursor, limit: 20 }),
  );
  return (
    <>
      <div className="row">
        <FilterSelect<AlertStatus>
          label={t('Status')}
          value={status}
          options={[
            { value: 'open', label: t('open') },
            { value: 'acknowledged', label: t('acknowledged') },
            { value: 'resolved', label: t('resolved') },
          ]}
          onChange={setStatus}
        />
      </div>
      <PagedList paged={paged} empty={t('No budget alerts.')}>
        {(items) => (
          <table>
            <thead>
              <tr>
                <th scope="col">{t('When')}</th>
                <th scope="col">{t('Alert')}</th>
                <th scope="col">{t('Spent')}</th>
                <th scope="col">{t('Status')}</th>
                <th scope="col">
                  <span className="visually-hidden">{t('Actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((a) => (
                <AlertRow key={a.id} alert={a} />
              ))}
            </tbody>
          </table>
        )}
      </PagedList>
    </>
  );
}

function CostEvents() {
  const { t, formatDate, formatMoney, formatNumber } = useI18n();
  const tenantId = useTenantId();
  const paged = usePaged([...costsKey(tenantId), 'events'], (cursor) => trpc.ai.costs.events.query({ cursor, limit: 20 }));
  return (
    <PagedList paged={paged} empty={t('No cost events yet.')}>
      {(items) => (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('When')}</th>
              <th scope="col">{t('Service')}</th>
              <th scope="col">{t('Model')}</th>
              <th scope="col">{t('Units')}</th>
              <th scope="col">{t('Amount')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((e) => (
              <tr key={e.id}>
                <td>{formatDate(e.createdAt)}</td>
                <td>{t(SERVICES[e.service].label)}</td>
                <td>{e.model ?? '—'}</td>
                <td>
                  {formatNumber(e.units)} <small>{e.unit}</small>
                </td>
                <td>{formatMoney(e.amount)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </PagedList>
  );
}

export function Costs() {
  const { t } = useI18n();
  const session = useSession();
  const budget = useBudget();
  const [period, setPeriod] = useState<Period>('day');
  return (
    <>
      <Section title={t('Spending')}>
        <fieldset className="segmented">
          <legend className="visually-hidden">{t('Period')}</legend>
          {(['day', 'month'] as const).map((p) => (
            <label key={p} className="check">
              <input type="radio" name="cost-period" checked={period === p} onChange={() => setPeriod(p)} />{' '}
              {p === 'day' ? t('Daily, last 30 days') : t('Monthly, last 12 months')}
            </label>
          ))}
        </fieldset>
        <CostsChart period={period} />
      </Section>
      <div className="grid">
        <Section title={t('Budget')}>
          <BudgetStatus />
          {session.isAdmin && budget.data && <BudgetForm budget={budget.data} />}
        </Section>
        <Section title={t('Budget alerts')}>
          <Alerts />
        </Section>
      </div>
      <Section title={t('Cost events')}>
        <CostEvents />
      </Section>
    </>
  );
}
