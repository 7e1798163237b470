// RawWindowsEvent straight from a template instance (the compiled template tree plus the record's
// substitution values), without building the record's resolved XML tree first.
//
// Nearly every record is one template instance, and toRaw() only needs System, EventData and
// the way elements resolve: building the tree (one object per element and attribute) and then
// walking it cost most of the decoder's time in allocation and garbage collection. This walks
// the template tree once per record with the same rules as resolveInto/buildElement (binxml.ts)
// and toRawEvent (render.ts):
//  - an element whose content is an optional substitution holding Null (and no child element)
//    is removed; an array value in an element's content repeats the element once per item;
//  - attributes whose value renders empty are not written; arrays in attributes join with ", ";
//  - text is the concatenation of the content's strings and of nested elements' text.
// Anything rarer — a substitution that inserts elements (nested BinXml) where System, EventData
// or their children are looked up, a repeated root or System child, UserData — returns null and
// the caller resolves the tree as before, so the output is the same for every record. System
// itself is built by system.ts for both paths, from the children each one finds.
import type { RawWindowsEvent } from './types.js';
import { own, setOwn } from '../util/own.js';
import { chargeShapeTable, Instance, isTElement, Nested, TSubst, textOf, type TAttr, type TContent, type TElement, type Value } from './binxml.js';
import { buildSystem, emptySystem, type ElementReader } from './system.js';

/** Result of resolving one template element against the values: removed, once, or repeated. */
const DROPPED = 0;
const ONCE = 1;
const REPEATED = 2;

let repeatAt = -1;

/** How `c` resolves (see resolveInto); for REPEATED, `repeatAt` is the array's value index. */
function status(c: TElement, values: Value[], arrayIndex: number): number {
  if (c.fixed) return ONCE;
  let repeatIndex = -1;
  let hasElements = false;
  let optionalNull = false;
  const ch = c.children;
  for (let i = 0; i < ch.length; i++) {
    const x = ch[i]!;
    if (!(x instanceof TSubst)) {
      if (isTElement(x)) hasElements = true;
      continue;
    }
    if (x.index === arrayIndex) continue;
    const v = x.index < values.length ? values[x.index]! : null;
    if (v === null && x.optional) optionalNull = true;
    if (repeatIndex < 0 && Array.isArray(v)) repeatIndex = x.index;
  }
  if (optionalNull && !hasElements) return DROPPED;
  if (repeatIndex >= 0) {
    repeatAt = repeatIndex;
    return REPEATED;
  }
  return ONCE;
}

function valueAt(values: Value[], i: number, arrayIndex: number, arrayItem: string): Value {
  if (i === arrayIndex) return arrayItem;
  return i < values.length ? values[i]! : null;
}

/** Text of an element's content: strings, substituted values and nested elements' text. */
function textOfContent(children: readonly TContent[], values: Value[], arrayIndex: number, arrayItem: string): string {
  let s = '';
  for (let i = 0; i < children.length; i++) {
    const c = children[i]!;
    if (typeof c === 'string') {
      s += c;
      continue;
    }
    if (c instanceof TSubst) {
      const v = valueAt(values, c.index, arrayIndex, arrayItem);
      if (v === null) continue;
      if (typeof v === 'string') s += v;
      else if (Array.isArray(v)) for (const x of v) s += x;
      else s += textOf(v.nodes);
      continue;
    }
    if (Array.isArray(c)) {
      s += textOf(c);
      continue;
    }
    if (!isTElement(c)) continue; // processing instruction
    if (c.fixed) {
      s += textOf(c.fixed.children);
      continue;
    }
    const st = status(c, values, arrayIndex);
    if (st === DROPPED) continue;
    if (st === ONCE) {
      s += textOfContent(c.children, values, arrayIndex, arrayItem);
      continue;
    }
    const at = repeatAt;
    const items = values[at] as string[];
    if (items.length === 0) s += textOfContent(c.children, values, at, '');
    else for (const item of items) s += textOfContent(c.children, values, at, item);
  }
  return s;
}

