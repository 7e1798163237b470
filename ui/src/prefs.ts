// The user's display preferences, kept in localStorage: theme (light, dark or the system's) and
// the time zone times are shown in (UTC, the default, so that analysts in different places read
// the same times; or the browser's).
import { useEffect, useState } from 'preact/hooks';

export type Theme = 'light' | 'dark' | 'system';
export type TimeZone = 'utc' | 'local';

export interface Prefs {
  theme: Theme;
  tz: TimeZone;
}

function load(): Prefs {
  let theme: Theme = 'system';
  let tz: TimeZone = 'utc';
  try {
    const t = localStorage.getItem('eqlite.theme');
    if (t === 'light' || t === 'dark' || t === 'system') theme = t;
    const z = localStorage.getItem('eqlite.tz');
    if (z === 'utc' || z === 'local') tz = z;
  } catch {
    // Storage unavailable (privacy mode): defaults.
  }
  // A URL can force the theme (?theme=dark), for screenshots and shared links.
  const forced = new URLSearchParams(location.search).get('theme');
  if (forced === 'light' || forced === 'dark') theme = forced;
  return { theme, tz };
}

let prefs = load();
const listeners = new Set<() => void>();

export function getPrefs(): Prefs {
  return prefs;
}

export function setPrefs(p: Partial<Prefs>): void {
  prefs = { ...prefs, ...p };
  try {
    localStorage.setItem('eqlite.theme', prefs.theme);
    localStorage.setItem('eqlite.tz', prefs.tz);
  } catch {
    // ignore
  }
  applyTheme();
  listeners.forEach((l) => l());
}

export function applyTheme(): void {
  const dark = prefs.theme === 'dark' || (prefs.theme === 'system' && matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
}

matchMedia('(prefers-color-scheme: dark)').addEventListener('change', applyTheme);

export function usePrefs(): Prefs {
  const [p, set] = useState(prefs);
  useEffect(() => {
    const l = () => set(prefs);
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return p;
}
