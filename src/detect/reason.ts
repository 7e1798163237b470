// `kibana.alert.reason`, as Kibana's buildReasonMessageUtil writes it
// (rule_types/utils/reason_formatters.ts). The sentence is an ICU message:
//
//   {category }event[ with][ process P,][ parent process PP,][ file F,][ source S][:SP,]
//   [ destination D][:DP,][ by U][ on H] created {severity} alert {name}.
//
// Fields are read from the alert's source document (or from a hit's `fields` when its `_source`
// is empty) the way lodash's `get` reads a path: a top-level dotted key, or a fully nested path.
// A value is used when it has a non-zero `length` — a string or an array — so numbers (a numeric
// `source.port` in `_source`) are left out, and `-` on its own means "no value". Arrays are joined
// with ", ". " with" appears only when one of the fields of interest (process, parent process,
// file, source/destination address and port) has a value.

export interface ReasonDoc {
  _source?: Record<string, unknown>;
  fields?: Record<string, unknown>;
}

/** lodash `get(object, path)` for a dotted path: the whole path as a key first, else segments. */
export function lodashGet(obj: unknown, path: string): unknown {
  if (obj === null || obj === undefined) return undefined;
  if (typeof obj === 'object' && path in (obj as object)) return (obj as Record<string, unknown>)[path];
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || cur === undefined) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function isEmptySource(s: Record<string, unknown> | undefined): boolean {
  return s === undefined || s === null || Object.keys(s).length === 0;
}

function present(v: unknown): string | null {
  if (!v) return null;
  const len = (v as { length?: unknown }).length;
  if (!len) return null;
  if (len === 1 && (v as ArrayLike<unknown>)[0] === '-') return null;
  return Array.isArray(v) ? v.join(', ') : String(v);
}

/**
 * The reason sentence for an alert named `name` with `severity`, built from `doc` (a hit: its
 * `_source`, or its `fields` when the source is empty). Without a document the reason is ''.
 */
export function buildReasonMessage(name: string, severity: string, doc: ReasonDoc | undefined): string {
  if (!doc) return '';
  const d: unknown = isEmptySource(doc._source) ? doc.fields : doc._source;
  const get = (f: string) => {
    const v = lodashGet(d, f);
    return v === undefined ? null : v;
  };
  let interest = false;
  const value = (f: string, ofInterest: boolean): string | null => {
    const v = present(get(f));
    if (v !== null && ofInterest) interest = true;
    return v;
  };
  const destinationAddress = value('destination.ip', true);
  const destinationPort = value('destination.port', true);
  const eventCategory = value('event.category', false);
  const fileName = value('file.name', true);
  const hostName = value('host.name', false);
  const processName = value('process.name', true);
  const processParentName = value('process.parent.name', true);
  const sourceAddress = value('source.ip', true);
  const sourcePort = value('source.port', true);
  const userName = value('user.name', false);

  // ICU `select` picks its `null {}` branch for the string "null" too.
  const shown = (v: string | null): v is string => v !== null && v !== 'null';
  let s = shown(eventCategory) ? `${eventCategory} ` : '';
  s += 'event';
  if (interest) s += ' with';
  if (shown(processName)) s += ` process ${processName},`;
  if (shown(processParentName)) s += ` parent process ${processParentName},`;
  if (shown(fileName)) s += ` file ${fileName},`;
  if (shown(sourceAddress)) s += ` source ${sourceAddress}`;
  if (shown(sourcePort)) s += `:${sourcePort},`;
  if (shown(destinationAddress)) s += ` destination ${destinationAddress}`;
  if (shown(destinationPort)) s += `:${destinationPort},`;
  if (shown(userName)) s += ` by ${userName}`;
  if (shown(hostName)) s += ` on ${hostName}`;
  return `${s} created ${severity} alert ${name}.`;
}
