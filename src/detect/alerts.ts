// Alert documents as Kibana's detection engine writes them into `.alerts-security.alerts-default`
// for EQL rules. Each piece follows the Kibana code that builds it (security_solution
// server/lib/detection_engine/rule_types/…):
//  * event alert (eql.ts → factories/wrap_hits.ts): id = sha256(_index + _id + String(_version) +
//    "<space>:<rule uuid>") (utils.ts generateId; EQL hits carry no _version, so "undefined");
//    body = the event `_source` cleaned as traverseAndMutateDoc does (ecs-source.ts), then the
//    alert fields of build_alert.ts buildAlertFields, with the per-event severity, risk score and
//    rule name overrides (overrides.ts) and the reason (reason.ts);
//  * sequence (eql/build_alert_group_from_sequence.ts): one building block per event, built the
//    same way without overrides, ids from generate_building_block_ids.ts; then the shell alert:
//    the intersection of the building blocks' documents (intersect.ts) plus alert fields built
//    with the building blocks as parents, so its ancestors interleave [event 0, building block 0,
//    event 1, …] (building blocks are referenced with index "") and its id hashes them;
//  * finally the fields the alerting framework adds to every alert it writes
//    (rule_registry create_persistence_rule_type_wrapper.ts augmentAlerts, getCommonAlertFields).
// Values Kibana leaves undefined are omitted (they are absent from the JSON it sends).
import { createHash } from 'node:crypto';
import { collectFields, parse } from '../eql/index.js';
import { parseInstant, type Instant } from '../events/time.js';
import { documentId } from '../events/ids.js';
import type { EventDoc } from '../events/types.js';
import type { Rule } from '../rules/types.js';
import { fieldStatus } from '../rules/validate.js';
import { flattenInto, prepareAlertSource } from './ecs-source.js';
import { DEFAULT_INDEX_PATTERNS } from './index-pattern.js';
import { objectArrayIntersection } from './intersect.js';
import { riskScoreFromMapping, ruleNameFromMapping, severityFromMapping, sortSeverityMapping, type RiskScoreMappingItem, type SeverityMappingItem } from './overrides.js';
import { buildReasonMessage, lodashGet } from './reason.js';
import { setOwn } from '../util/own.js';
import { extraField } from '../rules/cold-fields.js';

/** An alert `_source`; `kibana.alert.uuid` is its `_id`. */
export type Alert = Record<string, unknown>;

/** The Kibana space alerts are written for. */
export const SPACE_ID = 'default';

/** Index the alerts live in (default space). */
export const ALERTS_INDEX = `.alerts-security.alerts-${SPACE_ID}`;

/** The Kibana release whose detection engine eqlite reproduces (`kibana.version`). */
export const KIBANA_VERSION = '9.1.0';

export interface AlertContext {
  /** When the rule ran (ISO 8601): the alert's `@timestamp`, start and intended timestamp. */
  runTime: string;
  /** Identifies the run (deterministic for offline runs: rule uuid + window). */
  executionUuid: string;
}

export interface Ancestor {
  id: string;
  index: string;
  type: 'event' | 'signal';
  depth: number;
  rule?: string;
}

const uuidCache = new WeakMap<Rule, string>();

/**
 * The rule's Kibana saved-object id. Kibana exports carry it as `id`; detection-rules TOML files
 * have none, so a stable UUID-shaped id is derived from the rule_id (the same on every run).
 */
