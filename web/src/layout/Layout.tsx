import { type ReactNode, useState } from 'react';
import { LOCALES, type LocaleCode } from '../../../src/web/locales.ts';
import { type MessageKey, useI18n } from '../i18n/index.tsx';
import { useRealtime } from '../realtime.tsx';
import { Link, navigate, useLocation } from '../router.tsx';
import { useSession } from '../session.tsx';

interface NavItem {
  to: string;
  label: MessageKey;
  admin?: boolean;
  platform?: boolean;
}

const NAV: NavItem[] = [
  { to: '/', label: 'Overview' },
  { to: '/crm/contacts', label: 'Contacts' },
  { to: '/crm/companies', label: 'Companies' },
  { to: '/crm/leads', label: 'Leads' },
  { to: '/campaigns', label: 'Campaigns' },
  { to: '/ai/agents', label: 'AI assistant' },
  { to: '/members', label: 'Members' },
  { to: '/api-keys', label: 'API keys', admin: true },
  { to: '/webhooks', label: 'Webhooks', admin: true },
  { to: '/audit', label: 'Audit log', admin: true },
  { to: '/settings', label: 'Settings' },
  { to: '/platform', label: 'Platform', platform: true },
];

export function LanguagePicker() {
  const { t, locale, setLocale } = useI18n();
  return (
    <label className="inline">
      <span className="visually-hidden">{t('Language')}</span>
      <select value={locale} onChange={(e) => setLocale(e.target.value as LocaleCode)} aria-label={t('Language')}>
        {LOCALES.map((l) => (
          <option key={l.code} value={l.code}>
            {l.name}
          </option>
        ))}
      </select>
    </label>
  );
}

function TenantSwitcher() {
  const { t } = useI18n();
  const session = useSession();
  if (session.me.tenants.length === 0) return null;
  return (
    <label className="inline">
      <span className="visually-hidden">{t('Tenant')}</span>
      <select
        aria-label={t('Tenant')}
        data-testid="tenant-switcher"
        value={session.tenant?.id ?? ''}
        onChange={(e) => void session.switchTenant(e.target.value)}
      >
        {session.me.tenants.map((tenant) => (
          <option key={tenant.id} value={tenant.id}>
            {tenant.name}
          </option>
        ))}
      </select>
    </label>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const { t } = useI18n();
  const session = useSession();
  const realtime = useRealtime();
  const { path } = useLocation();
  const [open, setOpen] = useState(false);
  const items = NAV.filter((item) => (!item.admin || session.isAdmin) && (!item.platform || session.isPlatformAdmin));
  const current = (to: string) => (to === '/' ? path === '/' : path === to || path.startsWith(`${to}/`));
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        {t('Skip to content')}
      </a>
      <header className="topbar">
        <button
          type="button"
          className="nav-toggle secondary"
          aria-expanded={open}
          aria-controls="main-nav"
          onClick={() => setOpen(!open)}
        >
          {t('Menu')}
        </button>
        <Link to="/" className="brand">
          Palisade
        </Link>
        <TenantSwitcher />
        <span className={`live ${realtime.status}`} data-realtime={realtime.status} title={t('Live updates')}>
          {realtime.status === 'live' ? t('Live') : realtime.status === 'connecting' ? t('Connecting…') : t('Offline')}
        </span>
        <span className="spacer" />
        <LanguagePicker />
        <span className="who" title={session.me.user.email}>
          {session.me.user.name}
          {session.role && <small> · {t(session.role)}</small>}
        </span>
        <button
          type="button"
          className="secondary"
          onClick={() => void session.signOut().then(() => navigate('/sign-in', { replace: true }))}
        >
          {t('Sign out')}
        </button>
      </header>
      <nav id="main-nav" className={open ? 'open' : ''} aria-label={t('Main')}>
        <ul>
          {items.map((item) => (
            <li key={item.to}>
              <Link to={item.to} aria-current={current(item.to) ? 'page' : undefined} onClick={() => setOpen(false)}>
                {t(item.label)}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main">{children}</main>
    </div>
  );
}
