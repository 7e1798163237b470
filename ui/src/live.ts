// Live updates: one EventSource on the server's alert stream (GET /api/alerts/_stream, Server-Sent
// Events), shared by the pages. `alerts` events say new alerts were written, `status` events that
// alerts changed workflow status. The browser reconnects by itself; the stream resumes from the
// last event id it saw, so nothing written meanwhile is missed.
import { useEffect, useRef, useState } from 'preact/hooks';
import { BASE } from './api.js';

export type LiveEvent = { type: 'alerts'; count: number; ids: string[] } | { type: 'status'; ids: string[]; status: string };
export type LiveState = 'connecting' | 'live' | 'offline' | 'off';

let source: EventSource | null = null;
let state: LiveState = 'off';
const handlers = new Set<(e: LiveEvent) => void>();
const stateListeners = new Set<(s: LiveState) => void>();

function setState(s: LiveState) {
  state = s;
  stateListeners.forEach((l) => l(s));
}

function connect() {
  if (source) return;
  setState('connecting');
  source = new EventSource(`${BASE}/api/alerts/_stream`);
  source.onopen = () => setState('live');
  source.onerror = () => setState(source?.readyState === EventSource.CLOSED ? 'offline' : 'connecting');
  source.addEventListener('alerts', (e) => {
    const d = JSON.parse((e as MessageEvent<string>).data) as { count: number; ids: string[] };
    handlers.forEach((h) => h({ type: 'alerts', count: d.count, ids: d.ids }));
  });
  source.addEventListener('status', (e) => {
    const d = JSON.parse((e as MessageEvent<string>).data) as { ids: string[]; status: string };
    handlers.forEach((h) => h({ type: 'status', ids: d.ids, status: d.status }));
  });
}

/** Subscribes a page to live events; returns the connection state. */
export function useLive(onEvent: (e: LiveEvent) => void): LiveState {
  const cb = useRef(onEvent);
  cb.current = onEvent;
  const [s, setS] = useState<LiveState>(state);
  useEffect(() => {
    const h = (e: LiveEvent) => cb.current(e);
    handlers.add(h);
    stateListeners.add(setS);
    connect();
    setS(state);
    return () => {
      handlers.delete(h);
      stateListeners.delete(setS);
    };
  }, []);
  return s;
}