function elementText(c: TElement, values: Value[], arrayIndex: number, arrayItem: string): string {
  if (c.fixed) return textOf(c.fixed.children);
  return textOfContent(c.children, values, arrayIndex, arrayItem);
}

/** An attribute's value as written (undefined when it is not written: empty or a Null optional). */
function attrValue(a: TAttr, values: Value[], arrayIndex: number, arrayItem: string): string | undefined {
  let v = '';
  for (const p of a.parts) {
    if (typeof p === 'string') v += p;
    else {
      const val = valueAt(values, p.index, arrayIndex, arrayItem);
      if (val === null) {
        if (p.optional) return undefined;
      } else if (typeof val === 'string') v += val;
      else if (Array.isArray(val)) v += val.join(', ');
      else v += textOf(val.nodes);
    }
  }
  return v === '' ? undefined : v;
}

/** The first written attribute named `name` (undefined when there is none). */
function attrOf(c: TElement, name: string, values: Value[], arrayIndex: number, arrayItem: string): string | undefined {
  if (c.fixed) {
    for (const a of c.fixed.attrs) if (a.name === name) return a.value;
    return undefined;
  }
  for (const a of c.attrs) {
    if (a.name !== name) continue;
    const v = attrValue(a, values, arrayIndex, arrayItem);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** One element as it resolves: the template element, the values it reads, its array context. */
interface Inst {
  el: TElement;
  values: Value[];
  arrayIndex: number;
  arrayItem: string;
}

const NO_VALUES: Value[] = [];

/**
 * Appends the elements that `content` resolves to, in order (elements inserted by nested BinXml
 * values and template instances included). False when one cannot be followed without the tree
 * (an already resolved element list, or a repeated element where `repeatOk` is false).
 */
function collect(content: readonly TContent[], values: Value[], arrayIndex: number, arrayItem: string, repeatOk: boolean, out: Inst[]): boolean {
  for (let i = 0; i < content.length; i++) {
    const c = content[i]!;
    if (typeof c === 'string') continue;
    if (c instanceof TSubst) {
      const v = valueAt(values, c.index, arrayIndex, arrayItem);
      if (v instanceof Nested && !collect(v.content, NO_VALUES, -1, '', repeatOk, out)) return false;
      continue;
    }
    if (c instanceof Instance) {
      if (!collect(c.template.nodes, c.values, -1, '', repeatOk, out)) return false;
      continue;
    }
    if (Array.isArray(c)) {
      for (const n of c) if (typeof n === 'object' && 'name' in n) return false;
      continue;
    }
    if (!isTElement(c)) continue; // processing instruction
    const st = status(c, values, arrayIndex);
    if (st === DROPPED) continue;
    if (st === ONCE) {
      out.push({ el: c, values, arrayIndex, arrayItem });
      continue;
    }
    if (!repeatOk) return false;
    const at = repeatAt;
    const items = values[at] as string[];
    if (items.length === 0) out.push({ el: c, values, arrayIndex: at, arrayItem: '' });
    else for (const item of items) out.push({ el: c, values, arrayIndex: at, arrayItem: item });
  }
  return true;
}

/** Reads System's children from the template instance. */
const INSTANCE_READER: ElementReader<Inst> = {
  name: (k) => k.el.name,
  text: (k) => elementText(k.el, k.values, k.arrayIndex, k.arrayItem),
  attr: (k, name) => attrOf(k.el, name, k.values, k.arrayIndex, k.arrayItem),
  eachAttr: (k, fn) => {
    const c = k.el;
    if (c.fixed) {
      for (const a of c.fixed.attrs) fn(a.name, a.value);
      return;
    }
    for (const a of c.attrs) {
      const v = attrValue(a, k.values, k.arrayIndex, k.arrayItem);
      if (v !== undefined) fn(a.name, v);
    }
  },
};

/** System as toRawEvent builds it from the tree, or null when the tree is needed to follow it. */
function systemOf(sys: Inst | undefined): RawWindowsEvent['System'] | null {
  if (!sys) return emptySystem();
  const kids: Inst[] = [];
  if (!collect(sys.el.children, sys.values, sys.arrayIndex, sys.arrayItem, false, kids)) return null;
  return buildSystem(kids, INSTANCE_READER);
}

function eventDataOf(ed: Inst): Record<string, string | string[] | null> | null {
  const out: Record<string, string | string[] | null> = {};
  const kids: Inst[] = [];
  if (!collect(ed.el.children, ed.values, ed.arrayIndex, ed.arrayItem, true, kids)) return null;
  let i = 0;
  for (const k of kids) {
    i++;
    const c = k.el;
    const values = k.values;
    const key = c.name === 'Data' ? (attrOf(c, 'Name', values, k.arrayIndex, k.arrayItem) ?? `param${i}`) : c.name;
    const v = elementText(c, values, k.arrayIndex, k.arrayItem);
    // Names come from the file (`__proto__`, `constructor`…): own properties only, as render.ts.
    const prev = own(out, key) as string | string[] | null | undefined;
    if (prev === undefined) setOwn(out, key, v);
    else if (Array.isArray(prev)) prev.push(v);
    else setOwn(out, key, [prev ?? '', v]);
  }
  return out;
}

/**
 * The RawWindowsEvent of one template instance, or null when the record needs the general
 * (tree) path. `nodes` is the template's top-level content.
 */
export function rawFromInstance(inst: Instance): RawWindowsEvent | null {
  const top: Inst[] = [];
  if (!collect(inst.template.nodes, inst.values, -1, '', false, top) || top.length === 0) return null;
  // The root is the first element the record resolves to.
  const root = top[0]!;
  const kids: Inst[] = [];
  if (!collect(root.el.children, root.values, -1, '', false, kids)) return null;
  let sys: Inst | undefined;
  let ed: Inst | undefined;
  for (const k of kids) {
    const n = k.el.name;
    if (n === 'System') sys ??= k;
    else if (n === 'EventData') ed ??= k;
    else if (n === 'UserData') return null;
  }
  const system = systemOf(sys);
  if (!system) return null;
  const raw: RawWindowsEvent = { System: system };
  if (ed) {
    const data = eventDataOf(ed);
    if (!data) return null;
    raw.EventData = data;
  }
  return raw;
}

// ---------------------------------------------------------------------------------------
// Compiled renderers: one JavaScript function per template and value pattern

const MARK_OPEN = '\ufdd0';
const MARK_CLOSE = '\ufdd1';
const MARKED = /\ufdd0(\d+(?:\.\d+)*)(?::(\d+))?\ufdd1/g;

/**
 * The RawWindowsEvent of a record: through its shape's compiled renderer when it has one,
 * else by walking the template (rawFromInstance), else null (the caller resolves the tree).
 */
export function renderInstance(inst: Instance): RawWindowsEvent | null {
  const shape = inst.shape;
  if (shape) {
    if (shape.render === undefined) shape.render = compileRenderer(inst);
    if (shape.render) return shape.render(inst.values);
  }
  return rawFromInstance(inst);
}

/** A copy of the instance whose non-empty strings (and array items) are markers naming their place. */
function markedInstance(inst: Instance, prefix: string): Instance {
  const marked = inst.values.map((v, i): Value => {
    if (typeof v === 'string') return v === '' ? v : `${MARK_OPEN}${prefix}${i}${MARK_CLOSE}`;
    // "3:1" is item 1 of array value 3 (a shape fixes its arrays' lengths and empty items).
    if (Array.isArray(v)) return v.map((x, j) => (x === '' ? x : `${MARK_OPEN}${prefix}${i}:${j}${MARK_CLOSE}`));
    if (v instanceof Nested) {
      // A shape's BinXml values are one template instance each (binxml.ts patternOf).
      const inner = v.content[0] as Instance;
      return new Nested([markedInstance(inner, `${prefix}${i}.`)], v.at);
    }
    return v;
  });
  return new Instance(inst.template, marked, inst.at);
}

/**
 * Builds the renderer of the instance's shape: the template is rendered once with each
 * non-empty value replaced by a marker, and the result written out as an object literal whose
 * strings concatenate literal text and values. Within a shape (same null and empty values,
 * same array lengths and empty items) the elements, attributes and keys do not depend on the
 * values' text, except EventData names
 * taken from a value (two values may be equal and merge) — those templates keep the walk, as
 * do templates whose text holds a marker character. The renderer is checked once against the
 * walk on the record that built it.
 */
function compileRenderer(inst: Instance): ((values: Value[]) => RawWindowsEvent) | null {
  const values = inst.values;
  const probe = rawFromInstance(markedInstance(inst, ''));
  if (!probe) return null;
  let ok = true;
  // The value arrays of BinXml values ("8.2" reads nested[k][2]), each read once into a local.
  const nested = new Map<string, string>();
  const nestedRef = (path: readonly number[]): string => {
    const at = path.join('.');
    let name = nested.get(at);
    if (name === undefined) {
      const outer = path.length === 1 ? 'v' : nestedRef(path.slice(0, -1));
      name = `n${nested.size}`;
      nested.set(at, name);
      decls.push(`const ${name} = ${outer}[${path[path.length - 1]}].content[0].values;`);
    }
    return name;
  };
  const decls: string[] = [];
  const str = (s: string): string => {
    if (!s.includes(MARK_OPEN)) {
      if (s.includes(MARK_CLOSE)) ok = false;
      return JSON.stringify(s);
    }
    const parts: string[] = [];
    let last = 0;
    for (const m of s.matchAll(MARKED)) {
      if (m.index > last) parts.push(JSON.stringify(s.slice(last, m.index)));
      // "3" is values[3]; "8.2" is value 2 of the instance that BinXml value 8 holds; "3:1"
      // is item 1 of array value 3.
      const path = m[1]!.split('.').map(Number);
      const index = path.pop()!;
      const item = m[2] === undefined ? '' : `[${Number(m[2])}]`;
      parts.push(`${path.length === 0 ? 'v' : nestedRef(path)}[${index}]${item}`);
      last = m.index + m[0].length;
    }
    if (last < s.length) parts.push(JSON.stringify(s.slice(last)));
    const code = parts.join(' + ');
    // Literal text holding a marker character would be read as a value.
    if (code.includes(MARK_OPEN) || code.includes(MARK_CLOSE)) ok = false;
    // A marker stands for a value that is a non-empty string in every record of the shape.
    return code;
  };
  const key = (k: string): string => {
    if (k.includes(MARK_OPEN) || k.includes(MARK_CLOSE)) ok = false;
    // A computed key defines an own property even for __proto__.
    return k === '__proto__' ? '["__proto__"]' : JSON.stringify(k);
  };
  const gen = (x: unknown): string => {
    if (typeof x === 'string') return str(x);
    if (x === null) return 'null';
    if (Array.isArray(x)) return `[${x.map(gen).join(', ')}]`;
    if (typeof x === 'object') {
      return `{${Object.keys(x)
        .map((k) => `${key(k)}: ${gen((x as Record<string, unknown>)[k])}`)
        .join(', ')}}`;
    }
    ok = false;
    return 'undefined';
  };
  const result = gen(probe);
  const body = `${decls.join('\n')}\nreturn ${result};`;
  if (!ok) return null;
  chargeShapeTable(body.length);
  const render = new Function('v', body) as (values: Value[]) => RawWindowsEvent;
  const expected = rawFromInstance(inst);
  if (!expected || JSON.stringify(render(values)) !== JSON.stringify(expected)) return null;
  return render;
}
