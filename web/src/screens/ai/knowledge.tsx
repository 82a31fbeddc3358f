import { useMutation, useQuery } from '@tanstack/react-query';
import { useRef, useState } from 'react';
import { keys, queryClient, type RouterInputs, type RouterOutputs, trpc, upload } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { useSession, useTenantId } from '../../session.tsx';
import {
  Badge,
  ConfirmButton,
  Empty,
  ErrorState,
  Field,
  FilterSelect,
  Loading,
  Notice,
  PagedList,
  Section,
  usePaged,
} from '../../ui/index.tsx';
import { Snippet } from './snippet.tsx';

type Document = RouterOutputs['ai']['knowledge']['documents']['list']['items'][number];
type DocumentFilter = Pick<RouterInputs['ai']['knowledge']['documents']['list'], 'status' | 'category'>;
type SearchInput = RouterInputs['ai']['knowledge']['search'];

/** The multipart route (src/api/knowledge-upload.ts); tRPC does not take files. */
const UPLOAD_PATH = '/api/v1/ai/knowledge/documents/upload';
const ACCEPT = '.txt,.text,.md,.markdown,.html,.htm,.pdf';

const knowledgeKey = (tenantId: string | null) => keys.scoped(tenantId, 'ai-knowledge');

function UploadForm() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const form = useRef<HTMLFormElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [title, setTitle] = useState('');
  const [category, setCategory] = useState('general');
  const send = useMutation({
    mutationFn: (chosen: File) => {
      const body = new FormData();
      if (title.trim()) body.append('title', title.trim());
      body.append('category', category.trim() || 'general');
      body.append('file', chosen, chosen.name);
      return upload<Document>(UPLOAD_PATH, body);
    },
    onSuccess: () => {
      form.current?.reset();
      setFile(null);
      setTitle('');
      void queryClient.invalidateQueries({ queryKey: knowledgeKey(tenantId) });
    },
  });
  return (
    <form
      ref={form}
      aria-label={t('Upload a file')}
      onSubmit={(e) => {
        e.preventDefault();
        if (file) send.mutate(file);
      }}
    >
      <Field label={t('File')} hint={t('Text, Markdown, HTML or PDF, up to 10 MB.')}>
        {(p) => <input {...p} type="file" required accept={ACCEPT} onChange={(e) => setFile(e.target.files?.[0] ?? null)} />}
      </Field>
      <div className="row">
        <Field label={t('Title')} hint={t('Empty: the file name')}>
          {(p) => <input {...p} maxLength={300} value={title} onChange={(e) => setTitle(e.target.value)} />}
        </Field>
        <Field label={t('Category')}>
          {(p) => <input {...p} required maxLength={100} value={category} onChange={(e) => setCategory(e.target.value)} />}
        </Field>
      </div>
      <button type="submit" disabled={!file || send.isPending}>
        {send.isPending ? t('Uploading…') : t('Upload')}
      </button>
      <Notice error={send.error} success={send.data ? t('{title} added.', { title: send.data.title }) : null} />
    </form>
  );
}

function TextForm() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const [title, setTitle] = useState('');
  const [category, setCategory] = useState('general');
  const [format, setFormat] = useState<'markdown' | 'text'>('markdown');
  const [content, setContent] = useState('');
  const create = useMutation({
    mutationFn: () =>
      trpc.ai.knowledge.documents.create.mutate({ title, category: category.trim() || 'general', format, content }),
    onSuccess: () => {
      setTitle('');
      setContent('');
      void queryClient.invalidateQueries({ queryKey: knowledgeKey(tenantId) });
    },
  });
  return (
    <form
      aria-label={t('Create from text')}
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <div className="row">
        <Field label={t('Title')}>
          {(p) => <input {...p} required maxLength={300} value={title} onChange={(e) => setTitle(e.target.value)} />}
        </Field>
        <Field label={t('Category')}>
          {(p) => <input {...p} required maxLength={100} value={category} onChange={(e) => setCategory(e.target.value)} />}
        </Field>
        <Field label={t('Format')}>
          {(p) => (
            <select {...p} value={format} onChange={(e) => setFormat(e.target.value as 'markdown' | 'text')}>
              <option value="markdown">Markdown</option>
              <option value="text">{t('Plain text')}</option>
            </select>
          )}
        </Field>
      </div>
      <Field label={t('Content')}>
        {(p) => <textarea {...p} rows={6} required value={content} onChange={(e) => setContent(e.target.value)} />}
      </Field>
      <button type="submit" disabled={create.isPending}>
        {t('Add document')}
      </button>
      <Notice error={create.error} success={create.data ? t('{title} added.', { title: create.data.title }) : null} />
    </form>
  );
}

