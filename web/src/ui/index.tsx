import { type InfiniteData, useInfiniteQuery } from '@tanstack/react-query';
import { type ReactNode, useEffect, useId, useRef } from 'react';
import { errorCode, errorMessage } from '../api.ts';
import { useI18n } from '../i18n/index.tsx';

export function Loading({ label }: { label?: string }) {
  const { t } = useI18n();
  return (
    <p className="state" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label ?? t('Loading…')}
    </p>
  );
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useI18n();
  const code = errorCode(error);
  const text = code === 'FORBIDDEN' || code === 'INSUFFICIENT_ROLE' ? t('You do not have access to this.') : errorMessage(error);
  return (
    <div className="state error" role="alert">
      <p>{text}</p>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          {t('Try again')}
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="state empty">{children}</p>;
}

/** A labelled form control: the label is tied to the input by id. */
export function Field({
  label,
  children,
  hint,
}: {
  label: string;
  hint?: string;
  children: (props: { id: string; 'aria-describedby'?: string }) => ReactNode;
}) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({ id, ...(hintId ? { 'aria-describedby': hintId } : {}) })}
      {hint && (
        <small id={hintId} className="hint">
          {hint}
        </small>
      )}
    </div>
  );
}

/** A page's heading, focused on navigation so screen readers announce the new screen. */
export function PageTitle({ children, actions }: { children: ReactNode; actions?: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return (
    <div className="page-title">
      <h1 tabIndex={-1} ref={ref}>
        {children}
      </h1>
      {actions && <div className="actions">{actions}</div>}
    </div>
  );
}

export function Section({ title, children }: { title: string; children: ReactNode }) {
  const id = useId();
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

export function Badge({ children, tone = 'neutral' }: { children: ReactNode; tone?: 'neutral' | 'good' | 'bad' | 'warn' }) {
  return <span className={`badge ${tone}`}>{children}</span>;
}

/** The result of a mutation, announced politely. */
export function Notice({ error, success }: { error?: unknown; success?: string | null }) {
  if (error) return <ErrorState error={error} />;
  if (success)
    return (
      <p className="state success" role="status">
        {success}
      </p>
    );
  return null;
}

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** A cursor-paginated list: pages are appended by "Load more". */
export function usePaged<T>(
  key: readonly unknown[],
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
  enabled = true,
) {
  const query = useInfiniteQuery<Page<T>, Error, InfiniteData<Page<T>>, readonly unknown[], string | undefined>({
    queryKey: key,
    queryFn: ({ pageParam }) => fetchPage(pageParam),
    initialPageParam: undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    enabled,
  });
  const items = query.data?.pages.flatMap((p) => p.items) ?? [];
  return { ...query, items };
}

/** Loading, error and empty states around a paged list, and its "Load more" button. */
export function PagedList<T>({
  paged,
  empty,
  children,
}: {
  paged: ReturnType<typeof usePaged<T>>;
  empty: string;
  children: (items: T[]) => ReactNode;
}) {
  const { t } = useI18n();
  if (paged.isPending) return <Loading />;
  if (paged.isError) return <ErrorState error={paged.error} onRetry={() => void paged.refetch()} />;
  if (paged.items.length === 0) return <Empty>{empty}</Empty>;
  return (
    <>
      {children(paged.items)}
      {paged.hasNextPage && (
        <button
          type="button"
          className="secondary"
          disabled={paged.isFetchingNextPage}
          onClick={() => void paged.fetchNextPage()}
        >
          {paged.isFetchingNextPage ? t('Loading…') : t('Load more')}
        </button>
      )}
    </>
  );
}
