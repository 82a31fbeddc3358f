import { useEffect } from 'react';
import { useI18n } from './i18n/index.tsx';
import { Layout } from './layout/Layout.tsx';
import { RealtimeProvider } from './realtime.tsx';
import { navigate, useLocation } from './router.tsx';
import { AiScreens } from './screens/ai/index.tsx';
import { ApiKeys } from './screens/api-keys/index.tsx';
import { AuditLog } from './screens/audit/index.tsx';
import { SignIn, SignUp } from './screens/auth/index.tsx';
import { Campaigns } from './screens/campaigns/index.tsx';
import { Companies } from './screens/crm/companies.tsx';
import { ContactDetail } from './screens/crm/contact-detail.tsx';
import { Contacts } from './screens/crm/contacts.tsx';
import { ImportContacts } from './screens/crm/import.tsx';
import { LeadsBoard } from './screens/crm/leads.tsx';
import { AcceptInvitation } from './screens/invitation/index.tsx';
import { Members } from './screens/members/index.tsx';
import { CreateTenant } from './screens/onboarding/index.tsx';
import { Overview } from './screens/overview/index.tsx';
import { Platform } from './screens/platform/index.tsx';
import { Settings } from './screens/settings/index.tsx';
import { Webhooks } from './screens/webhooks/index.tsx';
import { SessionProvider, useMe, useSession, useTenantId } from './session.tsx';
import { ErrorState, Loading, PageTitle } from './ui/index.tsx';

const PUBLIC = ['/sign-in', '/sign-up'];

function Screen({ path }: { path: string }) {
  const { t } = useI18n();
  const session = useSession();
  if (path === '/invitations/accept') return <AcceptInvitation />;
  if (path === '/tenants/new' || !session.tenant) return <CreateTenant />;
  const contact = path.match(/^\/crm\/contacts\/([0-9a-f-]{36})$/);
  if (contact?.[1]) return <ContactDetail id={contact[1]} />;
  if (path === '/ai' || path.startsWith('/ai/')) return <AiScreens path={path} />;
  switch (path) {
    case '/':
      return <Overview />;
    case '/members':
      return <Members />;
    case '/api-keys':
      return <ApiKeys />;
    case '/webhooks':
      return <Webhooks />;
    case '/audit':
      return <AuditLog />;
    case '/crm/contacts':
      return <Contacts />;
    case '/crm/companies':
      return <Companies />;
    case '/crm/leads':
      return <LeadsBoard />;
    case '/crm/import':
      return <ImportContacts />;
    case '/campaigns':
      return <Campaigns />;
    case '/settings':
      return <Settings />;
    case '/platform':
      return <Platform />;
    default:
      return <PageTitle>{t('Page not found')}</PageTitle>;
  }
}

function SignedIn({ path }: { path: string }) {
  const tenantId = useTenantId();
  return (
    <RealtimeProvider tenantId={tenantId}>
      <Layout>
        {/* Each tenant gets fresh screen state: nothing of one tenant lingers after a switch. */}
        <Screen key={tenantId ?? 'none'} path={path} />
      </Layout>
    </RealtimeProvider>
  );
}

export function App() {
  const { path } = useLocation();
  const me = useMe();
  const signedIn = Boolean(me.data);
  const isPublic = PUBLIC.includes(path);
  useEffect(() => {
    if (me.isSuccess && !signedIn && !isPublic) {
      navigate(`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
    }
    if (signedIn && isPublic) navigate('/', { replace: true });
  }, [me.isSuccess, signedIn, isPublic]);
  if (me.isPending) return <Loading />;
  if (me.isError) return <ErrorState error={me.error} onRetry={() => void me.refetch()} />;
  if (!me.data) return path === '/sign-up' ? <SignUp /> : <SignIn />;
  return (
    <SessionProvider me={me.data}>
      <SignedIn path={path} />
    </SessionProvider>
  );
}