function Chunks({ id }: { id: string }) {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const chunks = useQuery({
    queryKey: [...knowledgeKey(tenantId), 'chunks', id],
    queryFn: () => trpc.ai.knowledge.documents.chunks.query({ id, limit: 50 }),
  });
  if (chunks.isPending) return <Loading />;
  if (chunks.isError) return <ErrorState error={chunks.error} />;
  if (chunks.data.items.length === 0) return <Empty>{t('No chunks.')}</Empty>;
  return (
    <>
      <p className="hint">{t('{shown} of {total} chunks', { shown: chunks.data.items.length, total: chunks.data.total })}</p>
      <ol className="chunks">
        {chunks.data.items.map((chunk) => (
          <li key={chunk.id}>
            {chunk.heading && <strong>{chunk.heading}</strong>}{' '}
            <small>
              {t('{count} tokens', { count: chunk.tokenCount })}
              {chunk.embedded ? ` · ${t('embedded')}` : ''}
            </small>
            <p>{chunk.text}</p>
          </li>
        ))}
      </ol>
    </>
  );
}

function statusTone(status: Document['status']) {
  return status === 'ready' ? 'good' : status === 'failed' ? 'bad' : 'warn';
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function DocumentRow({ doc }: { doc: Document }) {
  const { t, formatDate } = useI18n();
  const tenantId = useTenantId();
  const session = useSession();
  const [open, setOpen] = useState(false);
  const refresh = () => void queryClient.invalidateQueries({ queryKey: knowledgeKey(tenantId) });
  const reindex = useMutation({
    mutationFn: () => trpc.ai.knowledge.documents.reindex.mutate({ id: doc.id }),
    onSuccess: refresh,
  });
  const remove = useMutation({ mutationFn: () => trpc.ai.knowledge.documents.delete.mutate({ id: doc.id }), onSuccess: refresh });
  const filename = typeof doc.metadata.filename === 'string' ? doc.metadata.filename : null;
  return (
    <>
      <tr>
        <td>
          <strong>{doc.title}</strong>
          {filename && filename !== doc.title && (
            <>
              <br />
              <small>{filename}</small>
            </>
          )}
        </td>
        <td>{doc.category}</td>
        <td>{doc.sourceType}</td>
        <td>
          <Badge tone={statusTone(doc.status)}>{t(doc.status)}</Badge>
          {doc.error && <small className="state error"> {doc.error}</small>}
        </td>
        <td>{doc.chunkCount}</td>
        <td>{formatSize(doc.sizeBytes)}</td>
        <td>{formatDate(doc.createdAt)}</td>
        <td className="actions">
          <button type="button" className="secondary" aria-expanded={open} onClick={() => setOpen(!open)}>
            {t('Chunks')}
          </button>
          {session.isAdmin && (
            <button type="button" className="secondary" disabled={reindex.isPending} onClick={() => reindex.mutate()}>
              {reindex.isPending ? t('Re-indexing…') : t('Re-index')}
            </button>
          )}
          <ConfirmButton
            question={t('Delete {name}?', { name: doc.title })}
            onConfirm={() => remove.mutate()}
            disabled={remove.isPending}
          >
            {t('Delete')}
          </ConfirmButton>
        </td>
      </tr>
      {(open || reindex.error || remove.error) && (
        <tr>
          <td colSpan={8}>
            <Notice error={reindex.error ?? remove.error} />
            {open && <Chunks id={doc.id} />}
          </td>
        </tr>
      )}
    </>
  );
}

/** Admins: re-index documents embedded with another model, or not ready, one batch at a time. */
function ReindexStale() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const run = useMutation({
    mutationFn: () => trpc.ai.knowledge.reindex.mutate({ max: 50 }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: knowledgeKey(tenantId) }),
  });
  return (
    <div className="row">
      <button type="button" className="secondary" disabled={run.isPending} onClick={() => run.mutate()}>
        {run.isPending ? t('Re-indexing…') : t('Re-index stale documents')}
      </button>
      <Notice
        error={run.error}
        success={
          run.data
            ? t('{reindexed} re-indexed, {failed} failed, {remaining} remaining.', {
                reindexed: run.data.reindexed,
                failed: run.data.failed,
                remaining: run.data.remaining,
              })
            : null
        }
      />
    </div>
  );
}

