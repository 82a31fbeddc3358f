import { useI18n } from '../../i18n/index.tsx';

interface ProcedureStats {
  procedure: string;
  count: number;
  errors: number;
  p95Ms: number;
  tenantId?: string;
}

/**
 * The busiest procedures first, with a bar for the count: a tenant's own usage on the overview, every
 * tenant's on the platform screen (`tenantName` adds the tenant column).
 */
export function ProcedureStatsTable({
  rows,
  caption,
  most,
  tenantName,
}: {
  rows: readonly ProcedureStats[];
  caption: { text: string; hidden?: boolean };
  most: number;
  tenantName?: (tenantId: string | undefined) => string;
}) {
  const { t } = useI18n();
  const top = [...rows].sort((a, b) => b.count - a.count).slice(0, most);
  const max = Math.max(1, ...top.map((r) => r.count));
  return (
    <table>
      <caption className={caption.hidden ? 'visually-hidden' : undefined}>{caption.text}</caption>
      <thead>
        <tr>
          {tenantName && <th scope="col">{t('Tenant')}</th>}
          <th scope="col">{t('Procedure')}</th>
          <th scope="col">{t('Calls')}</th>
          <th scope="col">{t('Errors')}</th>
          <th scope="col">p95</th>
        </tr>
      </thead>
      <tbody>
        {top.map((r) => (
          <tr key={`${r.tenantId ?? ''}:${r.procedure}`}>
            {tenantName && <td>{tenantName(r.tenantId)}</td>}
            <td>
              <code>{r.procedure}</code>
              <span className="bar" style={{ width: `${(r.count / max) * 100}%` }} aria-hidden="true" />
            </td>
            <td>{r.count}</td>
            <td>{r.errors}</td>
            <td>{Math.round(r.p95Ms)} ms</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
