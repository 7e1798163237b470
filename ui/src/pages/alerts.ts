// The Alerts page (Kibana's Alerts table): filters, free-text search, a histogram by severity,
// a sortable table with sequences' building blocks folded under them, keyset paging, bulk
// workflow actions and live updates. Everything the page shows lives in its URL.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { AlertHistogram } from '../components/histogram.js';
import { ErrorBox, Link, SeverityBadge, Spinner, StatusBadge } from '../components/bits.js';
import { useLive } from '../live.js';
import { fmtCount, fmtTime, SEVERITIES, tzLabel, visible } from '../format.js';
import { html } from '../html.js';
import { navigate, type Location } from '../router.js';
import { usePrefs } from '../prefs.js';
import type { AlertDetail, AlertPage, AlertSummary, Doc, FacetValue, Histogram, Me, WorkflowStatus } from '../types.js';

/** Relative time ranges offered, as Kibana's quick menu has them. */
const RANGES: [string, string, number][] = [
  ['15m', 'Last 15 minutes', 15 * 60_000],
  ['1h', 'Last hour', 3_600_000],
  ['24h', 'Last 24 hours', 86_400_000],
  ['7d', 'Last 7 days', 7 * 86_400_000],
  ['30d', 'Last 30 days', 30 * 86_400_000],
  ['all', 'All time', 0],
];

const STATUSES: [string, string][] = [
  ['open', 'Open'],
  ['acknowledged', 'Acknowledged'],
  ['closed', 'Closed'],
  ['all', 'All'],
];

const COLUMNS: [key: string, label: string, sortKey: string | null][] = [
  ['time', 'Time', '@timestamp'],
  ['rule', 'Rule', 'rule'],
  ['severity', 'Severity', 'severity'],
  ['risk', 'Risk', 'risk_score'],
  ['host', 'Host', 'host'],
  ['user', 'User', 'user'],
  ['reason', 'Reason', null],
  ['status', 'Status', 'status'],
];

/** The view the URL describes. */
export interface AlertView {
  q: string;
  status: string;
  severity: string[];
  rule: string;
  host: string;
  user: string;
  range: string;
  from: string;
  to: string;
  sort: string;
  perPage: number;
  after: string;
  before: string;
}

export function viewFromParams(p: URLSearchParams): AlertView {
  const per = Number(p.get('per_page') ?? 50);
  return {
    q: p.get('q') ?? '',
    status: p.get('status') ?? 'open',
    severity: (p.get('severity') ?? '').split(',').filter((s) => (SEVERITIES as readonly string[]).includes(s)),
    rule: p.get('rule') ?? '',
    host: p.get('host') ?? '',
    user: p.get('user') ?? '',
    range: p.get('range') ?? (p.get('from') || p.get('to') ? 'custom' : 'all'),
    from: p.get('from') ?? '',
    to: p.get('to') ?? '',
    sort: p.get('sort') ?? '@timestamp:desc',
    perPage: [20, 50, 100, 200].includes(per) ? per : 50,
    after: p.get('search_after') ?? '',
    before: p.get('search_before') ?? '',
  };
}

/** The app URL of a view (defaults left out, so shared links stay short). */
export function viewUrl(v: Partial<AlertView>): string {
  return (
    '/alerts' +
    query({
      q: v.q,
      status: v.status === 'open' ? undefined : v.status,
      severity: v.severity?.join(','),
      rule: v.rule,
      host: v.host,
      user: v.user,
      range: v.range === 'all' || v.range === 'custom' ? undefined : v.range,
      from: v.range === 'custom' ? v.from : undefined,
      to: v.range === 'custom' ? v.to : undefined,
      sort: v.sort === '@timestamp:desc' ? undefined : v.sort,
      per_page: v.perPage === 50 ? undefined : v.perPage,
      search_after: v.after,
      search_before: v.before,
    })
  );
}

/** What the histogram and filter menus depend on (not the page, order or page size). */
function filterKey(v: AlertView): string {
  return JSON.stringify([v.q, v.status, v.severity, v.rule, v.host, v.user, v.range, v.from, v.to]);
}

