// The Rules page: every loaded rule with its enabled state, severity, last run, run duration, gaps,
// errors and alert counts, enable/disable; and one rule's detail with its query highlighted, its
// exceptions, runs and gaps.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { Empty, ErrorBox, Link, SeverityBadge, Spinner } from '../components/bits.js';
import { EqlQuery } from '../components/eql.js';
import { Markdown } from '../components/markdown.js';
import { Mitre } from '../components/mitre.js';
import { fmtAgo, fmtCount, fmtDuration, fmtTime, text, tzLabel } from '../format.js';
import { html } from '../html.js';
import { navigate, type Location } from '../router.js';
import { usePrefs } from '../prefs.js';
import type { ExceptionEntry, Me, RuleDetail, RuleList, RuleSummary, Threat } from '../types.js';
import { viewFromParams, viewUrl } from './alerts.js';

export function RulesPage({ loc, me }: { loc: Location; me: Me | null }) {
  const q = loc.params.get('q') ?? '';
  const enabled = loc.params.get('enabled') ?? '';
  const [list, setList] = useState<RuleList | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [term, setTerm] = useState(q);
  usePrefs();
  const canWrite = !me || me.roles.includes('admin');
  const load = async () => {
    try {
      setList(await api<RuleList>(`/api/rules${query({ q, enabled, per_page: 10000 })}`));
      setError(null);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    void load();
  }, [q, enabled]);
  useEffect(() => setTerm(q), [q]);

  const toggle = async (r: RuleSummary) => {
    try {
      await api(`/api/rules/${encodeURIComponent(r.rule_id)}/${r.enabled ? '_disable' : '_enable'}`, { method: 'POST' });
      await load();
    } catch (e) {
      setError(e);
    }
  };
  const go = (p: Record<string, string>) => navigate('/rules' + query({ q, enabled, ...p }), true);
  const live = list?.live !== false;

  return html`<section class="page rules-page" aria-labelledby="rules-title">
    <header class="page-head"><h1 id="rules-title">Rules</h1>${list ? html`<span class="count">${fmtCount(list.total)} rule${list.total === 1 ? '' : 's'}</span>` : null}</header>
    <form class="filters" role="search" aria-label="Filter rules" onSubmit=${(e: Event) => {
      e.preventDefault();
      go({ q: term.trim() });
    }}>
      <div class="filter-row">
        <label class="grow"><span class="sr-only">Search rules</span><input type="search" placeholder="Search name, rule id, tag…" value=${term} onInput=${(e: Event) => setTerm((e.target as HTMLInputElement).value)} /></label>
        <button class="btn primary" type="submit">Search</button>
        ${live
          ? html`<label><span class="label">Show</span>
              <select value=${enabled} onChange=${(e: Event) => go({ enabled: (e.target as HTMLSelectElement).value })}>
                <option value="">All rules</option><option value="true">Enabled</option><option value="false">Disabled</option>
              </select></label>`
          : null}
      </div>
    </form>
    ${!live ? html`<div class="notice">These are the rules whose alerts are in this store (a <code>hunt --db</code> store: nothing runs here).</div>` : null}
    <${ErrorBox} error=${error} />
    ${list && list.load_errors.length > 0 ? html`<details class="error"><summary>${list.load_errors.length} rule file problem(s)</summary><ul>${list.load_errors.map((e) => html`<li class="mono">${e}</li>`)}</ul></details>` : null}
    ${!list
      ? html`<${Spinner} />`
      : html`<div class="table-wrap"><table class="rules">
          <caption class="sr-only">Rules; times in ${tzLabel()}</caption>
          <thead><tr>
            ${live ? html`<th class="c-enabled">Enabled</th>` : null}
            <th>Rule</th><th class="c-severity">Severity</th><th class="num c-risk">Risk</th>
            ${live ? html`<th>Last run</th><th class="num">Duration</th><th class="num">Gaps</th><th>Errors</th>` : null}
            <th class="num">Alerts</th>
          </tr></thead>
          <tbody>
            ${list.rules.map(
              (r) => html`<tr data-rule=${r.rule_id}>
                ${live
                  ? html`<td class="c-enabled"><label class="switch">
                      <input type="checkbox" role="switch" checked=${r.enabled} disabled=${!canWrite || !r.runnable} aria-label=${`${r.enabled ? 'Disable' : 'Enable'} ${r.name}`} onChange=${() => toggle(r)} /><span aria-hidden="true"></span>
                    </label></td>`
                  : null}
                <td class="c-rule-name"><${Link} to=${`/rules/${encodeURIComponent(r.rule_id)}`}>${r.name}</${Link}>${!r.runnable ? html` <span class="tag warn" title=${r.not_runnable_reason ?? ''}>not runnable</span>` : null}</td>
                <td class="c-severity"><${SeverityBadge} severity=${r.severity} /></td>
                <td class="num c-risk">${r.risk_score}</td>
                ${live
                  ? html`<td title=${r.last_run ? fmtTime(r.last_run.executed_at) : ''}>${r.last_run ? html`<span class=${r.last_run.status === 'failed' ? 'bad' : ''}>${fmtAgo(r.last_run.executed_at)}</span>` : 'never'}</td>
                      <td class="num">${r.last_run ? fmtDuration(r.last_run.duration_ms) : '—'}</td>
                      <td class="num">${r.gaps.unfilled > 0 ? html`<span class="bad">${r.gaps.unfilled}</span>` : r.gaps.unfilled}${r.gaps.total > r.gaps.unfilled ? html` <small>(${r.gaps.total} total)</small>` : null}</td>
                      <td>${r.errors.length > 0 ? html`<span class="bad" title=${r.errors.join('\n')}>${r.errors.length} error${r.errors.length === 1 ? '' : 's'}</span>` : '—'}</td>`
                  : null}
                <td class="num">${r.alerts > 0 ? html`<${Link} to=${viewUrl({ ...viewFromParams(new URLSearchParams('status=all')), rule: r.rule_id })}>${fmtCount(r.alerts)}</${Link}>` : '0'}</td>
              </tr>`,
            )}
          </tbody>
        </table>
        ${list.rules.length === 0 ? html`<${Empty}>No rule matches.</${Empty}>` : null}</div>`}
  </section>`;
}

