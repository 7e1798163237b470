// A small history-API router: every page has its own URL under /app/ (filters in the query string),
// so a view can be bookmarked, shared and reloaded.
import { useEffect, useState } from 'preact/hooks';
import { BASE } from './api.js';

export interface Location {
  /** Path below /app, e.g. `/alerts/abc`. */
  path: string;
  params: URLSearchParams;
}

function current(): Location {
  let p = location.pathname.slice(BASE.length);
  if (p.startsWith('/app')) p = p.slice(4);
  if (p === '' || p === '/') p = '/alerts';
  return { path: p.replace(/\/+$/, '') || '/alerts', params: new URLSearchParams(location.search) };
}

const listeners = new Set<() => void>();
window.addEventListener('popstate', () => listeners.forEach((l) => l()));

/** The full URL of an app path (`/alerts?x=1`). */
export function href(path: string): string {
  return `${BASE}/app${path}`;
}

/** Goes to an app path; `replace` for changes that should not add a history entry (typing in a filter). */
export function navigate(path: string, replace = false): void {
  const url = href(path);
  if (url === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  listeners.forEach((l) => l());
  if (!replace) window.scrollTo(0, 0);
}

export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const l = () => setLoc(current());
    listeners.add(l);
    // A history move between the first render and this effect (a quick Back while the page was
    // still starting) fired its popstate before anyone listened: catch up with the address bar.
    const now = current();
    if (now.path !== loc.path || now.params.toString() !== loc.params.toString()) l();
    return () => void listeners.delete(l);
  }, []);
  return loc;
}

/** onClick for in-app links: plain clicks navigate without a reload; modified clicks open tabs as usual. */
export function linkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.currentTarget as HTMLElement).closest('a');
  if (!a || a.target === '_blank') return;
  const url = new URL(a.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(`${BASE}/app`)) return;
  e.preventDefault();
  navigate(url.pathname.slice(BASE.length + 4) + url.search);
}