/**
 * "1,234 alerts", or past the count's limit "More than 10,000 alerts" (as Kibana: the list
 * stops counting there, so that pages stay fast at millions of alerts).
 */
export function countText(p: Pick<AlertPage, 'total' | 'total_relation'>): string {
  if (p.total_relation === 'gte') return `More than ${fmtCount(p.total)} alerts`;
  return `${fmtCount(p.total)} alert${p.total === 1 ? '' : 's'}`;
}

/** The API's filter parameters for a view (relative ranges resolved now). */
function filterParams(v: AlertView): Record<string, string | undefined> {
  let from = v.from || undefined;
  let to = v.to || undefined;
  const rel = RANGES.find((r) => r[0] === v.range);
  if (rel && rel[2] > 0) {
    from = new Date(Date.now() - rel[2]).toISOString();
    to = undefined;
  }
  return {
    q: v.q || undefined,
    status: v.status === 'all' ? undefined : v.status,
    severity: v.severity.length > 0 ? v.severity.join(',') : undefined,
    rule: v.rule || undefined,
    host: v.host || undefined,
    user: v.user || undefined,
    from,
    to,
  };
}

export function AlertsPage({ loc, me }: { loc: Location; me: Me | null }) {
  const view = useMemo(() => viewFromParams(loc.params), [loc.params.toString()]);
  const go = (patch: Partial<AlertView>, replace = false) => {
    // Any change but paging starts again from the first page.
    const paging = 'after' in patch || 'before' in patch;
    navigate(viewUrl({ ...view, ...(paging ? {} : { after: '', before: '' }), ...patch }), replace);
  };
  const canWrite = !me || me.roles.includes('admin');
  const prefs = usePrefs();

  const [page, setPage] = useState<AlertPage | null>(null);
  const [hist, setHist] = useState<Histogram | null>(null);
  const [facets, setFacets] = useState<Record<string, FacetValue[]>>({});
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [expanded, setExpanded] = useState<Record<string, Doc[] | 'loading'>>({});
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const [pending, setPending] = useState(0);
  const [notice, setNotice] = useState('');
  const reqSeq = useRef(0);
  const filterOf = useRef('');

  const load = useCallback(
    async (quiet = false) => {
      const seq = ++reqSeq.current;
      if (!quiet) setLoading(true);
      const f = filterParams(view);
      // Paging or sorting keeps the filter: the histogram and the filter menus stay as they are
      // (a live refresh or another filter fetches them again).
      const key = filterKey(view);
      const sameFilter = !quiet && key === filterOf.current;
      try {
        const [p, h] = await Promise.all([
          api<AlertPage>(`/api/alerts${query({ ...f, sort: view.sort, per_page: view.perPage, search_after: view.after, search_before: view.before })}`),
          sameFilter ? null : api<Histogram>(`/api/alerts/_histogram${query(f)}`),
        ]);
        if (seq !== reqSeq.current) return;
        if (quiet && page) {
          const before = new Set(page.alerts.map((a) => a.id));
          setFresh(new Set(p.alerts.filter((a) => !before.has(a.id)).map((a) => a.id)));
        } else setFresh(new Set());
        setPage(p);
        if (h) {
          setHist(h);
          // The filter menus' values are fetched when one is opened (each is a count over the
          // filtered alerts: no need to pay for three on every view).
          setFacets({});
          filterOf.current = key;
        }
        setError(null);
        setPending(0);
      } catch (e) {
        if (seq === reqSeq.current) setError(e);
      } finally {
        if (seq === reqSeq.current) setLoading(false);
      }
    },
    [view, page],
  );

  useEffect(() => {
    setSelected(new Set());
    void load();
  }, [loc.params.toString()]);

  // Live: new alerts refresh the first page of a newest-first view at once; elsewhere (a later
  // page, another order) a banner offers them, so rows do not move under the reader.
  const firstPage = !view.after && !view.before;
  const autoRefresh = firstPage && view.sort === '@timestamp:desc' && selected.size === 0;
  const live = useLive((ev) => {
    if (ev.type === 'alerts' && ev.count > 0) {
      if (autoRefresh) void load(true);
      else setPending((n) => n + ev.count);
    } else if (ev.type === 'status') void load(true);
  });

  /** A filter menu's values (the other filters applied), fetched once per filter when it is opened. */
  const loadFacet = async (field: 'rule' | 'host' | 'user') => {
    if (facets[field]) return;
    const key = filterKey(view);
    try {
      const r = await api<{ values: FacetValue[] }>(`/api/alerts/_facets${query({ ...filterParams(view), [field]: undefined, field })}`);
      if (filterKey(view) === key) setFacets((x) => ({ ...x, [field]: r.values }));
    } catch (e) {
      setError(e);
    }
  };

  const act = async (status: WorkflowStatus, ids: string[]) => {
    if (ids.length === 0) return;
    try {
      const r = await api<{ updated: number }>('/api/alerts/_status', { method: 'POST', body: { ids, status } });
      setSelected(new Set());
      // The notice once the table shows the change, so that the two never disagree.
      await load(true);
      setNotice(`${fmtCount(r.updated)} alert${r.updated === 1 ? '' : 's'} marked ${status}`);
    } catch (e) {
      setError(e);
    }
  };

  const toggleExpand = async (a: AlertSummary) => {
    if (expanded[a.id]) {
      const { [a.id]: _drop, ...rest } = expanded;
      setExpanded(rest);
      return;
    }
    setExpanded({ ...expanded, [a.id]: 'loading' });
    try {
      const d = await api<AlertDetail>(`/api/alerts/${encodeURIComponent(a.id)}`);
      setExpanded((x) => ({ ...x, [a.id]: d.building_blocks }));
    } catch (e) {
      setError(e);
    }
  };

  const rows = page?.alerts ?? [];
  const allSelected = rows.length > 0 && rows.every((a) => selected.has(a.id));
  const toggleAll = () => setSelected(allSelected ? new Set() : new Set(rows.map((a) => a.id)));
  const toggle = (id: string) => {
    const s = new Set(selected);
    if (s.has(id)) s.delete(id);
    else s.add(id);
    setSelected(s);
  };
  const [sortField, sortDir] = view.sort.split(':') as [string, string];
  const sortBy = (key: string) => go({ sort: `${key}:${sortField === key && sortDir === 'desc' ? 'asc' : 'desc'}` });
  void prefs;

  return html`<section class="page alerts-page" aria-labelledby="alerts-title">
    <header class="page-head">
      <h1 id="alerts-title">Alerts</h1>
      <${LiveBadge} state=${live} />
    </header>
    <${Filters} view=${view} go=${go} facets=${facets} loadFacet=${loadFacet} />
    ${hist && hist.buckets.length > 0
      ? html`<${AlertHistogram} data=${hist} onSelect=${(from: number, to: number) => go({ range: 'custom', from: new Date(from).toISOString(), to: new Date(to).toISOString() })} />`
      : null}
    <${ErrorBox} error=${error} />
    ${notice ? html`<div class="notice" role="status">${notice}<button class="link" onClick=${() => setNotice('')} aria-label="Dismiss">×</button></div>` : null}
    ${pending > 0
      ? html`<div class="notice live-notice" role="status">${fmtCount(pending)} new alert${pending === 1 ? '' : 's'} <button class="btn small" onClick=${() => (firstPage ? load(true) : go({ after: '', before: '' }))}>Show</button></div>`
      : null}
    <div class="table-tools">
      <span class="count" aria-live="polite">${page ? countText(page) : ''}</span>
      ${canWrite && selected.size > 0
        ? html`<div class="bulk" role="group" aria-label="Bulk actions">
            <span>${selected.size} selected</span>
            <button class="btn" onClick=${() => act('acknowledged', [...selected])}>Acknowledge</button>
            <button class="btn" onClick=${() => act('closed', [...selected])}>Close</button>
            <button class="btn" onClick=${() => act('open', [...selected])}>Reopen</button>
          </div>`
        : null}
    </div>
    <div class="table-wrap" aria-busy=${loading}>
      <table class="alerts">
        <caption class="sr-only">Detection alerts; times in ${tzLabel()}</caption>
        <thead>
          <tr>
            ${canWrite ? html`<th class="c-check"><input type="checkbox" aria-label="Select all alerts on this page" checked=${allSelected} onChange=${toggleAll} /></th>` : null}
            <th class="c-expand"><span class="sr-only">Building blocks</span></th>
            ${COLUMNS.map(
              ([key, label, sk]) => html`<th class=${`c-${key}${key === 'risk' ? ' num' : ''}`} aria-sort=${sk && sortField === sk ? (sortDir === 'asc' ? 'ascending' : 'descending') : undefined}>
                ${sk
                  ? html`<button class="sort" onClick=${() => sortBy(sk)}>${label}${key === 'time' ? html` <small>(${tzLabel()})</small>` : null}<span class="arrow" aria-hidden="true">${sortField === sk ? (sortDir === 'asc' ? '▲' : '▼') : ''}</span></button>`
                  : label}
              </th>`,
            )}
          </tr>
        </thead>
        <tbody>
          ${rows.map((a) => {
            const sub = expanded[a.id];
            return html`<${Row} key=${a.id} a=${a} canWrite=${canWrite} selected=${selected.has(a.id)} toggle=${toggle} expanded=${!!sub} onExpand=${toggleExpand} fresh=${fresh.has(a.id)} />
              ${sub === 'loading' ? html`<tr class="bb"><td colspan="11"><${Spinner} label="Loading building blocks" /></td></tr>` : null}
              ${Array.isArray(sub) ? sub.map((b) => html`<${BlockRow} key=${String(b['kibana.alert.uuid'])} b=${b} canWrite=${canWrite} />`) : null}`;
          })}
        </tbody>
      </table>
      ${page && rows.length === 0 && !loading ? html`<div class="empty">No alerts match these filters.</div>` : null}
      ${loading && !page ? html`<${Spinner} />` : null}
    </div>
    <${Pager} page=${page} view=${view} go=${go} />
  </section>`;
}

