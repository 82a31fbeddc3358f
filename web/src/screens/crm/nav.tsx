import { useI18n } from '../../i18n/index.tsx';
import { Link, useLocation } from '../../router.tsx';

/** The CRM's own tabs. */
export function CrmTabs() {
  const { t } = useI18n();
  const { path } = useLocation();
  const tabs = [
    { to: '/crm/contacts', label: t('Contacts') },
    { to: '/crm/companies', label: t('Companies') },
    { to: '/crm/leads', label: t('Leads') },
    { to: '/crm/import', label: t('Import') },
  ];
  return (
    <nav className="tabs" aria-label={t('CRM')}>
      {tabs.map((tab) => (
        <Link key={tab.to} to={tab.to} className="tab" aria-current={path === tab.to ? 'page' : undefined}>
          {tab.label}
        </Link>
      ))}
    </nav>
  );
}
