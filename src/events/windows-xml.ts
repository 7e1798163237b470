// Windows events as XML text, as `wevtutil qe LOG /f:xml` and PowerShell
// `Get-WinEvent … | ForEach-Object { $_.ToXml() }` write them: one <Event> element after another,
// with or without an <Events> root (`wevtutil … /e:Events`), pretty-printed or not.
//
// The stream is split into top-level <Event> elements by a small scanner that only tracks tags,
// comments, CDATA and quoted attribute values (so that a `>` or `<Event` inside them is not taken
// for markup); each element is then parsed by saxes, a strict XML parser, and turned into the
// RawWindowsEvent the EVTX reader produces, so both go through the same Windows → ECS mapping.
// Bounds: an element larger than maxEventChars or nested deeper than MAX_DEPTH is skipped and
// reported without being held; nothing else is buffered beyond the element being read.
import { createRequire } from 'node:module';
import type * as Saxes from 'saxes';

// The XML parser is loaded when the first XML input is split: JSON and EVTX hunts do not load it.
const require = createRequire(import.meta.url);
import type { XElement, XNode } from '../evtx/binxml.js';
import { toRawEvent } from '../evtx/render.js';
import type { RawWindowsEvent } from '../evtx/types.js';

export interface XmlEventSink {
  /** One complete event, with the line its <Event> tag starts on. */
  event(raw: RawWindowsEvent, line: number): void;
  /** A malformed or oversized element (or stray text), skipped. */
  bad(line: number, reason: string): void;
}

/** Deepest element nesting accepted inside an <Event> (Windows events use about 4). */
export const MAX_DEPTH = 64;

/** True when text (after a BOM and blanks) starts like XML rather than JSON. */
export function looksLikeXml(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0xfeff || c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    return c === 0x3c; // '<'
  }
  return false;
}

/** Where the scanner is: between events, inside one being kept, or inside one being dropped. */
type State = 'outside' | 'inside' | 'skipping';
/** What the character being scanned belongs to. */
const enum Mode {
  Text,
  /** Just after '<': the next characters tell which markup this is. */
  Open,
  Tag,
  Comment,
  Cdata,
  Pi,
  Decl,
}

/** Characters of a tag kept to read its name. */
const HEAD_CHARS = 256;

export class XmlEventSplitter {
  /** Scanned text still needed: the current event so far, or a markup that may start one. */
  private carry = '';
  private state: State = 'outside';
  private mode = Mode.Text;
  private line = 1;
  private depth = 0;
  /** The markup being scanned: its start (index in the current text), line and first characters. */
  private markupStart = 0;
  private markupLine = 1;
  private head = '';
  private quote = 0;
  private prev = 0;
  private prev2 = 0;
  /** The current event: its start (index in the current text) and line. */
  private eventStart = 0;
  private eventLine = 0;
  private skipReason = '';
  private strayLine = 0;
  /** The markup being scanned outside an event outgrew the bound and was not kept. */
  private markupDropped = false;

  constructor(
    private readonly sink: XmlEventSink,
    private readonly maxEventChars: number,
  ) {}

  push(text: string): void {
    const s = this.carry + text;
    const from = this.carry.length;
    this.carry = '';
    this.scan(s, from);
  }

  end(): void {
    if (this.state === 'inside') this.sink.bad(this.eventLine, 'unterminated <Event> element (end of input before </Event>)');
    else if (this.state === 'skipping') this.sink.bad(this.eventLine, `${this.skipReason}; the input ended inside it`);
    else if (this.mode !== Mode.Text) this.sink.bad(this.markupLine, 'unterminated XML markup at the end of the input');
    this.flushStray();
    this.carry = '';
  }

  private flushStray(): void {
    if (this.strayLine === 0) return;
    this.sink.bad(this.strayLine, 'text outside an <Event> element');
    this.strayLine = 0;
  }