function Row({ a, canWrite, selected, toggle, expanded, onExpand, fresh }: { a: AlertSummary; canWrite: boolean; selected: boolean; toggle: (id: string) => void; expanded: boolean; onExpand: (a: AlertSummary) => void; fresh: boolean }) {
  const isSeq = a.group_id !== null && !a.building_block;
  return html`<tr class=${`alert-row${fresh ? ' fresh' : ''}${selected ? ' selected' : ''}`} data-id=${a.id}>
    ${canWrite ? html`<td class="c-check"><input type="checkbox" aria-label=${`Select alert ${a.rule.name} at ${fmtTime(a['@timestamp'])}`} checked=${selected} onChange=${() => toggle(a.id)} /></td>` : null}
    <td class="c-expand">
      ${isSeq
        ? html`<button class="icon-btn" aria-expanded=${expanded} aria-label=${expanded ? 'Hide the sequence building blocks' : 'Show the sequence building blocks'} onClick=${() => onExpand(a)}>${expanded ? '▾' : '▸'}</button>`
        : null}
    </td>
    <td class="c-time"><${Link} to=${`/alerts/${encodeURIComponent(a.id)}`} label=${`Open alert ${a.rule.name} at ${fmtTime(a['@timestamp'])}`}>${fmtTime(a['@timestamp'])}</${Link}></td>
    <td class="c-rule"><${Link} to=${`/alerts/${encodeURIComponent(a.id)}`}>${a.rule.name}</${Link}>${isSeq ? html` <span class="tag">sequence</span>` : null}
      <div class="narrow-meta" aria-hidden="true">${a.host ? visible(a.host) : ''} <${StatusBadge} status=${a.status} /></div></td>
    <td class="c-severity"><${SeverityBadge} severity=${a.severity} /></td>
    <td class="c-risk num">${a.risk_score ?? '—'}</td>
    <td class="c-host">${a.host ? html`<${Link} to=${viewUrl({ ...defaults(), host: a.host })} title=${`Alerts on host ${a.host}`}>${visible(a.host)}</${Link}>` : '—'}</td>
    <td class="c-user">${a.user ? html`<${Link} to=${viewUrl({ ...defaults(), user: a.user })} title=${`Alerts of user ${a.user}`}>${visible(a.user)}</${Link}>` : '—'}</td>
    <td class="c-reason" title=${a.reason ?? ''}>${visible(a.reason ?? '')}</td>
    <td class="c-status"><${StatusBadge} status=${a.status} /></td>
  </tr>`;
}

