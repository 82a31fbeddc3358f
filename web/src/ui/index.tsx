import { type InfiniteData, useInfiniteQuery } from '@tanstack/react-query';
import { type ReactNode, useEffect, useId, useRef, useState } from 'react';
import { errorCode, errorIssues, errorMessage } from '../api.ts';
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
  const issues = errorIssues(error);
  return (
    <div className="state error" role="alert">
      <p>{text}</p>
      {issues.length > 0 && (
        <ul>
          {issues.map((issue) => (
            <li key={`${issue.path}:${issue.message}`}>
              {issue.path && <code>{issue.path}</code>} {issue.message}
            </li>
          ))}
        </ul>
      )}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          {t('Try again')}
        </button>
      )}
    </div>
  );
}

/** Copies a text to the clipboard and says whether that worked (there is no clipboard outside secure contexts). */
export function CopyButton({ text, label }: { text: string; label?: string }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState<boolean | null>(null);
  const copy = () => {
    const clipboard = navigator.clipboard as Clipboard | undefined;
    if (!clipboard) return setCopied(false);
    clipboard.writeText(text).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  };
  return (
    <span className="copy">
      <button type="button" className="secondary" onClick={copy}>
        {label ?? t('Copy')}
      </button>
      <span role="status" className={copied === false ? 'state error' : 'state success'}>
        {copied === true ? t('Copied.') : copied === false ? t('Could not copy: select the text and copy it yourself.') : ''}
      </span>
    </span>
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

/** A comma- or line-separated list as typed into one field, without blanks. */
export const splitList = (text: string): string[] =>
  text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);

/** A filter's choice, "All" first: no value means no filter. */
export function FilterSelect<V extends string>({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: V | undefined;
  options: readonly { value: V; label: string }[];
  onChange(value: V | undefined): void;
}) {
  const { t } = useI18n();
  return (
    <Field label={label}>
      {(p) => (
        <select {...p} value={value ?? ''} onChange={(e) => onChange((e.target.value || undefined) as V | undefined)}>
          <option value="">{t('All')}</option>
          {options.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** A button that asks first: for deleting, and other changes that cannot be taken back. */
export function ConfirmButton({
  question,
  onConfirm,
  disabled,
  className = 'danger',
  children,
}: {
  question: string;
  onConfirm(): void;
  disabled?: boolean;
  className?: string;
  children: ReactNode;
}) {
  return (
    <button
      type="button"
      className={className}
      disabled={disabled}
      onClick={() => {
        if (confirm(question)) onConfirm();
      }}
    >
      {children}
    </button>
  );
}

/** Checkboxes choosing some ids out of a list (tenants to share with, members to invite). */
export function CheckList({
  items,
  chosen,
  onChange,
}: {
  items: readonly { id: string; label: string }[];
  chosen: readonly string[];
  onChange(chosen: string[]): void;
}) {
  return (
    <div className="checks">
      {items.map((item) => (
        <label key={item.id} className="check">
          <input
            type="checkbox"
            checked={chosen.includes(item.id)}
            onChange={(e) => onChange(e.target.checked ? [...chosen, item.id] : chosen.filter((id) => id !== item.id))}
          />{' '}
          {item.label}
        </label>
      ))}
    </div>
  );
}
