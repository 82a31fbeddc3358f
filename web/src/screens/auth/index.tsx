import { useMutation, useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { http, keys, queryClient } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { LanguagePicker } from '../../layout/Layout.tsx';
import { Link, navigate, useLocation } from '../../router.tsx';
import { ErrorState, Field } from '../../ui/index.tsx';

interface Provider {
  id: string;
  name: string;
}

/**
 * Where to go after signing in: a same-origin path from `?next=`, else the overview. Judged by where the
 * URL parser takes it, not by its first characters: `/\evil.example` reads as a path yet resolves to
 * another host.
 */
function nextPath(query: URLSearchParams): string {
  const next = query.get('next');
  if (!next?.startsWith('/')) return '/';
  const target = new URL(next, location.origin);
  return target.origin === location.origin ? `${target.pathname}${target.search}${target.hash}` : '/';
}

function OAuthButtons({ next }: { next: string }) {
  const { t } = useI18n();
  const providers = useQuery({
    queryKey: ['auth-providers'],
    queryFn: () => http<{ providers: Provider[] }>('GET', '/api/v1/auth/providers'),
  });
  const start = useMutation({
    mutationFn: async (provider: Provider) => {
      const callbackURL = new URL(next, location.origin).toString();
      const body =
        provider.id === 'google' || provider.id === 'microsoft'
          ? await http<{ url?: string }>('POST', '/api/auth/sign-in/social', { provider: provider.id, callbackURL })
          : await http<{ url?: string }>('POST', '/api/auth/sign-in/oauth2', { providerId: provider.id, callbackURL });
      if (body.url) location.assign(body.url);
    },
  });
  const list = providers.data?.providers ?? [];
  if (list.length === 0) return null;
  return (
    <div className="oauth">
      <p className="divider">{t('or')}</p>
      {list.map((provider) => (
        <button key={provider.id} type="button" className="secondary wide" onClick={() => start.mutate(provider)}>
          {t('Continue with {name}', { name: provider.name })}
        </button>
      ))}
      {start.error && <ErrorState error={start.error} />}
    </div>
  );
}

function AuthFrame({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <main id="main" className="auth">
      <div className="card auth-card">
        <div className="auth-head">
          <span className="brand">Palisade</span>
          <LanguagePicker />
        </div>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

export function SignIn() {
  const { t } = useI18n();
  const { query } = useLocation();
  const next = nextPath(query);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const signIn = useMutation({
    mutationFn: () => http('POST', '/api/auth/sign-in/email', { email, password }),
    onSuccess: async () => {
      await queryClient.resetQueries({ queryKey: keys.me });
      navigate(next, { replace: true });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    signIn.mutate();
  };
  return (
    <AuthFrame title={t('Sign in')}>
      <form onSubmit={submit}>
        <Field label={t('Email')}>
          {(p) => (
            <input {...p} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          )}
        </Field>
        <Field label={t('Password')}>
          {(p) => (
            <input
              {...p}
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        {signIn.error && <ErrorState error={signIn.error} />}
        <button type="submit" className="wide" disabled={signIn.isPending}>
          {signIn.isPending ? t('Signing in…') : t('Sign in')}
        </button>
      </form>
      <OAuthButtons next={next} />
      <p>
        {t('No account yet?')} <Link to={`/sign-up${location.search}`}>{t('Create an account')}</Link>
      </p>
    </AuthFrame>
  );
}

export function SignUp() {
  const { t } = useI18n();
  const { query } = useLocation();
  const next = nextPath(query);
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [needsVerification, setNeedsVerification] = useState(false);
  const signUp = useMutation({
    mutationFn: () =>
      http<{ token?: string | null }>('POST', '/api/auth/sign-up/email', {
        name,
        email,
        password,
        callbackURL: new URL(next, location.origin).toString(),
      }),
    onSuccess: async (body) => {
      if (!body.token) {
        setNeedsVerification(true);
        return;
      }
      await queryClient.resetQueries({ queryKey: keys.me });
      navigate(next, { replace: true });
    },
  });
  if (needsVerification) {
    return (
      <AuthFrame title={t('Check your email')}>
        <p role="status">{t('We sent a link to {email}. Open it to finish signing up.', { email })}</p>
      </AuthFrame>
    );
  }
  return (
    <AuthFrame title={t('Create an account')}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          signUp.mutate();
        }}
      >
        <Field label={t('Name')}>
          {(p) => <input {...p} autoComplete="name" required value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label={t('Email')}>
          {(p) => (
            <input {...p} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          )}
        </Field>
        <Field label={t('Password')} hint={t('At least 10 characters.')}>
          {(p) => (
            <input
              {...p}
              type="password"
              autoComplete="new-password"
              minLength={10}
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        {signUp.error && <ErrorState error={signUp.error} />}
        <button type="submit" className="wide" disabled={signUp.isPending}>
          {signUp.isPending ? t('Creating account…') : t('Create account')}
        </button>
      </form>
      <OAuthButtons next={next} />
      <p>
        {t('Already have an account?')} <Link to={`/sign-in${location.search}`}>{t('Sign in')}</Link>
      </p>
    </AuthFrame>
  );
}