function BlockRow({ b, canWrite }: { b: Doc; canWrite: boolean }) {
  const id = String(b['kibana.alert.uuid']);
  const host = b['host.name'] ?? (b.host as Doc | undefined)?.name;
  const user = b['user.name'] ?? (b.user as Doc | undefined)?.name;
  return html`<tr class="bb" data-id=${id}>
    ${canWrite ? html`<td class="c-check"></td>` : null}
    <td class="c-expand"><span aria-hidden="true">↳</span></td>
    <td class="c-time" title="Time of the event"><${Link} to=${`/alerts/${encodeURIComponent(id)}`} label=${`Open building block ${Number(b['kibana.alert.group.index'] ?? 0) + 1}`}>${fmtTime(b['kibana.alert.original_time'])}</${Link}></td>
    <td class="c-rule"><span class="tag">building block ${Number(b['kibana.alert.group.index'] ?? 0) + 1}</span></td>
    <td class="c-severity"><${SeverityBadge} severity=${String(b['kibana.alert.severity'])} /></td>
    <td class="c-risk num">${String(b['kibana.alert.risk_score'] ?? '—')}</td>
    <td class="c-host">${visible(String(host ?? '—'))}</td>
    <td class="c-user">${visible(String(user ?? '—'))}</td>
    <td class="c-reason">${visible(String(b['kibana.alert.reason'] ?? ''))}</td>
    <td class="c-status"></td>
  </tr>`;
}

