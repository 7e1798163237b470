// One alert: the rule (description, severity, risk, tags, references, MITRE ATT&CK), its
// investigation guide, and what happened — for a sequence the timeline of its events with the gaps
// between steps against the rule's maxspan, for a single event its fields — then the workflow
// status with its history, pivots to related alerts, and the whole document.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../api.js';
import { Empty, ErrorBox, JsonView, Link, LongValue, SeverityBadge, Spinner, StatusBadge } from '../components/bits.js';
import { Markdown } from '../components/markdown.js';
import { Mitre } from '../components/mitre.js';
import { fmtDuration, fmtTime, flatten, getField, queryMaxspan, text, tzLabel, visible } from '../format.js';
import { html } from '../html.js';
import { useLive } from '../live.js';
import { usePrefs } from '../prefs.js';
import type { AlertDetail, Doc, Me, Threat, WorkflowStatus } from '../types.js';
import { viewUrl, viewFromParams } from './alerts.js';

export function AlertDetailPage({ id, me }: { id: string; me: Me | null }) {
  const [data, setData] = useState<AlertDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  usePrefs();
  const load = async () => {
    try {
      setData(await api<AlertDetail>(`/api/alerts/${encodeURIComponent(id)}`));
      setError(null);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    setData(null);
    void load();
  }, [id]);
  useLive((ev) => {
    if (ev.type === 'status' && ev.ids.includes(id)) void load();
  });

  if (error && !data) return html`<section class="page"><${BackLink} /><${ErrorBox} error=${error} /></section>`;
  if (!data) return html`<section class="page"><${Spinner} /></section>`;

  const a = data.alert;
  const s = data.summary;
  const canWrite = !me || me.roles.includes('admin');
  const setStatus = async (status: WorkflowStatus) => {
    setBusy(true);
    try {
      await api(`/api/alerts/${encodeURIComponent(id)}/status`, { method: 'PUT', body: { status } });
      await load();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const params = (a['kibana.alert.rule.parameters'] ?? {}) as Doc;
  const note = typeof a['kibana.alert.rule.note'] === 'string' ? (a['kibana.alert.rule.note'] as string) : typeof params.note === 'string' ? params.note : '';
  const threat = (a['kibana.alert.rule.threat'] ?? params.threat ?? []) as Threat[];
  const isShell = s.group_id !== null && !s.building_block;
  const query = typeof params.query === 'string' ? params.query : '';
  const base = viewFromParams(new URLSearchParams('status=all'));

  return html`<article class="page alert-detail" aria-labelledby="alert-title">
    <${BackLink} />
    <header class="detail-head">
      <div class="title-row">
        <h1 id="alert-title">${s.rule.name}</h1>
        <${SeverityBadge} severity=${s.severity} />
        <span class="risk" title="Risk score">risk ${s.risk_score ?? '—'}</span>
        <${StatusBadge} status=${s.status} />
        ${isShell ? html`<span class="tag">sequence of ${data.building_blocks.length}</span>` : null}
        ${s.building_block ? html`<span class="tag">building block</span>` : null}
      </div>
      <p class="reason">${visible(s.reason ?? '')}</p>
      <div class="meta-row">
        <span><span class="label">Alert time</span> ${fmtTime(s['@timestamp'])} ${tzLabel()}</span>
        <span><span class="label">${isShell ? 'First event' : 'Event time'}</span> ${fmtTime(isShell ? (data.building_blocks[0]?.['kibana.alert.original_time'] ?? s.original_time) : s.original_time)}</span>
        <span><span class="label">Host</span> ${visible(s.host ?? '—')}</span>
        <span><span class="label">User</span> ${visible(s.user ?? '—')}</span>
      </div>
      ${canWrite
        ? html`<div class="actions" role="group" aria-label="Workflow status">
            ${s.status !== 'acknowledged' ? html`<button class="btn" disabled=${busy} onClick=${() => setStatus('acknowledged')}>Mark acknowledged</button>` : null}
            ${s.status !== 'closed' ? html`<button class="btn primary" disabled=${busy} onClick=${() => setStatus('closed')}>Close alert</button>` : null}
            ${s.status !== 'open' ? html`<button class="btn" disabled=${busy} onClick=${() => setStatus('open')}>Reopen</button>` : null}
          </div>`
        : null}
      <nav class="pivots" aria-label="Related alerts">
        <span class="label">Related:</span>
        ${s.host ? html`<${Link} to=${viewUrl({ ...base, host: s.host })}>Same host</${Link}>` : null}
        <${Link} to=${viewUrl({ ...base, rule: s.rule.rule_id })}>Same rule</${Link}>
        ${s.user ? html`<${Link} to=${viewUrl({ ...base, user: s.user })}>Same user</${Link}>` : null}
        ${s.building_block && s.group_id ? html`<${Link} to=${`/alerts/${encodeURIComponent(s.group_id)}`}>The sequence</${Link}>` : null}
        <${Link} to=${`/rules/${encodeURIComponent(s.rule.rule_id)}`}>Rule details</${Link}>
      </nav>
      <${ErrorBox} error=${error} />
    </header>

    <div class="detail-grid">
      <div class="detail-main">
        ${isShell
          ? html`<section class="card" aria-labelledby="timeline-title">
              <h2 id="timeline-title">Sequence timeline</h2>
              <${Timeline} blocks=${data.building_blocks} events=${data.events} maxspan=${queryMaxspan(query)} />
            </section>`
          : html`<section class="card" aria-labelledby="fields-title">
              <h2 id="fields-title">Event fields</h2>
              <${FieldTable} doc=${data.events[0]?._source ?? eventPart(a)} />
            </section>`}
        <section class="card" aria-labelledby="guide-title">
          <h2 id="guide-title">Investigation guide</h2>
          ${note ? html`<${Markdown} source=${note} />` : html`<${Empty}>This rule has no investigation guide.</${Empty}>`}
        </section>
        <details class="card">
          <summary><h2>Alert document (JSON)</h2></summary>
          <${JsonView} value=${a} />
        </details>
      </div>
      <aside class="detail-side">
        <section class="card" aria-labelledby="about-title">
          <h2 id="about-title">About this rule</h2>
          <p class="description">${String(a['kibana.alert.rule.description'] ?? params.description ?? '')}</p>
          <dl class="facts">
            <dt>Severity</dt><dd><${SeverityBadge} severity=${String(a['kibana.alert.rule.severity'] ?? s.severity)} /></dd>
            <dt>Risk score</dt><dd>${String(a['kibana.alert.rule.risk_score'] ?? s.risk_score ?? '—')}</dd>
            <dt>Rule id</dt><dd class="mono">${s.rule.rule_id}</dd>
            ${a['kibana.alert.rule.interval'] ? html`<dt>Runs every</dt><dd>${String(a['kibana.alert.rule.interval'])} over ${String(a['kibana.alert.rule.from'] ?? '')}</dd>` : null}
          </dl>
          <${Tags} tags=${(a['kibana.alert.rule.tags'] ?? []) as string[]} />
          <${References} refs=${(a['kibana.alert.rule.references'] ?? params.references ?? []) as string[]} />
        </section>
        <section class="card" aria-labelledby="mitre-title">
          <h2 id="mitre-title">MITRE ATT&CK</h2>
          <${Mitre} threat=${threat} />
        </section>
        <section class="card" aria-labelledby="history-title">
          <h2 id="history-title">Status history</h2>
          <${History} created=${s['@timestamp']} history=${data.status_history} />
        </section>
      </aside>
    </div>
  </article>`;
}

function BackLink() {
  return html`<${Link} to="/alerts" cls="back">← Alerts</${Link}>`;
}

function Tags({ tags }: { tags: string[] }) {
  if (!Array.isArray(tags) || tags.length === 0) return null;
  return html`<div class="tags" aria-label="Tags">${tags.map((t) => html`<span class="tag">${t}</span>`)}</div>`;
}

function References({ refs }: { refs: string[] }) {
  if (!Array.isArray(refs) || refs.length === 0) return null;
  return html`<div class="refs"><h3>References</h3><ul>${refs.map((r) => html`<li>${/^https?:\/\//i.test(r) ? html`<a href=${r} target="_blank" rel="noopener noreferrer">${r}</a>` : r}</li>`)}</ul></div>`;
}

function History({ created, history }: { created: string; history: AlertDetail['status_history'] }) {
  return html`<ol class="history">
    <li><${StatusBadge} status="open" /> <span>created ${fmtTime(created)}</span></li>
    ${history.map((h) => html`<li><${StatusBadge} status=${h.status} /> <span>${fmtTime(h.at)}${h.by ? html` by <span class="mono">${h.by}</span>` : null}</span></li>`)}
  </ol>`;
}

/** The event part of an alert document: everything but the alert's own fields. */
function eventPart(doc: Doc): Doc {
  const out: Doc = {};
  for (const [k, v] of Object.entries(doc)) {
    if (k.startsWith('kibana.') || k === 'kibana' || k === 'event.kind') continue;
    if (k === '@timestamp' && doc['kibana.alert.original_time']) {
      out[k] = doc['kibana.alert.original_time'];
      continue;
    }
    out[k] = v;
  }
  return out;
}

/** Fields worth a glance per kind of event, in the order an analyst reads them. */
const KEY_FIELDS = [
  'event.action',
  'process.executable',
  'process.command_line',
  'process.parent.executable',
  'process.parent.command_line',
  'dll.name',
  'dll.path',
  'file.path',
  'file.name',
  'registry.path',
  'registry.data.strings',
  'dns.question.name',
  'source.ip',
  'destination.ip',
  'destination.port',
  'network.protocol',
  'url.full',
  'event.outcome',
  'process.code_signature.subject_name',
];

interface Step {
  doc: Doc;
  time: number;
  id: string;
}

function Timeline({ blocks, events, maxspan }: { blocks: Doc[]; events: AlertDetail['events']; maxspan: number | null }) {
  const steps: Step[] = useMemo(
    () =>
      blocks.map((b, i) => {
        const src = events[i]?._source ?? eventPart(b);
        const t = Date.parse(String(getField(src, '@timestamp') ?? b['kibana.alert.original_time']));
        return { doc: src, time: t, id: String(b['kibana.alert.uuid']) };
      }),
    [blocks, events],
  );
  if (steps.length === 0) return html`<${Empty}>The building blocks of this sequence are not in the store.</${Empty}>`;
  const span = steps[steps.length - 1]!.time - steps[0]!.time;
  return html`<div class="timeline">
    <p class="span-summary">
      ${steps.length} events over <strong>${fmtDuration(span)}</strong>
      ${maxspan !== null
        ? html` of the rule's maxspan <strong>${fmtDuration(maxspan)}</strong>
            <meter min="0" max=${maxspan} value=${Math.min(span, maxspan)} high=${maxspan * 0.9} optimum="0" aria-label="Share of maxspan used"></meter>`
        : null}
    </p>
    <ol class="steps">
      ${steps.map((st, i) => html`<${StepItem} step=${st} index=${i} prev=${i > 0 ? steps[i - 1]! : null} maxspan=${maxspan} />`)}
    </ol>
  </div>`;
}

function StepItem({ step, index, prev, maxspan }: { step: Step; index: number; prev: Step | null; maxspan: number | null }) {
  const [open, setOpen] = useState(false);
  const d = step.doc;
  const f = (k: string) => text(getField(d, k));
  const cat = f('event.category');
  const proc = f('process.name');
  const pid = f('process.pid');
  const parent = f('process.parent.name');
  const ppid = f('process.parent.pid');
  const user = [f('user.domain'), f('user.name')].filter(Boolean).join('\\');
  const host = f('host.name');
  const gap = prev ? step.time - prev.time : null;
  const over = gap !== null && maxspan !== null && gap > maxspan;
  return html`<li class="step">
    ${gap !== null
      ? html`<div class=${`gap${over ? ' over' : ''}`} aria-label=${`${fmtDuration(gap)} after step ${index}`}>
          <span class="gap-line" aria-hidden="true"></span>+${fmtDuration(gap)}${maxspan !== null ? html` <small>(maxspan ${fmtDuration(maxspan)})</small>` : null}
        </div>`
      : null}
    <div class="step-card">
      <div class="step-head">
        <span class="step-no" aria-label=${`Step ${index + 1}`}>${index + 1}</span>
        <time class="step-time" datetime=${Number.isNaN(step.time) ? undefined : new Date(step.time).toISOString()}>${fmtTime(step.time)}</time>
        <span class="tag">${visible(cat || 'event')}</span>
        <span class="step-proc"><strong>${visible(proc || '—')}</strong>${pid ? html` <small>(${pid})</small>` : null}</span>
        ${parent ? html`<span class="step-parent">← ${visible(parent)}${ppid ? html` <small>(${ppid})</small>` : null}</span>` : null}
      </div>
      <dl class="step-facts">
        ${user ? html`<dt>User</dt><dd>${visible(user)}</dd>` : null}
        ${host ? html`<dt>Host</dt><dd>${visible(host)}</dd>` : null}
        ${KEY_FIELDS.filter((k) => f(k) !== '').map((k) => html`<dt>${k}</dt><dd class="mono"><${LongValue} value=${f(k)} /></dd>`)}
      </dl>
      <button class="btn small" aria-expanded=${open} onClick=${() => setOpen(!open)}>${open ? 'Hide' : 'Show'} full event JSON</button>
      ${open ? html`<${JsonView} value=${d} />` : null}
    </div>
  </li>`;
}

function FieldTable({ doc }: { doc: Doc }) {
  const [filter, setFilter] = useState('');
  const rows = useMemo(() => flatten(doc), [doc]);
  const f = filter.trim().toLowerCase();
  const shown = f ? rows.filter(([k, v]) => k.toLowerCase().includes(f) || text(v).toLowerCase().includes(f)) : rows;
  return html`<div class="fields">
    <label class="field-filter"><span class="sr-only">Filter fields</span>
      <input type="search" placeholder="Filter fields and values" value=${filter} onInput=${(e: Event) => setFilter((e.target as HTMLInputElement).value)} />
    </label>
    <table class="field-table">
      <thead><tr><th>Field</th><th>Value</th></tr></thead>
      <tbody>
        ${shown.map(([k, v]) => html`<tr><td class="mono field-name">${k}</td><td class="mono field-value"><${LongValue} value=${text(v)} /></td></tr>`)}
      </tbody>
    </table>
    ${shown.length === 0 ? html`<${Empty}>No field matches “${filter}”.</${Empty}>` : null}
  </div>`;
}
