import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { HttpError, keys, queryClient, tenantStore } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { useTenantId } from '../../session.tsx';
import { Field, Notice, PageTitle, Section } from '../../ui/index.tsx';
import { CrmTabs } from './nav.tsx';

interface ImportReport {
  committed: boolean;
  rows: number;
  created: number;
  updated: number;
  skipped: number;
  rejected: number;
  rejectedRows: { row: number; errors: { column: string | null; message: string }[] }[];
}

export function ImportContacts() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const [file, setFile] = useState<File | null>(null);
  const [duplicates, setDuplicates] = useState<'skip' | 'update'>('skip');
  const [mode, setMode] = useState<'partial' | 'atomic'>('partial');
  const upload = useMutation({
    mutationFn: async (): Promise<ImportReport> => {
      if (!file) throw new Error(t('Choose a CSV file first.'));
      const headers: Record<string, string> = { 'content-type': 'text/csv' };
      const tenant = tenantStore.get();
      if (tenant) headers['x-tenant-id'] = tenant;
      const response = await fetch(`/api/v1/crm/contacts/import?mode=${mode}&duplicates=${duplicates}`, {
        method: 'POST',
        headers,
        credentials: 'include',
        body: file,
      });
      const body = await response.json();
      if (!response.ok) throw new HttpError(response.status, body?.error?.code ?? 'INTERNAL', body?.error?.message ?? '');
      return body as ImportReport;
    },
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: keys.scoped(tenantId, 'contacts') }),
  });
  return (
    <>
      <PageTitle>{t('Import contacts')}</PageTitle>
      <CrmTabs />
      <Section title={t('CSV file')}>
        <p>{t('Columns: name, email, other_emails, phones, title, tags, company_domain, owner_email, and custom fields.')}</p>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            upload.mutate();
          }}
        >
          <Field label={t('File')}>
            {(p) => (
              <input {...p} type="file" accept=".csv,text/csv" required onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
            )}
          </Field>
          <div className="row">
            <Field label={t('Existing contacts')}>
              {(p) => (
                <select {...p} value={duplicates} onChange={(e) => setDuplicates(e.target.value as 'skip' | 'update')}>
                  <option value="skip">{t('Skip them')}</option>
                  <option value="update">{t('Update them')}</option>
                </select>
              )}
            </Field>
            <Field label={t('On errors')}>
              {(p) => (
                <select {...p} value={mode} onChange={(e) => setMode(e.target.value as 'partial' | 'atomic')}>
                  <option value="partial">{t('Import the valid rows')}</option>
                  <option value="atomic">{t('Import nothing')}</option>
                </select>
              )}
            </Field>
          </div>
          <button type="submit" disabled={upload.isPending}>
            {upload.isPending ? t('Importing…') : t('Import')}
          </button>
        </form>
        <Notice error={upload.error} />
        {upload.data && (
          <div role="status">
            <p>
              {t('{rows} rows: {created} created, {updated} updated, {skipped} skipped, {rejected} rejected.', {
                rows: upload.data.rows,
                created: upload.data.created,
                updated: upload.data.updated,
                skipped: upload.data.skipped,
                rejected: upload.data.rejected,
              })}
            </p>
            {upload.data.rejectedRows.length > 0 && (
              <ul>
                {upload.data.rejectedRows.map((r) => (
                  <li key={r.row}>
                    {t('Row {row}', { row: r.row })}: {r.errors.map((e) => `${e.column ?? ''} ${e.message}`).join('; ')}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
      </Section>
    </>
  );
}