function DocumentList() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const session = useSession();
  const [filter, setFilter] = useState<DocumentFilter>({});
  const [category, setCategory] = useState('');
  const paged = usePaged([...knowledgeKey(tenantId), 'documents', filter], (cursor) =>
    trpc.ai.knowledge.documents.list.query({ ...filter, cursor, limit: 25 }),
  );
  return (
    <>
      <form
        className="row"
        aria-label={t('Filter documents')}
        onSubmit={(e) => {
          e.preventDefault();
          setFilter({ ...filter, category: category.trim() || undefined });
        }}
      >
        <FilterSelect
          label={t('Status')}
          value={filter.status}
          options={[
            { value: 'ready', label: t('ready') },
            { value: 'processing', label: t('processing') },
            { value: 'failed', label: t('failed') },
          ]}
          onChange={(status) => setFilter({ ...filter, status })}
        />
        <Field label={t('Category')}>
          {(p) => <input {...p} type="search" value={category} onChange={(e) => setCategory(e.target.value)} />}
        </Field>
        <button type="submit" className="secondary">
          {t('Filter')}
        </button>
      </form>
      {session.isAdmin && <ReindexStale />}
      <PagedList paged={paged} empty={t('No documents yet.')}>
        {(items) => (
          <table>
            <thead>
              <tr>
                <th scope="col">{t('Title')}</th>
                <th scope="col">{t('Category')}</th>
                <th scope="col">{t('Type')}</th>
                <th scope="col">{t('Status')}</th>
                <th scope="col">{t('Chunks')}</th>
                <th scope="col">{t('Size')}</th>
                <th scope="col">{t('Added')}</th>
                <th scope="col">
                  <span className="visually-hidden">{t('Actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((doc) => (
                <DocumentRow key={doc.id} doc={doc} />
              ))}
            </tbody>
          </table>
        )}
      </PagedList>
    </>
  );
}

const MODES = [
  { value: '', label: 'Default' },
  { value: 'fulltext', label: 'Full-text' },
  { value: 'semantic', label: 'Semantic' },
  { value: 'hybrid', label: 'Hybrid' },
] as const;

function SearchPlayground() {
  const { t } = useI18n();
  const [q, setQ] = useState('');
  const [category, setCategory] = useState('');
  const [mode, setMode] = useState<(typeof MODES)[number]['value']>('');
  const search = useMutation({
    mutationFn: (input: SearchInput) => trpc.ai.knowledge.search.query(input),
  });
  const modeLabel = (value: string) => t(MODES.find((m) => m.value === value)?.label ?? 'Default');
  return (
    <>
      <form
        aria-label={t('Search playground')}
        onSubmit={(e) => {
          e.preventDefault();
          search.mutate({ q, limit: 5, ...(category.trim() ? { category: category.trim() } : {}), ...(mode ? { mode } : {}) });
        }}
      >
        <Field label={t('Question')}>
          {(p) => <input {...p} type="search" required className="wide" value={q} onChange={(e) => setQ(e.target.value)} />}
        </Field>
        <div className="row">
          <Field label={t('Category')} hint={t('Empty: every category')}>
            {(p) => <input {...p} value={category} onChange={(e) => setCategory(e.target.value)} />}
          </Field>
          <Field label={t('Search mode')} hint={t('Semantic and hybrid need an embeddings service.')}>
            {(p) => (
              <select {...p} value={mode} onChange={(e) => setMode(e.target.value as typeof mode)}>
                {MODES.map((m) => (
                  <option key={m.value} value={m.value}>
                    {t(m.label)}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <button type="submit" disabled={search.isPending}>
            {t('Search')}
          </button>
        </div>
      </form>
      {search.isPending && <Loading />}
      <Notice error={search.error} />
      {search.data &&
        (search.data.items.length === 0 ? (
          <Empty>{t('Nothing found.')}</Empty>
        ) : (
          <section aria-label={t('Search results')}>
            <p className="hint">{t('Searched with: {mode}', { mode: modeLabel(search.data.mode) })}</p>
            <ol className="results">
              {search.data.items.map((hit) => (
                <li key={hit.chunkId}>
                  <strong>{hit.documentTitle}</strong>{' '}
                  <small>
                    {t('passage {position}', { position: hit.position + 1 })} ·{' '}
                    {t('score {score}', { score: hit.score.toFixed(3) })}
                  </small>
                  <p>
                    <Snippet html={hit.snippet} />
                  </p>
                </li>
              ))}
            </ol>
          </section>
        ))}
    </>
  );
}

export function Knowledge() {
  const { t } = useI18n();
  return (
    <>
      <div className="grid">
        <Section title={t('Upload a file')}>
          <UploadForm />
        </Section>
        <Section title={t('Create from text')}>
          <TextForm />
        </Section>
      </div>
      <Section title={t('Search playground')}>
        <SearchPlayground />
      </Section>
      <Section title={t('Documents')}>
        <DocumentList />
      </Section>
    </>
  );
}