  private scan(s: string, from: number): void {
    const n = s.length;
    for (let i = from; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 10) this.line++;
      switch (this.mode) {
        case Mode.Text:
          if (c === 0x3c) {
            this.mode = Mode.Open;
            this.markupStart = i;
            this.markupLine = this.line;
            this.head = '';
            this.markupDropped = false;
          } else if (this.state === 'outside' && this.strayLine === 0 && c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0xfeff) {
            this.strayLine = this.line;
          }
          break;
        case Mode.Open:
          this.head += s[i];
          if (this.head === '!' || this.head === '!-' || (this.head.startsWith('![') && '![CDATA['.startsWith(this.head) && this.head.length < 8)) break;
          if (this.head === '!--') this.mode = Mode.Comment;
          else if (this.head === '![CDATA[') this.mode = Mode.Cdata;
          else if (this.head[0] === '!') this.mode = Mode.Decl;
          else if (this.head === '?') this.mode = Mode.Pi;
          else {
            this.mode = Mode.Tag;
            this.quote = 0;
            if (c === 0x3e) this.endTag(s, i);
          }
          this.prev = this.prev2 = 0;
          break;
        case Mode.Tag:
          if (this.head.length < HEAD_CHARS) this.head += s[i];
          if (this.quote !== 0) {
            if (c === this.quote) this.quote = 0;
          } else if (c === 0x22 || c === 0x27) this.quote = c;
          else if (c === 0x3e) this.endTag(s, i);
          break;
        case Mode.Comment:
          if (c === 0x3e && this.prev === 0x2d && this.prev2 === 0x2d) this.mode = Mode.Text;
          break;
        case Mode.Cdata:
          if (c === 0x3e && this.prev === 0x5d && this.prev2 === 0x5d) this.mode = Mode.Text;
          break;
        case Mode.Pi:
          if (c === 0x3e && this.prev === 0x3f) this.mode = Mode.Text;
          break;
        case Mode.Decl:
          if (c === 0x3e) this.mode = Mode.Text;
          break;
      }
      this.prev2 = this.prev;
      this.prev = c;
    }
    // Keep what a later chunk still needs, within the bound.
    if (this.state === 'inside') {
      if (n - this.eventStart > this.maxEventChars) this.beginSkip(`<Event> element larger than ${this.maxEventChars} characters`);
      else this.carry = s.slice(this.eventStart);
      this.eventStart = 0;
    } else if (this.state === 'outside' && this.mode !== Mode.Text) {
      // A markup cut by the chunk boundary may be an <Event> start tag.
      if (this.markupDropped || n - this.markupStart > this.maxEventChars) this.markupDropped = true;
      else this.carry = s.slice(this.markupStart);
    }
    this.markupStart -= n - this.carry.length;
  }

  /** A start or end tag closed at s[i]: track the nesting, start and finish events. */
  private endTag(s: string, i: number): void {
    this.mode = Mode.Text;
    const close = this.head.charCodeAt(0) === 0x2f;
    const m = /^[^\s/>]+/.exec(close ? this.head.slice(1) : this.head);
    const qname = m ? m[0] : '';
    const name = qname.includes(':') ? qname.slice(qname.indexOf(':') + 1) : qname;
    const selfClosing = !close && s.charCodeAt(i - 1) === 0x2f;
    if (this.state === 'outside') {
      // Wrappers (<Events>, </Events>) and other markup around the events are layout.
      if (name !== 'Event') return;
      if (close) {
        this.sink.bad(this.markupLine, '</Event> without a matching <Event>');
        return;
      }
      this.flushStray();
      this.eventLine = this.markupLine;
      this.depth = 0;
      if (this.markupDropped) {
        this.state = 'skipping';
        this.skipReason = `<Event> start tag larger than ${this.maxEventChars} characters`;
      } else {
        this.state = 'inside';
        this.eventStart = this.markupStart;
      }
    }
    if (close) this.depth--;
    else if (!selfClosing) this.depth++;
    if (this.depth > MAX_DEPTH && this.state === 'inside') this.beginSkip(`elements nested deeper than ${MAX_DEPTH} levels`);
    if (this.depth > 0) return;
    if (this.state === 'inside') this.emit(s.slice(this.eventStart, i + 1));
    else this.sink.bad(this.eventLine, `${this.skipReason}; element skipped`);
    this.state = 'outside';
  }

  private beginSkip(reason: string): void {
    this.state = 'skipping';
    this.skipReason = reason;
    this.carry = '';
  }

  private emit(xml: string): void {
    const line = this.eventLine;
    let tree: XElement;
    try {
      tree = parseElement(xml);
    } catch (e) {
      this.sink.bad(line, `invalid XML in <Event> element: ${(e as Error).message}`);
      return;
    }
    const raw = toRawEvent([tree]);
    if (raw.System.EventID === '' || raw.System.Channel === '') {
      this.sink.bad(line, '<Event> element without System/EventID or System/Channel');
      return;
    }
    this.sink.event(raw, line);
  }
}

/** Parses one element's text into the XNode tree the EVTX renderer reads. */
export function parseElement(xml: string): XElement {
  const parser = new (require('saxes') as typeof Saxes).SaxesParser({ xmlns: false, position: true });
  const stack: XElement[] = [];
  let root: XElement | undefined;
  let error: Error | undefined;
  parser.on('error', (e) => {
    error ??= e;
  });
  parser.on('opentag', (t) => {
    const name = t.name.includes(':') ? t.name.slice(t.name.indexOf(':') + 1) : t.name;
    const el: XElement = { name, attrs: Object.entries(t.attributes as Record<string, string>).map(([n, value]) => ({ name: n, value })), children: [] };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(el);
    else root = el;
    stack.push(el);
  });
  const addText = (s: string) => {
    const el = stack[stack.length - 1];
    if (!el) return;
    const last = el.children[el.children.length - 1];
    if (typeof last === 'string') el.children[el.children.length - 1] = last + s;
    else el.children.push(s);
  };
  parser.on('text', addText);
  parser.on('cdata', addText);
  parser.on('closetag', () => {
    const el = stack.pop()!;
    // Indentation between child elements is layout, not content.
    if (el.children.some((c) => typeof c === 'object')) el.children = el.children.filter((c: XNode) => typeof c !== 'string' || /\S/.test(c));
  });
  parser.write(xml).close();
  if (error) throw new Error(error.message.replace(/^undefined:/, 'line ').split('\n')[0]);
  if (!root) throw new Error('no element');
  return root;
}
