// Turning resolved BinXML (XNode trees) into the two outputs: the RawWindowsEvent contract
// for the ECS mapper, and XML text in the layout of libevtx's `evtxexport -f xml`.

import type { XElement, XNode } from './binxml.js';
import type { RawWindowsEvent } from './types.js';
import { own, setOwn } from '../util/own.js';
import { buildSystem, emptySystem, type ElementReader } from './system.js';

function isElement(n: XNode): n is XElement {
  return typeof n === 'object' && 'name' in n;
}

function child(el: XElement, name: string): XElement | undefined {
  for (const c of el.children) if (typeof c === 'object' && 'name' in c && c.name === name) return c;
  return undefined;
}

function attr(el: XElement | undefined, name: string): string | undefined {
  if (!el) return undefined;
  for (const a of el.attrs) if (a.name === name) return a.value;
  return undefined;
}

/** Concatenated text content (nested elements contribute their text). */
function text(el: XElement | undefined): string {
  if (!el) return '';
  const ch = el.children;
  if (ch.length === 1 && typeof ch[0] === 'string') return ch[0];
  let allText = true;
  for (const c of ch) if (typeof c !== 'string') allText = false;
  // Text split in many pieces (a value repeated by its template): one join, not a rope of pieces.
  if (allText) return (ch as string[]).join('');
  let s = '';
  for (const c of ch) {
    if (typeof c === 'string') s += c;
    else if (isElement(c)) s += text(c);
  }
  return s;
}

function hasElementChildren(el: XElement): boolean {
  for (const c of el.children) if (typeof c === 'object' && 'name' in c) return true;
  return false;
}

/** The record's root element (normally <Event>). */
export function rootElement(nodes: readonly XNode[]): XElement | undefined {
  for (const n of nodes) if (isElement(n)) return n;
  return undefined;
}

/** Reads System's children from the resolved tree. */
const TREE_READER: ElementReader<XElement> = {
  name: (c) => c.name,
  text,
  attr,
  eachAttr: (c, fn) => {
    for (const a of c.attrs) fn(a.name, a.value);
  },
};

function systemOf(sys: XElement | undefined): RawWindowsEvent['System'] {
  return sys ? buildSystem(sys.children.filter(isElement), TREE_READER) : emptySystem();
}

/**
 * EventData children → name/value. <Data Name="X"> gives X; a <Data> without Name gives
 * param<N> where N is its 1-based position among the children (Winlogbeat's numbering); other
 * elements (<Binary>) keep their element name. A name seen twice (array values expand into
 * repeated <Data> elements) collects its values into a string[]. Empty elements give ''. Names
 * come from the file: `__proto__`, `constructor` or `toString` are field names like any other.
 */
function eventDataOf(ed: XElement): Record<string, string | string[] | null> {
  const out: Record<string, string | string[] | null> = {};
  let i = 0;
  for (const c of ed.children) {
    if (!isElement(c)) continue;
    i++;
    const key = c.name === 'Data' ? (attr(c, 'Name') ?? `param${i}`) : c.name;
    const v = text(c);
    const prev = own(out, key) as string | string[] | null | undefined;
    if (prev === undefined) setOwn(out, key, v);
    else if (Array.isArray(prev)) prev.push(v);
    else setOwn(out, key, [prev ?? '', v]);
  }
  return out;
}

function userValue(el: XElement): unknown {
  if (!hasElementChildren(el)) return text(el);
  const out: Record<string, unknown> = {};
  for (const c of el.children) {
    if (!isElement(c)) continue;
    const v = userValue(c);
    const prev = own(out, c.name);
    if (prev === undefined) setOwn(out, c.name, v);
    else if (Array.isArray(prev)) prev.push(v);
    else setOwn(out, c.name, [prev, v]);
  }
  return out;
}

/**
 * UserData: its first child element (e.g. <LogFileCleared>) is a wrapper; its children become
 * name → value (text for leaves, nested objects otherwise). The wrapper's name is kept as
 * `xml_name`, as Winlogbeat does (winlog.user_data.xml_name).
 */
function userDataOf(ud: XElement): Record<string, unknown> {
  const first = ud.children.find(isElement);
  if (!first) return {};
  const v = userValue(first);
  const out: Record<string, unknown> = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  if (typeof v === 'string' && v !== '') setOwn(out, first.name, v);
  out.xml_name = first.name;
  return out;
}

export function toRawEvent(nodes: readonly XNode[]): RawWindowsEvent {
  const ev = rootElement(nodes);
  const raw: RawWindowsEvent = { System: systemOf(ev && child(ev, 'System')) };
  if (ev) {
    const ed = child(ev, 'EventData');
    if (ed) raw.EventData = eventDataOf(ed);
    const ud = child(ev, 'UserData');
    if (ud) raw.UserData = userDataOf(ud);
  }
  return raw;
}

// ---------------------------------------------------------------------------------------
// XML text

function escText(s: string): string {
  return /[&<>]/.test(s) ? s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') : s;
}
function escAttr(s: string): string {
  return /[&<>"]/.test(s)
    ? s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
    : s;
}

function writeNode(n: XNode, indent: string, out: string[]): void {
  if (typeof n === 'string') {
    out.push(indent + escText(n) + '\n');
    return;
  }
  if (!isElement(n)) {
    out.push(`${indent}<?${n.pi} ${n.data}?>\n`);
    return;
  }
  let open = '<' + n.name;
  for (const a of n.attrs) open += ` ${a.name}="${escAttr(a.value)}"`;
  if (n.children.length === 0) {
    out.push(indent + open + '/>\n');
  } else if (!hasElementChildren(n)) {
    let t = '';
    for (const c of n.children) if (typeof c === 'string') t += c;
    out.push(indent + open + '>' + escText(t) + '</' + n.name + '>\n');
  } else {
    out.push(indent + open + '>\n');
    for (const c of n.children) writeNode(c, indent + '  ', out);
    out.push(indent + '</' + n.name + '>\n');
  }
}

/**
 * XML text with the layout of evtxexport (two-space indent, one element per line, `<X/>` for
 * empty elements). Text and attribute values are escaped (& < > and " in attributes), so the
 * output is well-formed unless a value holds characters XML forbids (control characters).
 */
export function toXmlText(nodes: readonly XNode[]): string {
  const out: string[] = [];
  for (const n of nodes) writeNode(n, '', out);
  return out.join('');
}
