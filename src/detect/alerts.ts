// Alert documents as Kibana's detection engine writes them into `.alerts-security.alerts-*`
// (factories/utils/build_alert.ts, transform_hit_to_alert.ts, eql/build_alert_group_from_sequence.ts).
//
// An alert is the source event's `_source` with the alert fields merged in as dotted top-level
// keys (`kibana.alert.rule.name`, …), `event.kind` replaced by "signal" and `@timestamp` set to the
// time the rule ran. Ids are deterministic, as in Kibana, so rerunning a hunt, or an overlapping
// schedule window, produces the same alert ids and never duplicates an alert:
//  * event alert: sha256(index + id + version + rule uuid) (Kibana's generateId; offline events
//    have no `_version`, so it is the empty string);
//  * sequence building block i: sha256(Σ(event id + event index + rule uuid), then String(i));
//  * sequence shell: sha256(Σ(building block id + alerts index) + rule uuid).
import { createHash } from 'node:crypto';
import { getField } from '../engine/fields.js';
import type { EventDoc } from '../events/types.js';
import type { Rule } from '../rules/types.js';

/** An alert `_source`; `kibana.alert.uuid` is its `_id`. */
export type Alert = Record<string, unknown>;

/** Index the alerts would live in (default space); used in ancestry of the shell alert. */
export const ALERTS_INDEX = '.alerts-security.alerts-default';

export interface AlertContext {
  /** When the rule ran (ISO 8601): the alert's `@timestamp` and intended timestamp. */
  runTime: string;
  /** Identifies the run (deterministic for offline runs: rule uuid + window). */
  executionUuid: string;
}

const ruleFieldCache = new WeakMap<Rule, Record<string, unknown>>();
const uuidCache = new WeakMap<Rule, string>();

/**
 * The rule's Kibana saved-object id. Kibana exports carry it as `id`; detection-rules TOML files
 * have none, so a stable UUID-shaped id is derived from the rule_id (the same on every run).
 */