function defaults(): AlertView {
  return viewFromParams(new URLSearchParams());
}

function Pager({ page, view, go }: { page: AlertPage | null; view: AlertView; go: (p: Partial<AlertView>) => void }) {
  if (!page || page.total === 0) return null;
  const first = !view.after && !view.before;
  return html`<nav class="pager" aria-label="Pages">
    <button class="btn" disabled=${first} onClick=${() => go({ after: '', before: '' })}>« Newest</button>
    <button class="btn" disabled=${!page.prev} onClick=${() => go({ before: page.prev ?? '', after: '' })}>‹ Previous</button>
    <button class="btn" disabled=${!page.next} onClick=${() => go({ after: page.next ?? '', before: '' })}>Next ›</button>
    <label class="per-page">Rows
      <select value=${view.perPage} onChange=${(e: Event) => go({ perPage: Number((e.target as HTMLSelectElement).value) })}>
        ${[20, 50, 100, 200].map((n) => html`<option value=${n}>${n}</option>`)}
      </select>
    </label>
  </nav>`;
}

function Filters({ view, go, facets, loadFacet }: { view: AlertView; go: (p: Partial<AlertView>, replace?: boolean) => void; facets: Record<string, FacetValue[]>; loadFacet: (field: 'rule' | 'host' | 'user') => void }) {
  const [q, setQ] = useState(view.q);
  useEffect(() => setQ(view.q), [view.q]);
  const submit = (e: Event) => {
    e.preventDefault();
    go({ q: q.trim() });
  };
  const active = view.q || view.severity.length > 0 || view.rule || view.host || view.user || view.range !== 'all' || view.status !== 'open';
  const localInput = (iso: string) => (iso ? new Date(iso).toISOString().slice(0, 16) : '');
  return html`<form class="filters" role="search" onSubmit=${submit} aria-label="Filter alerts">
    <div class="filter-row">
      <label class="grow"><span class="sr-only">Search alerts</span>
        <input type="search" name="q" placeholder="Search reason, rule, host, user, process, command line…" value=${q} onInput=${(e: Event) => setQ((e.target as HTMLInputElement).value)} />
      </label>
      <button class="btn primary" type="submit">Search</button>
      <label><span class="label">Time</span>
        <select name="range" value=${view.range} onChange=${(e: Event) => go({ range: (e.target as HTMLSelectElement).value, from: '', to: '' })}>
          ${RANGES.map(([k, label]) => html`<option value=${k}>${label}</option>`)}
          <option value="custom">Custom…</option>
        </select>
      </label>
      ${view.range === 'custom'
        ? html`<label><span class="label">From (UTC)</span><input type="datetime-local" name="from" value=${localInput(view.from)} onChange=${(e: Event) => go({ from: isoFromInput((e.target as HTMLInputElement).value) })} /></label>
            <label><span class="label">To (UTC)</span><input type="datetime-local" name="to" value=${localInput(view.to)} onChange=${(e: Event) => go({ to: isoFromInput((e.target as HTMLInputElement).value) })} /></label>`
        : null}
    </div>
    <div class="filter-row">
      <fieldset class="segmented" aria-label="Status">
        <legend class="sr-only">Status</legend>
        ${STATUSES.map(
          ([k, label]) => html`<label class=${view.status === k ? 'on' : ''}><input type="radio" name="status" value=${k} checked=${view.status === k} onChange=${() => go({ status: k })} />${label}</label>`,
        )}
      </fieldset>
      <fieldset class="chips" aria-label="Severity">
        <legend class="sr-only">Severity</legend>
        ${SEVERITIES.map(
          (s) => html`<label class=${`chip sev-${s}${view.severity.includes(s) ? ' on' : ''}`}><input type="checkbox" name="severity" value=${s} checked=${view.severity.includes(s)} onChange=${() => go({ severity: view.severity.includes(s) ? view.severity.filter((x) => x !== s) : [...view.severity, s] })} /><span class="dot" aria-hidden="true"></span>${s}</label>`,
        )}
      </fieldset>
      <${FacetSelect} name="rule" label="Rule" value=${view.rule} values=${facets.rule ?? []} onOpen=${() => loadFacet('rule')} onChange=${(v: string) => go({ rule: v })} />
      <${FacetSelect} name="host" label="Host" value=${view.host} values=${facets.host ?? []} onOpen=${() => loadFacet('host')} onChange=${(v: string) => go({ host: v })} />
      <${FacetSelect} name="user" label="User" value=${view.user} values=${facets.user ?? []} onOpen=${() => loadFacet('user')} onChange=${(v: string) => go({ user: v })} />
      ${active ? html`<button type="button" class="btn link" onClick=${() => navigate('/alerts')}>Clear filters</button>` : null}
    </div>
  </form>`;
}