export function RuleDetailPage({ id, me }: { id: string; me: Me | null }) {
  const [r, setR] = useState<RuleDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  usePrefs();
  const canWrite = !me || me.roles.includes('admin');
  const load = async () => {
    try {
      setR(await api<RuleDetail>(`/api/rules/${encodeURIComponent(id)}`));
      setError(null);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    setR(null);
    void load();
  }, [id]);
  const toggle = async () => {
    if (!r) return;
    try {
      await api(`/api/rules/${encodeURIComponent(r.rule_id)}/${r.enabled ? '_disable' : '_enable'}`, { method: 'POST' });
      await load();
    } catch (e) {
      setError(e);
    }
  };
  const runs = useMemo(() => r?.runs ?? [], [r]);
  if (error && !r) return html`<section class="page"><${Link} to="/rules" cls="back">← Rules</${Link}><${ErrorBox} error=${error} /></section>`;
  if (!r) return html`<section class="page"><${Spinner} /></section>`;
  const rule = r.rule;
  const live = r.live !== false;
  const gaps = Array.isArray((r as unknown as { gaps: unknown }).gaps) ? ((r as unknown as { gaps: RuleDetail['gaps_list'] }).gaps ?? []) : (r.gaps_list ?? []);
  return html`<article class="page rule-detail" aria-labelledby="rule-title">
    <${Link} to="/rules" cls="back">← Rules</${Link}>
    <header class="detail-head">
      <div class="title-row">
        <h1 id="rule-title">${r.name}</h1>
        <${SeverityBadge} severity=${r.severity} />
        <span class="risk">risk ${r.risk_score}</span>
        ${live ? html`<span class=${`status ${r.enabled ? 'status-open' : 'status-closed'}`}>${r.enabled ? 'enabled' : 'disabled'}</span>` : null}
      </div>
      <p class="description">${String(rule.description ?? '')}</p>
      <div class="actions">
        ${live && canWrite && r.runnable ? html`<button class="btn" onClick=${toggle}>${r.enabled ? 'Disable rule' : 'Enable rule'}</button>` : null}
        <${Link} cls="btn" to=${viewUrl({ ...viewFromParams(new URLSearchParams('status=all')), rule: r.rule_id })}>${fmtCount(r.alerts)} alert${r.alerts === 1 ? '' : 's'}</${Link}>
      </div>
      <${ErrorBox} error=${error} />
    </header>
    <div class="detail-grid">
      <div class="detail-main">
        <section class="card" aria-labelledby="query-title">
          <h2 id="query-title">Query <small>(${String(rule.language ?? 'eql')})</small></h2>
          <${EqlQuery} query=${String(rule.query ?? '')} />
          <dl class="facts">
            <dt>Indices</dt><dd class="mono">${(rule.index ?? []).join(', ') || 'default'}</dd>
            <dt>Schedule</dt><dd>every ${r.interval}, looking back to ${r.from}</dd>
            <dt>Max alerts per run</dt><dd>${String(rule.max_signals ?? 100)}</dd>
            ${rule.file ? html`<dt>Source</dt><dd class="mono">${rule.file}</dd>` : null}
          </dl>
        </section>
        <section class="card" aria-labelledby="exceptions-title">
          <h2 id="exceptions-title">Exceptions</h2>
          <${Exceptions} r=${r} />
        </section>
        ${live
          ? html`<section class="card" aria-labelledby="runs-title">
              <h2 id="runs-title">Recent runs</h2>
              ${runs.length === 0
                ? html`<${Empty}>The rule has not run yet.</${Empty}>`
                : html`<div class="table-wrap"><table class="runs"><thead><tr><th>Ran at (${tzLabel()})</th><th>Window</th><th>Kind</th><th>Status</th><th class="num">Duration</th><th class="num">Events</th><th class="num">Alerts</th></tr></thead>
                    <tbody>${runs.map((x) => html`<tr><td>${fmtTime(x.executed_at)}</td><td class="mono small">${fmtTime(x.window.start, false)} → ${fmtTime(x.window.end, false)}</td><td>${x.kind}</td><td class=${x.status === 'failed' ? 'bad' : ''} title=${x.error ?? ''}>${x.status}${x.error ? `: ${x.error}` : ''}</td><td class="num">${fmtDuration(x.duration_ms)}</td><td class="num">${fmtCount(x.events)}</td><td class="num">${fmtCount(x.alerts)}</td></tr>`)}</tbody></table></div>`}
              ${gaps.length > 0
                ? html`<h3>Gaps</h3><ul class="gaps">${gaps.map((g) => html`<li class=${g.status === 'unfilled' ? 'bad' : ''}>${fmtTime(g.start, false)} → ${fmtTime(g.end, false)} (${fmtDuration(Date.parse(g.end) - Date.parse(g.start))}): ${g.status}</li>`)}</ul>`
                : null}
            </section>`
          : null}
        ${r.errors.length > 0 ? html`<section class="card error-card"><h2>Problems</h2><ul>${r.errors.map((e) => html`<li>${e}</li>`)}</ul></section>` : null}
        ${rule.note ? html`<section class="card"><h2>Investigation guide</h2><${Markdown} source=${String(rule.note)} /></section>` : null}
      </div>
      <aside class="detail-side">
        <section class="card"><h2>MITRE ATT&CK</h2><${Mitre} threat=${(rule.threat ?? []) as Threat[]} /></section>
        <section class="card"><h2>About</h2>
          <dl class="facts">
            <dt>Rule id</dt><dd class="mono">${r.rule_id}</dd>
            ${rule.author ? html`<dt>Author</dt><dd>${(rule.author ?? []).join(', ')}</dd>` : null}
            <dt>Type</dt><dd>${r.type}</dd>
          </dl>
          ${r.tags.length > 0 ? html`<div class="tags">${r.tags.map((t) => html`<span class="tag">${t}</span>`)}</div>` : null}
          ${(rule.references ?? []).length > 0 ? html`<div class="refs"><h3>References</h3><ul>${(rule.references ?? []).map((x) => html`<li>${/^https?:\/\//i.test(x) ? html`<a href=${x} target="_blank" rel="noopener noreferrer">${x}</a>` : x}</li>`)}</ul></div>` : null}
        </section>
      </aside>
    </div>
  </article>`;
}

