import { createContext, type ReactNode, useContext, useEffect, useState } from 'react';
import { queryClient } from './api.ts';

export interface LiveEvent {
  id: string;
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

interface Realtime {
  status: 'connecting' | 'live' | 'offline';
  /** The newest events first, at most 50. */
  events: LiveEvent[];
}

const RealtimeContext = createContext<Realtime>({ status: 'offline', events: [] });

export const useRealtime = () => useContext(RealtimeContext);

/**
 * One WebSocket per tab to /api/v1/realtime for the active tenant (the session cookie authenticates it,
 * `?tenantId=` names the tenant). Every event refetches the tenant's queries on screen, so lists update
 * live; the socket reconnects with backoff.
 */
export function RealtimeProvider({ tenantId, children }: { tenantId: string | null; children: ReactNode }) {
  const [state, setState] = useState<Realtime>({ status: 'connecting', events: [] });
  useEffect(() => {
    if (!tenantId) return;
    let socket: WebSocket | null = null;
    let closed = false;
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState({ status: 'connecting', events: [] });
    const connect = () => {
      const url = new URL(`/api/v1/realtime?tenantId=${encodeURIComponent(tenantId)}`, location.href);
      url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
      socket = new WebSocket(url);
      socket.onmessage = (message) => {
        let frame: { type?: string; event?: LiveEvent };
        try {
          frame = JSON.parse(String(message.data));
        } catch {
          return;
        }
        if (frame.type === 'ready') {
          attempt = 0;
          setState((s) => ({ ...s, status: 'live' }));
        } else if (frame.type === 'event' && frame.event) {
          const event = frame.event;
          setState((s) => ({ ...s, events: [event, ...s.events].slice(0, 50) }));
          void queryClient.invalidateQueries({ queryKey: ['t', tenantId] });
        }
      };
      socket.onclose = () => {
        if (closed) return;
        setState((s) => ({ ...s, status: 'offline' }));
        attempt += 1;
        timer = setTimeout(connect, Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5)));
      };
    };
    connect();
    return () => {
      closed = true;
      clearTimeout(timer);
      socket?.close();
    };
  }, [tenantId]);
  return <RealtimeContext.Provider value={state}>{children}</RealtimeContext.Provider>;
}