/** A filter with the values the current alerts have (and their counts), typed or picked. */
function FacetSelect({ name, label, value, values, onOpen, onChange }: { name: string; label: string; value: string; values: FacetValue[]; onOpen: () => void; onChange: (v: string) => void }) {
  const [v, setV] = useState(value);
  useEffect(() => setV(value), [value]);
  const listId = `facet-${name}`;
  const commit = () => {
    if (v.trim() !== value) onChange(v.trim());
  };
  return html`<label class="facet"><span class="label">${label}</span>
    <input name=${name} list=${listId} value=${v} placeholder="any" autocomplete="off"
      onFocus=${onOpen}
      onPointerDown=${onOpen}
      onInput=${(e: Event) => setV((e.target as HTMLInputElement).value)}
      onChange=${commit}
      onKeyDown=${(e: KeyboardEvent) => {
        if (e.key === 'Enter') {
          e.preventDefault();
          commit();
        }
      }} />
    <datalist id=${listId}>${values.map((f) => html`<option value=${f.value}>${f.value} (${fmtCount(f.count)})</option>`)}</datalist>
    ${value ? html`<button type="button" class="icon-btn clear" aria-label=${`Clear the ${label.toLowerCase()} filter`} onClick=${() => onChange('')}>×</button>` : null}
  </label>`;
}

function isoFromInput(v: string): string {
  if (!v) return '';
  const d = new Date(v + 'Z');
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

function LiveBadge({ state }: { state: string }) {
  if (state === 'off') return null;
  const label = state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting' : 'Offline';
  return html`<span class=${`live live-${state}`} title=${state === 'live' ? 'New alerts appear as they are written' : 'Live updates are reconnecting'}><span class="dot" aria-hidden="true"></span>${label}</span>`;
}