function Exceptions({ r }: { r: RuleDetail }) {
  const lists = r.exceptions ?? [];
  const refs = r.rule.exceptions_list ?? [];
  if (lists.length === 0 && refs.length === 0) return html`<${Empty}>No exceptions.</${Empty}>`;
  if (lists.length === 0) return html`<ul>${refs.map((l) => html`<li class="mono">${l.list_id} (${l.namespace_type})</li>`)}</ul>`;
  return html`<div class="exceptions">${lists.map(
    (l) => html`<div class="exception-list">
      <h3>${l.list_id} <small>(${l.namespace_type}${l.found ? '' : ', not found'})</small></h3>
      ${l.items.length === 0 ? html`<${Empty}>No items.</${Empty}>` : null}
      ${l.items.map(
        (it) => html`<div class="exception-item"><div class="exception-name">${it.name ?? it.item_id}</div>
          <code class="exception-entries">${it.entries.map((e, i) => html`${i > 0 ? html` <span class="tok-keyword">AND</span> ` : null}<${EntryText} e=${e} />`)}</code>
        </div>`,
      )}
    </div>`,
  )}</div>`;
}

function EntryText({ e }: { e: ExceptionEntry }) {
  const neg = e.operator === 'excluded' ? 'NOT ' : '';
  if (e.type === 'nested') return html`<span class="tok-field">${e.field}</span> { ${(e.entries ?? []).map((x, i) => html`${i > 0 ? ' AND ' : ''}<${EntryText} e=${x} />`)} }`;
  if (e.type === 'exists') return html`${neg}<span class="tok-field">${e.field}</span> exists`;
  if (e.type === 'list') return html`<span class="tok-field">${e.field}</span> ${neg ? 'is not' : 'is'} in list <span class="tok-string">${e.list?.id ?? ''}</span>`;
  const op = e.type === 'match_any' ? 'is one of' : e.type === 'wildcard' ? 'matches' : 'is';
  return html`${neg}<span class="tok-field">${e.field}</span> ${op} <span class="tok-string">${text(e.value)}</span>`;
}
