import { useMutation, useQuery } from '@tanstack/react-query';
import { createContext, type ReactNode, useContext, useEffect, useSyncExternalStore } from 'react';
import { errorCode, http, keys, queryClient, tenantStore, trpc } from './api.ts';

type Me = Awaited<ReturnType<typeof trpc.me.get.query>>;
export type MyTenant = Me['tenants'][number];
export type Role = MyTenant['role'];

export interface Session {
  me: Me;
  tenant: MyTenant | null;
  role: Role | null;
  /** Owner or admin of the active tenant: sees and may use admin actions. */
  isAdmin: boolean;
  isPlatformAdmin: boolean;
  switchTenant(id: string): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}

/** The active tenant id of this tab, re-rendering when it changes. */
export function useTenantId(): string | null {
  return useSyncExternalStore(tenantStore.subscribe, tenantStore.get);
}

export function useMe() {
  return useQuery({
    queryKey: keys.me,
    queryFn: async () => {
      try {
        return await trpc.me.get.query();
      } catch (error) {
        if (errorCode(error) === 'UNAUTHENTICATED') return null;
        throw error;
      }
    },
  });
}

export async function signOut() {
  await http('POST', '/api/auth/sign-out', {});
  tenantStore.set(null);
  queryClient.clear();
}

export function SessionProvider({ me, children }: { me: Me; children: ReactNode }) {
  const stored = useTenantId();
  const tenant =
    me.tenants.find((t) => t.id === stored) ?? me.tenants.find((t) => t.id === me.activeTenantId) ?? me.tenants[0] ?? null;
  useEffect(() => {
    tenantStore.set(tenant?.id ?? null);
  }, [tenant?.id]);
  const platform = useQuery({
    queryKey: ['platform-admin', me.user.id],
    queryFn: () =>
      trpc.platform.stats.query({ windowMinutes: 1 }).then(
        () => true,
        () => false,
      ),
    staleTime: Number.POSITIVE_INFINITY,
  });
  const switcher = useMutation({ mutationFn: (tenantId: string) => trpc.tenants.switch.mutate({ tenantId }) });
  const role = tenant?.role ?? null;
  const value: Session = {
    me,
    tenant,
    role,
    isAdmin: role === 'owner' || role === 'admin',
    isPlatformAdmin: platform.data === true,
    async switchTenant(id) {
      tenantStore.set(id);
      // The session's active tenant follows, so a new tab (or the realtime socket) starts there too.
      await switcher.mutateAsync(id).catch(() => undefined);
    },
    signOut,
  };
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}