export function ruleUuid(rule: Rule): string {
  let u = uuidCache.get(rule);
  if (u === undefined) {
    const id = extraField(rule, 'id');
    if (typeof id === 'string' && id !== '') u = id;
    else {
      const h = sha256('eqlite-rule:' + rule.rule_id);
      // Version nibble 5 and the RFC 4122 variant, so that the value parses as a UUID.
      u = `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
    }
    uuidCache.set(rule, u);
  }
  return u;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/**
 * Kibana's generateId(_index, _id, String(_version), `${space}:${rule uuid}`) for an alert on one
 * event. Events read offline, like EQL hits, have no `_version`.
 */
export function eventAlertId(ev: Pick<EventDoc, 'index' | 'id' | 'derivedId' | 'source'>, uuid: string, space = SPACE_ID): string {
  return sha256(ev.index + documentId(ev as EventDoc) + String(undefined) + `${space}:${uuid}`);
}

/** generate_building_block_ids.ts: every block's ancestors and the rule, then the position. */
export function buildingBlockIds(ancestorsPerBlock: readonly Ancestor[][], uuid: string): string[] {
  let base = '';
  for (const ancestors of ancestorsPerBlock) {
    for (const a of ancestors) base += a.id + a.index;
    base += uuid;
  }
  return ancestorsPerBlock.map((_, i) => createHash('sha256').update(base).update(String(i)).digest('hex'));
}

/** build_alert.ts generateAlertId: the ancestors' ids and indices, then the rule. */
export function alertIdFromAncestors(ancestors: readonly Ancestor[], uuid: string): string {
  let s = '';
  for (const a of ancestors) s += a.id + a.index;
  return sha256(s + uuid);
}

// ---------------------------------------------------------------------------------------------
// Rule fields

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Rules from elastic/detection-rules TOML files are Elastic's prebuilt rules. */
export function isPrebuilt(rule: Rule): boolean {
  return isObject(rule.extra.metadata);
}

/** detection-rules dates (`2020/11/27`) as ISO instants. */
function tomlDate(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(\d{4})\/(\d{2})\/(\d{2})$/.exec(v.trim());
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

function isoOrUndefined(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const t = parseInstant(v);
  return t ? new Date(t.ms).toISOString() : undefined;
}

/**
 * `required_fields` of a prebuilt rule as Elastic's rule build computes them: every field the
 * query reads, by name, with its ECS type (`unknown` outside ECS).
 */
export function requiredFields(query: string): { name: string; type: string; ecs: boolean }[] {
  let names: string[];
  try {
    names = [...new Set(collectFields(parse(query)).map((f) => f.name))];
  } catch {
    return [];
  }
  names.sort();
  return names.map((name) => {
    const s = fieldStatus(name);
    const ecs = s.known && s.source === 'ecs' && s.type !== undefined;
    return { name, type: ecs ? s.type! : 'unknown', ecs };
  });
}

/** Stands for the alert's run time in the cached rule fields. */
const RUN_TIME = Symbol('run time');

interface RuleFieldSet {
  /** kibana.alert.rule.parameters */
  parameters: Record<string, unknown>;
  /** The `kibana.alert.rule.*` and other per-rule fields of buildAlertFields, in its order. */
  fields: [string, unknown][];
  /** The alerting framework's common fields (getCommonAlertFields), in its order. */
  common: [string, unknown][];
}

const ruleFieldCache = new WeakMap<Rule, Map<string, RuleFieldSet>>();

function definedEntries(entries: [string, unknown][]): [string, unknown][] {
  return entries.filter(([, v]) => v !== undefined);
}

/**
 * The per-rule fields, computed once per rule. `sortedSeverityMapping`: Kibana sorts the rule's
 * severity_mapping in place when it applies overrides (alerts on single events), so those alerts
 * carry it sorted by severity.
 */
function ruleFieldSet(rule: Rule, sortedSeverityMapping: boolean): RuleFieldSet {
  let byVariant = ruleFieldCache.get(rule);
  if (!byVariant) ruleFieldCache.set(rule, (byVariant = new Map()));
  const key = sortedSeverityMapping ? 'sorted' : 'plain';
  const cached = byVariant.get(key);
  if (cached) return cached;

  const x = rule.extra;
  const prebuilt = isPrebuilt(rule);
  const meta = isObject(x.metadata) ? x.metadata : {};
  const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  let severityMapping = arr(x.severity_mapping) as SeverityMappingItem[];
  if (sortedSeverityMapping && severityMapping.length > 0) severityMapping = sortSeverityMapping(severityMapping);
  const immutable = prebuilt ? true : x.immutable === true;
  const ruleSource = isObject(x.rule_source)
    ? x.rule_source
    : immutable
      ? { type: 'external', is_customized: false }
      : { type: 'internal' };
  const relatedIntegrations = Array.isArray(x.related_integrations)
    ? x.related_integrations
    : prebuilt
      ? arr(meta.integration).filter((p): p is string => typeof p === 'string').map((p) => ({ package: p, version: '*' }))
      : [];
  const requiredFieldsValue = Array.isArray(x.required_fields) ? x.required_fields : prebuilt && rule.query ? requiredFields(rule.query) : [];
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

  // Kibana's commonParamsCamelToSnake + typeSpecificCamelToSnake (EQL), in their order.
  const parameters: Record<string, unknown> = Object.fromEntries(
    definedEntries([
      ['description', rule.description ?? ''],
      ['risk_score', rule.risk_score],
      ['severity', rule.severity],
      ['building_block_type', rule.building_block_type],
      ['namespace', str(x.namespace)],
      ['note', rule.note],
      ['license', rule.license],
      ['timeline_id', str(x.timeline_id)],
      ['timeline_title', str(x.timeline_title)],
      ['meta', isObject(x.meta) ? x.meta : undefined],
      ['rule_name_override', str(x.rule_name_override)],
      ['timestamp_override', rule.timestamp_override],
      ['timestamp_override_fallback_disabled', rule.timestamp_override_fallback_disabled],
      ['investigation_fields', isObject(x.investigation_fields) ? x.investigation_fields : undefined],
      ['author', rule.author],
      ['false_positives', arr(x.false_positives)],
      ['from', rule.from],
      ['rule_id', rule.rule_id],
      ['max_signals', rule.max_signals],
      ['risk_score_mapping', arr(x.risk_score_mapping)],
      ['severity_mapping', severityMapping],
      ['threat', rule.threat],
      ['to', rule.to],
      ['references', rule.references],
      ['version', rule.version],
      ['exceptions_list', rule.exceptions_list],
      ['immutable', immutable],
      ['rule_source', ruleSource],
      ['related_integrations', relatedIntegrations],
      ['required_fields', requiredFieldsValue],
      ['setup', rule.setup ?? ''],
      ['response_actions', Array.isArray(x.response_actions) ? x.response_actions : undefined],
      ['type', rule.type],
      ['language', rule.language ?? 'eql'],
      ['index', rule.index],
      ['data_view_id', str(x.data_view_id)],
      ['query', rule.query ?? ''],
      ['filters', Array.isArray(x.filters) ? x.filters : undefined],
      ['event_category_override', rule.event_category_override],
      ['tiebreaker_field', rule.tiebreaker_field],
      ['timestamp_field', str(x.timestamp_field)],
      ['alert_suppression', isObject(x.alert_suppression) ? x.alert_suppression : undefined],
    ]),
  );
  const uuid = ruleUuid(rule);
  // A rule that says nothing about it was created, as far as its alerts can tell, when it ran.
  const createdAt = isoOrUndefined(x.created_at) ?? tomlDate(meta.creation_date) ?? RUN_TIME;
  const updatedAt = isoOrUndefined(x.updated_at) ?? tomlDate(meta.updated_date) ?? createdAt;
  const metaFields: [string, unknown][] = [];
  if (isObject(x.meta)) flattenInto('kibana.alert.rule.meta', x.meta, metaFields);
  const fields: [string, unknown][] = definedEntries([
    ['kibana.alert.rule.actions', arr(x.actions)],
    ['kibana.alert.rule.author', rule.author],
    ['kibana.alert.rule.created_at', createdAt],
    ['kibana.alert.rule.created_by', str(x.created_by) ?? 'eqlite'],
    ['kibana.alert.rule.description', rule.description ?? ''],
    ['kibana.alert.rule.enabled', rule.enabled ?? true],
    ['kibana.alert.rule.exceptions_list', rule.exceptions_list],
    ['kibana.alert.rule.false_positives', parameters.false_positives],
    ['kibana.alert.rule.from', rule.from],
    ['kibana.alert.rule.immutable', immutable],
    ['kibana.alert.rule.interval', rule.interval],
    ['kibana.alert.rule.indices', rule.index && rule.index.length > 0 ? rule.index : [...DEFAULT_INDEX_PATTERNS]],
    ['kibana.alert.rule.license', rule.license],
    ['kibana.alert.rule.max_signals', rule.max_signals],
    ['kibana.alert.rule.name', rule.name],
    ['kibana.alert.rule.namespace', str(x.namespace)],
    ['kibana.alert.rule.note', rule.note],
    ['kibana.alert.rule.references', rule.references],
    ['kibana.alert.rule.risk_score_mapping', parameters.risk_score_mapping],
    ['kibana.alert.rule.rule_id', rule.rule_id],
    ['kibana.alert.rule.rule_name_override', str(x.rule_name_override)],
    ['kibana.alert.rule.severity_mapping', severityMapping],
    ['kibana.alert.rule.tags', rule.tags],
    ['kibana.alert.rule.threat', rule.threat],
    ['kibana.alert.rule.throttle', str(x.throttle)],
    ['kibana.alert.rule.timeline_id', str(x.timeline_id)],
    ['kibana.alert.rule.timeline_title', str(x.timeline_title)],
    ['kibana.alert.rule.timestamp_override', rule.timestamp_override],
    ['kibana.alert.rule.to', rule.to],
    ['kibana.alert.rule.type', rule.type],
    ['kibana.alert.rule.updated_at', updatedAt],
    ['kibana.alert.rule.updated_by', str(x.updated_by) ?? 'eqlite'],
    ['kibana.alert.rule.uuid', uuid],
    ['kibana.alert.rule.version', rule.version],
  ]);
  const common: [string, unknown][] = [
    ['kibana.alert.rule.parameters', parameters],
    ['kibana.alert.rule.category', 'Event Correlation Rule'],
    ['kibana.alert.rule.consumer', 'siem'],
    ['kibana.alert.rule.execution.uuid', ''],
    ['kibana.alert.rule.name', rule.name],
    ['kibana.alert.rule.producer', 'siem'],
    ['kibana.alert.rule.revision', typeof x.revision === 'number' ? x.revision : 0],
    ['kibana.alert.rule.rule_type_id', 'siem.eqlRule'],
    ['kibana.alert.rule.uuid', uuid],
    ['kibana.space_ids', [SPACE_ID]],
    ['kibana.alert.rule.tags', rule.tags],
  ];
  const set: RuleFieldSet = { parameters, fields: [...fields, ...metaFields], common };
  byVariant.set(key, set);
  return set;
}

/** The `kibana.alert.rule.*` fields of a rule's alerts (for callers that show rules). */
export function ruleFields(rule: Rule): Record<string, unknown> {
  const set = ruleFieldSet(rule, false);
  return Object.fromEntries([['kibana.alert.rule.parameters', set.parameters], ...set.fields.filter(([, v]) => v !== RUN_TIME)]);
}

// ---------------------------------------------------------------------------------------------
// Ancestry

/** A parent document: an event, or an alert (`kibana.alert.uuid`, or a legacy `signal`). */
interface Parent {
  id: string;
  index: string;
  source: Record<string, unknown>;
  /** The event's @timestamp as the reader or the ordering stage read it (EventDoc.time), when known. */
  time?: Instant;
}

function isAlertDoc(src: Record<string, unknown>): 'alert' | 'signal' | null {
  if (src['kibana.alert.uuid'] !== undefined && src['kibana.alert.uuid'] !== null) return 'alert';
  if (src.signal !== undefined && src.signal !== null) return 'signal';
  return null;
}

/** build_alert.ts buildParent. */
function buildParent(p: Parent): Ancestor {
  const kind = isAlertDoc(p.source);
  if (kind === null) return { id: p.id, index: p.index, type: 'event', depth: 0 };
  const depth = lodashGet(p.source, kind === 'alert' ? 'kibana.alert.depth' : 'signal.depth');
  const rule = lodashGet(p.source, kind === 'alert' ? 'kibana.alert.rule.uuid' : 'signal.rule.id');
  const a: Ancestor = { id: p.id, index: p.index, type: 'signal', depth: typeof depth === 'number' ? depth : 1 };
  if (typeof rule === 'string') a.rule = rule;
  return a;
}

/** build_alert.ts buildAncestors: the parent's own ancestry, then the parent. */
function buildAncestors(p: Parent): Ancestor[] {
  const kind = isAlertDoc(p.source);
  const existing = kind === null ? undefined : lodashGet(p.source, kind === 'alert' ? 'kibana.alert.ancestors' : 'signal.ancestors');
  return [...(Array.isArray(existing) ? (existing as Ancestor[]) : []), buildParent(p)];
}

function eventParent(ev: EventDoc): Parent {
  const p: Parent = { id: documentId(ev), index: ev.index, source: ev.source };
  if (ev.time !== undefined && ev.timeField === '@timestamp') p.time = ev.time;
  return p;
}

// ---------------------------------------------------------------------------------------------
// Building

interface Overrides {
  name: string;
  severity: string;
  riskScore: number;
}

/**
 * `kibana.alert.original_time`: the parent's @timestamp as an ISO instant in UTC (milliseconds).
 * Kibana's getValidDateFromDoc takes it from the hit's `fields` first, which the search asks for
 * with the format strict_date_optional_time: the date field's indexed milliseconds, which
 * Elasticsearch parsed from the text of a JSON number. So a number's time is the one the reader
 * read from its text (`2024.0` is 2,024 ms, not the year its value 2024 would be).
 */
function originalTime(p: Parent): string | undefined {
  const v = p.source['@timestamp'];
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const t = typeof v === 'number' && p.time !== undefined ? p.time : parseInstant(v);
  if (!t) return undefined;
  const d = new Date(t.ms);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** buildAlertFields: the alert fields for a new alert whose parents are `docs`. */
function alertFields(
  rule: Rule,
  docs: Parent[],
  reason: string,
  uuidOfAlert: string,
  ctx: AlertContext,
  sortedSeverityMapping: boolean,
  overrides?: Overrides,
): [string, unknown][] {
  const set = ruleFieldSet(rule, sortedSeverityMapping);
  const parents = docs.map(buildParent);
  const depth = parents.reduce((m, p) => Math.max(m, p.depth), 0) + 1;
  const ancestors = docs.flatMap(buildAncestors);
  const out: [string, unknown][] = [
    ['@timestamp', ctx.runTime],
    ['kibana.space_ids', [SPACE_ID]],
    ['event.kind', 'signal'],
    ['kibana.alert.original_time', docs[0] ? originalTime(docs[0]) : undefined],
    ['kibana.alert.rule.consumer', 'siem'],
    ['kibana.alert.ancestors', ancestors],
    ['kibana.alert.status', 'active'],
    ['kibana.alert.workflow_status', 'open'],
    ['kibana.alert.depth', depth],
    ['kibana.alert.reason', reason],
    ['kibana.alert.building_block_type', rule.building_block_type],
    ['kibana.alert.severity', overrides?.severity ?? rule.severity],
    ['kibana.alert.risk_score', overrides?.riskScore ?? rule.risk_score],
    ['kibana.alert.rule.parameters', set.parameters],
    ...set.fields.map(([k, v]): [string, unknown] => [k, v]),
    ['kibana.alert.uuid', uuidOfAlert],
    ['kibana.alert.workflow_tags', []],
    ['kibana.alert.workflow_assignee_ids', []],
    ['kibana.alert.rule.risk_score', rule.risk_score],
    ['kibana.alert.rule.severity', rule.severity],
    ['kibana.alert.rule.building_block_type', rule.building_block_type],
    ['kibana.alert.intended_timestamp', ctx.runTime],
    ['kibana.alert.rule.execution.type', 'scheduled'],
  ];
  for (const e of out) {
    if (e[1] === RUN_TIME) e[1] = ctx.runTime;
    else if (overrides && e[0] === 'kibana.alert.rule.name') e[1] = overrides.name;
  }
  return definedEntries(out);
}

/**
 * The event's cleaned `_source` with the alert fields merged in (transform_hit_to_alert.ts:
 * traverseAndMutateDoc, `event.kind` unset, lodash merge of the alert fields).
 */
function mergeSourceAndFields(source: Record<string, unknown>, fields: [string, unknown][]): Alert {
  const { result } = prepareAlertSource(source);
  if ('event.kind' in result) delete result['event.kind'];
  const ev = result.event;
  if (isObject(ev) && 'kind' in ev) {
    const { kind: _kind, ...rest } = ev;
    result.event = rest;
  }
  for (const [k, v] of fields) result[k] = v;
  return result;
}

/** augmentAlerts: the framework's fields first, then the alert (which wins on shared keys). */
function augment(rule: Rule, alert: Alert, ctx: AlertContext): Alert {
  const set = ruleFieldSet(rule, false);
  const out: Alert = {
    'kibana.alert.rule.execution.timestamp': ctx.runTime,
    'kibana.alert.start': ctx.runTime,
    'kibana.alert.last_detected': ctx.runTime,
    'kibana.version': KIBANA_VERSION,
  };
  for (const [k, v] of set.common) out[k] = v;
  out['kibana.alert.rule.execution.uuid'] = ctx.executionUuid;
  out['@timestamp'] = ctx.runTime;
  for (const k of Object.keys(alert)) setOwn(out, k, alert[k]);
  return out;
}

/** True when the parent is an alert of this same rule: Kibana drops those (no self-chaining). */
function chainsOnItself(ancestors: readonly Ancestor[], uuid: string): boolean {
  return ancestors.some((a) => a.rule === uuid);
}

/**
 * The alert for one matched event (event queries), or null when the event is an alert written by
 * this same rule.
 */
export function buildEventAlert(rule: Rule, ev: EventDoc, ctx: AlertContext): Alert | null {
  const uuid = ruleUuid(rule);
  const parent = eventParent(ev);
  if (chainsOnItself(buildAncestors(parent), uuid)) return null;
  const id = eventAlertId(ev, uuid);
  const x = rule.extra;
  const overrides: Overrides = {
    name: ruleNameFromMapping(ev.source, rule.name, typeof x.rule_name_override === 'string' ? x.rule_name_override : undefined),
    severity: severityFromMapping(ev.source, rule.severity, x.severity_mapping as SeverityMappingItem[] | undefined),
    riskScore: riskScoreFromMapping(ev.source, rule.risk_score, x.risk_score_mapping as RiskScoreMappingItem[] | undefined),
  };
  const reason = buildReasonMessage(overrides.name, overrides.severity, { _source: ev.source });
  const fields = alertFields(rule, [parent], reason, id, ctx, true, overrides);
  return augment(rule, mergeSourceAndFields(ev.source, fields), ctx);
}

/**
 * Alerts for one matched sequence: a building block per event (in sequence order), then the
 * shell. Missing-event placeholders (null) produce no building block. Empty when one of the
 * events is an alert of this same rule.
 */
export function buildSequenceAlerts(rule: Rule, events: readonly (EventDoc | null)[], ctx: AlertContext): Alert[] {
  const uuid = ruleUuid(rule);
  const parents = events.filter((e): e is EventDoc => e !== null).map(eventParent);
  if (parents.length === 0) return [];
  const ancestry = parents.map(buildAncestors);
  if (ancestry.some((a) => chainsOnItself(a, uuid))) return [];

  const blockIds = buildingBlockIds(ancestry, uuid);
  const blocks: Alert[] = parents.map((p, i) => {
    const reason = buildReasonMessage(rule.name, rule.severity, { _source: p.source });
    return mergeSourceAndFields(p.source, alertFields(rule, [p], reason, blockIds[i]!, ctx, false));
  });

  // The shell: what the building blocks share, with the building blocks as its parents.
  const merged = objectArrayIntersection(blocks);
  const reason = buildReasonMessage(rule.name, rule.severity, { _source: merged });
  const blockParents: Parent[] = blocks.map((b, i) => ({ id: blockIds[i]!, index: '', source: b }));
  const fields = alertFields(rule, blockParents, reason, 'placeholder', ctx, false);
  const ancestors = fields.find(([k]) => k === 'kibana.alert.ancestors')![1] as Ancestor[];
  const shellId = alertIdFromAncestors(ancestors, uuid);
  const shell: Alert = { ...(merged ?? {}) };
  for (const [k, v] of fields) shell[k] = v;
  shell['kibana.alert.uuid'] = shellId;
  shell['kibana.alert.group.id'] = shellId;

  const out = blocks.map((b, i) => {
    b['kibana.alert.building_block_type'] = 'default';
    b['kibana.alert.group.id'] = shellId;
    b['kibana.alert.group.index'] = i;
    return augment(rule, b, ctx);
  });
  out.push(augment(rule, shell, ctx));
  return out;
}
