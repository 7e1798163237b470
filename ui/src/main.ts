// The app shell: top bar (navigation, live state, time zone, theme, who is signed in), and the
// page the URL names.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, BASE } from './api.js';
import { Link } from './components/bits.js';
import { html } from './html.js';
import { applyTheme, setPrefs, usePrefs } from './prefs.js';
import { useLocation } from './router.js';
import type { Me } from './types.js';
import { AlertsPage } from './pages/alerts.js';
import { AlertDetailPage } from './pages/alert-detail.js';
import { RuleDetailPage, RulesPage } from './pages/rules.js';

function App() {
  const loc = useLocation();
  const prefs = usePrefs();
  const [me, setMe] = useState<Me | null>(null);
  useEffect(() => {
    api<Me>('/_security/_authenticate').then(setMe, () => setMe(null));
  }, []);

  let page;
  let m: RegExpMatchArray | null;
  if ((m = /^\/alerts\/([^/]+)$/.exec(loc.path))) page = html`<${AlertDetailPage} id=${decodeURIComponent(m[1]!)} me=${me} />`;
  else if ((m = /^\/rules\/([^/]+)$/.exec(loc.path))) page = html`<${RuleDetailPage} id=${decodeURIComponent(m[1]!)} me=${me} />`;
  else if (loc.path === '/rules') page = html`<${RulesPage} loc=${loc} me=${me} />`;
  else if (loc.path === '/alerts') page = html`<${AlertsPage} loc=${loc} me=${me} />`;
  else page = html`<section class="page"><h1>Not found</h1><p>No page at <code>${loc.path}</code>. <${Link} to="/alerts">Go to the alerts</${Link}>.</p></section>`;

  useEffect(() => {
    const name = loc.path.startsWith('/rules') ? 'Rules' : 'Alerts';
    document.title = `${name} · eqlite`;
  }, [loc.path]);

  const section = loc.path.startsWith('/rules') ? 'rules' : 'alerts';
  const nextTheme = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
  return html`<a class="skip" href="#main">Skip to content</a>
    <header class="topbar">
      <${Link} to="/alerts" cls="brand" label="eqlite home"><span class="logo" aria-hidden="true">◆</span> eqlite</${Link}>
      <nav class="tabs" aria-label="Sections">
        <${Link} to="/alerts" cls=${section === 'alerts' ? 'tab on' : 'tab'}>Alerts</${Link}>
        <${Link} to="/rules" cls=${section === 'rules' ? 'tab on' : 'tab'}>Rules</${Link}>
      </nav>
      <div class="topbar-right">
        ${me?.mode === 'ui' ? html`<span class="tag" title="A hunt --db store opened with eqlite ui: nothing is ingested or run">offline store</span>` : null}
        <button class="btn small ghost" onClick=${() => setPrefs({ tz: prefs.tz === 'utc' ? 'local' : 'utc' })} title="Show times in UTC or in this browser's time zone">${prefs.tz === 'utc' ? 'UTC' : 'Local time'}</button>
        <button class="btn small ghost" onClick=${() => setPrefs({ theme: nextTheme })} title=${`Switch to the ${nextTheme} theme`}><span aria-hidden="true">${nextTheme === 'dark' ? '☾' : '☀'}</span><span class="wide-only"> ${nextTheme === 'dark' ? 'Dark' : 'Light'}</span></button>
        ${me && me.auth_required
          ? html`<span class="who" title=${`${me.authentication_type} · ${me.roles.join(', ')}`}>${me.username}</span>
              <form method="post" action=${`${BASE}/app/logout`} class="inline"><button class="btn small ghost" type="submit">Sign out</button></form>`
          : null}
      </div>
    </header>
    <main id="main" tabindex="-1">${page}</main>`;
}

applyTheme();
render(html`<${App} />`, document.getElementById('app')!);