export function ruleUuid(rule: Rule): string {
  let u = uuidCache.get(rule);
  if (u === undefined) {
    const id = rule.extra.id;
    if (typeof id === 'string' && id !== '') u = id;
    else {
      const h = createHash('sha256').update('eqlite-rule:' + rule.rule_id).digest('hex');
      // Version nibble 5 and the RFC 4122 variant, so that the value parses as a UUID.
      u = `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
    }
    uuidCache.set(rule, u);
  }
  return u;
}

/** The `kibana.alert.rule.*` fields (identical for every alert of a rule, so computed once). */
export function ruleFields(rule: Rule): Record<string, unknown> {
  let f = ruleFieldCache.get(rule);
  if (f) return f;
  const x = rule.extra;
  const parameters: Record<string, unknown> = {
    description: rule.description ?? '',
    risk_score: rule.risk_score,
    severity: rule.severity,
    license: rule.license ?? '',
    author: rule.author,
    false_positives: Array.isArray(x.false_positives) ? x.false_positives : [],
    from: rule.from,
    rule_id: rule.rule_id,
    max_signals: rule.max_signals,
    risk_score_mapping: Array.isArray(x.risk_score_mapping) ? x.risk_score_mapping : [],
    severity_mapping: Array.isArray(x.severity_mapping) ? x.severity_mapping : [],
    threat: rule.threat,
    to: rule.to,
    references: rule.references,
    version: rule.version,
    exceptions_list: rule.exceptions_list,
    immutable: x.immutable === true,
    type: rule.type,
    language: rule.language ?? 'eql',
    index: rule.index ?? [],
    query: rule.query ?? '',
    filters: Array.isArray(x.filters) ? x.filters : [],
  };
  if (rule.note !== undefined) parameters.note = rule.note;
  if (rule.setup !== undefined) parameters.setup = rule.setup;
  if (rule.building_block_type !== undefined) parameters.building_block_type = rule.building_block_type;
  if (rule.timestamp_override !== undefined) parameters.timestamp_override = rule.timestamp_override;
  if (rule.timestamp_override_fallback_disabled !== undefined) {
    parameters.timestamp_override_fallback_disabled = rule.timestamp_override_fallback_disabled;
  }
  if (rule.event_category_override !== undefined) parameters.event_category_override = rule.event_category_override;
  if (rule.tiebreaker_field !== undefined) parameters.tiebreaker_field = rule.tiebreaker_field;
  const uuid = ruleUuid(rule);
  f = {
    'kibana.alert.rule.category': 'Event Correlation Rule',
    'kibana.alert.rule.consumer': 'siem',
    'kibana.alert.rule.producer': 'siem',
    'kibana.alert.rule.rule_type_id': 'siem.eqlRule',
    'kibana.alert.rule.uuid': uuid,
    'kibana.alert.rule.name': rule.name,
    'kibana.alert.rule.rule_id': rule.rule_id,
    'kibana.alert.rule.type': rule.type,
    'kibana.alert.rule.version': rule.version,
    'kibana.alert.rule.revision': typeof x.revision === 'number' ? x.revision : 0,
    'kibana.alert.rule.description': rule.description ?? '',
    'kibana.alert.rule.author': rule.author,
    'kibana.alert.rule.license': rule.license ?? '',
    'kibana.alert.rule.tags': rule.tags,
    'kibana.alert.rule.threat': rule.threat,
    'kibana.alert.rule.severity': rule.severity,
    'kibana.alert.rule.risk_score': rule.risk_score,
    'kibana.alert.rule.from': rule.from,
    'kibana.alert.rule.to': rule.to,
    'kibana.alert.rule.interval': rule.interval,
    'kibana.alert.rule.max_signals': rule.max_signals,
    'kibana.alert.rule.indices': rule.index ?? [],
    'kibana.alert.rule.exceptions_list': rule.exceptions_list,
    'kibana.alert.rule.false_positives': parameters.false_positives,
    'kibana.alert.rule.references': rule.references,
    'kibana.alert.rule.immutable': x.immutable === true,
    'kibana.alert.rule.enabled': rule.enabled ?? true,
    'kibana.alert.rule.created_by': typeof x.created_by === 'string' ? x.created_by : 'eqlite',
    'kibana.alert.rule.updated_by': typeof x.updated_by === 'string' ? x.updated_by : 'eqlite',
    'kibana.alert.rule.parameters': parameters,
  };
  if (rule.note !== undefined) f['kibana.alert.rule.note'] = rule.note;
  if (rule.building_block_type !== undefined) f['kibana.alert.rule.building_block_type'] = rule.building_block_type;
  if (rule.timestamp_override !== undefined) f['kibana.alert.rule.timestamp_override'] = rule.timestamp_override;
  ruleFieldCache.set(rule, f);
  return f;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** Kibana's generateId(index, id, version, ruleUuid) for an alert on one event. */
export function eventAlertId(ev: Pick<EventDoc, 'index' | 'id'>, uuid: string): string {
  return sha256(ev.index + ev.id + '' + uuid);
}

// Reason text (Kibana's buildReasonMessageUtil). Each part appears only when the field has a
// value; multi-valued fields are joined with ", ".
const REASON_FIELDS = [
  'event.category', 'process.name', 'process.parent.name', 'file.name', 'source.address', 'source.port',
  'destination.address', 'destination.port', 'user.name', 'host.name',
] as const;

function reasonValue(src: Record<string, unknown>, field: string): string | null {
  const v = getField(src, field);
  if (v === undefined || v === null) return null;
  const arr = Array.isArray(v) ? v : [v];
  const vals = arr.filter((x) => x !== null && x !== undefined).map(String);
  if (vals.length === 0 || (vals.length === 1 && (vals[0] === '-' || vals[0] === ''))) return null;
  return vals.join(', ');
}

/** `kibana.alert.reason`: "process event with process X, parent process Y, by U on H created medium alert NAME." */
export function alertReason(rule: Pick<Rule, 'name' | 'severity'>, src: Record<string, unknown>): string {
  const v: Record<string, string | null> = {};
  for (const f of REASON_FIELDS) v[f] = reasonValue(src, f);
  let s = `${v['event.category'] ?? ''} event with`;
  if (v['process.name'] !== null) s += ` process ${v['process.name']},`;
  if (v['process.parent.name'] !== null) s += ` parent process ${v['process.parent.name']},`;
  if (v['file.name'] !== null) s += ` file ${v['file.name']},`;
  if (v['source.address'] !== null) s += ` source ${v['source.address']}`;
  if (v['source.port'] !== null) s += `:${v['source.port']},`;
  if (v['destination.address'] !== null) s += ` destination ${v['destination.address']}`;
  if (v['destination.port'] !== null) s += `:${v['destination.port']},`;
  if (v['user.name'] !== null) s += ` by ${v['user.name']}`;
  if (v['host.name'] !== null) s += ` on ${v['host.name']}`;
  return `${s} created ${rule.severity} alert ${rule.name}.`;
}

/**
 * The event's fields as they go into the alert: a shallow copy without `event.kind` (replaced by
 * "signal") and without fields of earlier alerts (`kibana.*`, `signal`), which Kibana never
 * copies from a source document.
 */
function sourceFields(src: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in src) {
    if (k === 'kibana' || k.startsWith('kibana.') || k === 'signal' || k.startsWith('signal.')) continue;
    if (k === 'event.kind') continue;
    if (k === 'event') {
      const e = src.event;
      if (e !== null && typeof e === 'object' && !Array.isArray(e)) {
        const { kind: _kind, ...rest } = e as Record<string, unknown>;
        if (Object.keys(rest).length > 0) out.event = rest;
        continue;
      }
    }
    out[k] = src[k];
  }
  return out;
}

/** `kibana.alert.original_event.*`: every leaf of the source `event` object, flattened. */
function originalEvent(src: Record<string, unknown>, into: Record<string, unknown>): void {
  const walk = (o: Record<string, unknown>, prefix: string) => {
    for (const k in o) {
      const v = o[k];
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, `${prefix}${k}.`);
      else into[`kibana.alert.original_event.${prefix}${k}`] = v;
    }
  };
  const e = src.event;
  if (e !== null && typeof e === 'object' && !Array.isArray(e)) walk(e as Record<string, unknown>, '');
  for (const k in src) if (k.startsWith('event.')) into[`kibana.alert.original_event.${k.slice(6)}`] = src[k];
}

interface Ancestor {
  id: string;
  index: string;
  type: 'event' | 'signal';
  depth: number;
  rule?: string;
}

function baseAlert(
  rule: Rule,
  src: Record<string, unknown>,
  id: string,
  ancestors: Ancestor[],
  ctx: AlertContext,
  fieldsSource: Record<string, unknown>,
): Alert {
  const alert: Alert = { ...fieldsSource };
  alert['@timestamp'] = ctx.runTime;
  alert['event.kind'] = 'signal';
  const original = getField(src, '@timestamp');
  if (original !== undefined) alert['kibana.alert.original_time'] = original;
  originalEvent(src, alert);
  Object.assign(alert, ruleFields(rule));
  alert['kibana.alert.rule.execution.type'] = 'scheduled';
  alert['kibana.alert.rule.execution.uuid'] = ctx.executionUuid;
  alert['kibana.alert.intended_timestamp'] = ctx.runTime;
  alert['kibana.alert.uuid'] = id;
  alert['kibana.alert.status'] = 'active';
  alert['kibana.alert.workflow_status'] = 'open';
  alert['kibana.alert.workflow_tags'] = [];
  alert['kibana.alert.workflow_assignee_ids'] = [];
  alert['kibana.alert.severity'] = rule.severity;
  alert['kibana.alert.risk_score'] = rule.risk_score;
  alert['kibana.alert.reason'] = alertReason(rule, src);
  alert['kibana.alert.ancestors'] = ancestors;
  alert['kibana.alert.depth'] = Math.max(0, ...ancestors.map((a) => a.depth)) + 1;
  alert['kibana.space_ids'] = ['default'];
  if (rule.building_block_type !== undefined) alert['kibana.alert.building_block_type'] = rule.building_block_type;
  return alert;
}

function eventAncestor(ev: EventDoc): Ancestor {
  return { id: ev.id, index: ev.index, type: 'event', depth: 0 };
}

/** One alert for one matched event (event queries). */
export function buildEventAlert(rule: Rule, ev: EventDoc, ctx: AlertContext): Alert {
  const uuid = ruleUuid(rule);
  return baseAlert(rule, ev.source, eventAlertId(ev, uuid), [eventAncestor(ev)], ctx, sourceFields(ev.source));
}

/**
 * Alerts for one matched sequence: a building-block alert per event (in sequence order), then the
 * shell alert. Missing-event placeholders (null) produce no building block.
 */
export function buildSequenceAlerts(rule: Rule, events: readonly (EventDoc | null)[], ctx: AlertContext): Alert[] {
  const uuid = ruleUuid(rule);
  const evs = events.filter((e): e is EventDoc => e !== null);
  let base = '';
  for (const ev of evs) base += ev.id + ev.index + uuid;
  const bbIds = evs.map((_, i) => createHash('sha256').update(base).update(String(i)).digest('hex'));
  let shellBase = '';
  for (const id of bbIds) shellBase += id + ALERTS_INDEX;
  const shellId = sha256(shellBase + uuid);

  const blocks: Alert[] = evs.map((ev, i) => {
    const a = baseAlert(rule, ev.source, bbIds[i]!, [eventAncestor(ev)], ctx, sourceFields(ev.source));
    a['kibana.alert.building_block_type'] = 'default';
    a['kibana.alert.group.id'] = shellId;
    a['kibana.alert.group.index'] = i;
    return a;
  });

  // The shell carries only what all events agree on, and points at its building blocks.
  const common = intersect(evs.map((e) => sourceFields(e.source)));
  const shellAncestors: Ancestor[] = [];
  for (const ev of evs) shellAncestors.push(eventAncestor(ev));
  bbIds.forEach((id) => shellAncestors.push({ id, index: ALERTS_INDEX, type: 'signal', depth: 1, rule: uuid }));
  const shell = baseAlert(rule, common, shellId, [], ctx, common);
  // depth: one above the building blocks (alerts on raw events have depth 1).
  shell['kibana.alert.ancestors'] = shellAncestors;
  shell['kibana.alert.depth'] = 2;
  shell['kibana.alert.group.id'] = shellId;
  // The shell stands for the whole sequence: its original time is the first event's.
  const first = evs[0] ? getField(evs[0].source, '@timestamp') : undefined;
  if (first !== undefined) shell['kibana.alert.original_time'] = first;
  return [...blocks, shell];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Field-wise intersection (Kibana's objectPairIntersection applied across all events): a value is
 * kept when every document has it equal; objects are intersected recursively, arrays keep the
 * elements present in all of them; anything else that differs is dropped.
 */
export function intersect(docs: Record<string, unknown>[]): Record<string, unknown> {
  if (docs.length === 0) return {};
  let acc: Record<string, unknown> = docs[0]!;
  for (let i = 1; i < docs.length; i++) acc = intersectPair(acc, docs[i]!) ?? {};
  return acc;
}

function intersectPair(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  let any = false;
  for (const k in a) {
    if (!(k in b)) continue;
    const v = intersectValue(a[k], b[k]);
    if (v !== undefined) {
      out[k] = v;
      any = true;
    }
  }
  return any ? out : undefined;
}

function intersectValue(x: unknown, y: unknown): unknown {
  if (isPlainObject(x) && isPlainObject(y)) return intersectPair(x, y);
  if (Array.isArray(x) && Array.isArray(y)) {
    const ys = new Set(y.map((e) => JSON.stringify(e)));
    const r = x.filter((e) => ys.has(JSON.stringify(e)));
    return r.length > 0 ? r : undefined;
  }
  if (x === y) return x;
  return undefined;
}
