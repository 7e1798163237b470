// The source event's fields as they go into an alert: what Kibana's traverseAndMutateDoc does to a
// hit's `_source` before merging the alert fields into it
// (rule_types/factories/utils/traverse_and_mutate_doc.ts). In one walk over the document:
//  1. top-level `kibana*` and `signal*` (and `threshold_result`) fields are removed — fields of an
//     earlier alert are never copied into a new one;
//  2. fields whose value does not fit their ECS type are removed (a keyword field holding an
//     object, `client.bytes: "n/a"`, `source.ip: "invalid-ip"`, `event.created: true`, …), and so
//     are empty arrays and objects (also when they became empty by the removals);
//  3. every top-level `event.*` field is copied to `kibana.alert.original_event.*` and every
//     `data_stream.*` field to `kibana.alert.original_data_stream.*` (flattened, appended last).
// The ECS types come from @elastic/ecs; like Kibana's `ecsFieldMap`, multi-fields
// (`process.name.text`) are not fields of their own and `nested` fields must hold objects.
//
// Unlike Kibana this never mutates its input: events are shared by every rule of a hunt.
import { createRequire } from 'node:module';
import type IpAddr from 'ipaddr.js';
import { own, setOwn } from '../util/own.js';

// Loaded on first use: most alerts hold no field typed ip with a value to check.
let ipaddrModule: typeof IpAddr | undefined;
const ip = (): typeof IpAddr => (ipaddrModule ??= createRequire(import.meta.url)('ipaddr.js') as typeof IpAddr);

export interface RemovedField {
  key: string;
  value: unknown;
}

export interface PreparedSource {
  result: Record<string, unknown>;
  removed: RemovedField[];
}

interface EcsTables {
  /** flat_name → ECS type, without `nested` fields (as Kibana's ecsFieldMap). */
  types: Map<string, string>;
  /** Every proper prefix of a field name (`agent`, `agent.build` for agent.build.original). */
  objects: Set<string>;
  nested: Set<string>;
}

let tables: EcsTables | undefined;

function ecs(): EcsTables {
  if (tables) return tables;
  const require = createRequire(import.meta.url);
  const mod = require('@elastic/ecs') as { EcsFlat: Record<string, { flat_name: string; type: string }> };
  const types = new Map<string, string>();
  const objects = new Set<string>();
  const nested = new Set<string>();
  for (const f of Object.values(mod.EcsFlat)) {
    if (f.type === 'nested') {
      nested.add(f.flat_name);
      continue;
    }
    types.set(f.flat_name, f.type);
  }
  for (const name of types.keys()) {
    const parts = name.split('.');
    let p = '';
    for (let i = 0; i < parts.length - 1; i++) {
      p = i === 0 ? parts[0]! : `${p}.${parts[i]}`;
      objects.add(p);
    }
  }
  tables = { types, objects, nested };
  return tables;
}

