// Test helper: a small XML reader for the oracle dumps (evtxexport and python-evtx output) and
// for the reader's own toXml(), so both are compared as trees, not as text layouts.

export interface El {
  name: string;
  attrs: Record<string, string>;
  children: El[];
  text: string;
}

const TOKEN = /<\?[^>]*\?>|<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*"[^"]*")*)\s*(\/?)>|([^<]+)/g;
const ATTR = /([\w.:-]+)\s*=\s*"([^"]*)"/g;

export function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[e]!;
  });
}

/** Parses every top-level <Event> element in the text (banner lines and wrappers are ignored). */
export function parseEvents(xml: string): El[] {
  const events: El[] = [];
  const stack: El[] = [];
  for (const m of xml.matchAll(TOKEN)) {
    const [, close, name, attrText, selfClose, text] = m;
    if (text !== undefined) {
      if (stack.length) stack[stack.length - 1]!.text += unescapeXml(text);
      continue;
    }
    if (name === undefined) continue; // processing instruction / XML declaration
    if (close) {
      const el = stack.pop();
      if (!el || el.name !== name) throw new Error(`mismatched </${name}>`);
      finish(el);
      if (name === 'Event' && stack.every((s) => s.name !== 'Event')) events.push(el);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of (attrText ?? '').matchAll(ATTR)) attrs[a[1]!] = unescapeXml(a[2]!);
    const el: El = { name, attrs, children: [], text: '' };
    if (stack.length) stack[stack.length - 1]!.children.push(el);
    if (selfClose) {
      if (name === 'Event') events.push(el);
    } else stack.push(el);
  }
  return events;
}

/** Indentation between child elements is layout, not content. */
function finish(el: El): void {
  if (el.children.length > 0 && el.text.trim() === '') el.text = '';
}

export function child(el: El, name: string): El | undefined {
  return el.children.find((c) => c.name === name);
}