const OBJECT_TYPES = new Set(['object', 'flattened', 'geo_point']);
const BANNED = new Set(['kibana', 'signal', 'threshold_result']);
const COPY_TO: Record<string, string> = {
  event: 'kibana.alert.original_event',
  data_stream: 'kibana.alert.original_data_stream',
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isEcsField(path: string): boolean {
  const t = ecs();
  return t.types.has(path) || t.objects.has(path);
}

function isEcsObject(path: string): boolean {
  const t = ecs();
  const type = t.types.get(path);
  return (type !== undefined && OBJECT_TYPES.has(type)) || t.objects.has(path);
}

/** A dotted path is valid only if every ECS field along it is an object. */
function parentsAreObjects(path: string): boolean {
  let end = path.indexOf('.');
  while (end >= 0) {
    const p = path.slice(0, end);
    // Every prefix of an ECS name is known: past the first unknown prefix there is no ECS field,
    // so a path deep inside a custom object (hostile input nests 1,000 levels) stops here.
    if (!isEcsField(p)) return true;
    if (!isEcsObject(p)) return false;
    end = path.indexOf('.', end + 1);
  }
  return true;
}

// Kibana's ecs_types_validators.
function isNumeric(v: unknown): boolean {
  if (typeof v === 'number') return true;
  if (typeof v === 'string') return !Number.isNaN(Number(v));
  return false;
}

function isLong(v: unknown): boolean {
  if (typeof v === 'string' && v.includes(' ')) return false;
  return isNumeric(v);
}

function isIp(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  if (ip().isValid(v)) return true;
  try {
    ip().IPv4.parseCIDR(v);
    return true;
  } catch {
    // not an IPv4 block
  }
  try {
    ip().IPv6.parseCIDR(v);
    return true;
  } catch {
    return false;
  }
}

function isDate(v: unknown): boolean {
  if (typeof v !== 'string' && typeof v !== 'number') return false;
  return !Number.isNaN(new Date(v).getTime());
}

const BOOLEANS: readonly unknown[] = ['true', 'false', true, false, ''];

/** Kibana's computeIsEcsCompliant: whether a value may be stored under `path`. */
export function fitsEcs(value: unknown, path: string): boolean {
  if (path.includes('.') && !parentsAreObjects(path)) return false;
  const t = ecs();
  if (t.nested.has(path)) {
    return Array.isArray(value) ? value.every((x) => isPlainObject(x)) : isPlainObject(value);
  }
  if (!isEcsField(path)) return true;
  const type = t.types.get(path);
  switch (type) {
    case 'geo_point':
      return true;
    case 'long':
      return isLong(value);
    case 'float':
    case 'scaled_float':
      return isNumeric(value);
    case 'ip':
      return isIp(value);
    case 'date':
      return isDate(value);
    case 'boolean':
      return BOOLEANS.includes(value);
  }
  return isEcsObject(path) ? isPlainObject(value) : !isPlainObject(value);
}

/**
 * Prepares an event `_source` for an alert (Kibana's traverseAndMutateDoc), returning a new
 * document and the fields that were removed as not ECS-compliant.
 */
export function prepareAlertSource(source: Record<string, unknown>): PreparedSource {
  const removed: RemovedField[] = [];
  const added: [string, unknown][] = [];
  const result: Record<string, unknown> = {};
  for (const key of Object.keys(source)) {
    if (BANNED.has(key.split('.')[0]!)) {
      removed.push({ key, value: source[key] });
      continue;
    }
    const kept = cleanValue(source[key], key, removed);
    if (kept === DROP) continue;
    // Keys come from the event: own properties only (util/own.ts).
    setOwn(result, key, kept);
    const top = key.split('.')[0]!;
    const dest = own(COPY_TO, top) as string | undefined;
    if (dest !== undefined) {
      // `event` → kibana.alert.original_event, `event.action` → kibana.alert.original_event.action
      const newKey = dest + key.slice(top.length);
      if (isPlainObject(kept)) flattenInto(newKey, kept, added);
      else added.push([newKey, kept]);
    }
  }
  for (const [k, v] of added) setOwn(result, k, v);
  return { result, removed };
}

const DROP = Symbol('drop');

/** One key's value, cleaned; DROP when the key goes away. */
function cleanValue(value: unknown, path: string, removed: RemovedField[]): unknown {
  if (Array.isArray(value)) {
    const kept = cleanArray(value, path, removed);
    return kept.length > 0 ? kept : DROP;
  }
  if (!fitsEcs(value, path)) {
    removed.push({ key: path, value });
    return DROP;
  }
  if (isPlainObject(value)) {
    const obj = cleanObject(value, path, removed);
    return Object.keys(obj).length > 0 ? obj : DROP;
  }
  return value;
}

function cleanObject(doc: Record<string, unknown>, path: string, removed: RemovedField[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(doc)) {
    const kept = cleanValue(doc[key], `${path}.${key}`, removed);
    if (kept !== DROP) setOwn(out, key, kept);
  }
  return out;
}

/** Kibana's traverseArray: elements are checked one by one against the array field's type. */
function cleanArray(array: unknown[], path: string, removed: RemovedField[]): unknown[] {
  const out: unknown[] = [];
  for (const v of array) {
    if (Array.isArray(v)) {
      const inner = cleanArray(v, path, removed);
      if (inner.length > 0) out.push(inner);
    } else if (!fitsEcs(v, path)) {
      removed.push({ key: path, value: v });
    } else if (isPlainObject(v)) {
      const obj = cleanObject(v, path, removed);
      if (Object.keys(obj).length > 0) out.push(obj);
    } else out.push(v);
  }
  return out;
}

/** flattenWithPrefix: nested objects become dotted keys; arrays and scalars are values. */
export function flattenInto(prefix: string, value: unknown, into: [string, unknown][]): void {
  if (isPlainObject(value)) {
    for (const k of Object.keys(value)) flattenInto(`${prefix}.${k}`, value[k], into);
  } else into.push([prefix, value]);
}
