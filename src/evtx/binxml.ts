// Binary XML (MS-EVEN6 2.2.12) decoding inside one 64 KiB chunk.
//
// Every offset in BinXML (names, template definitions) is a chunk offset, so the parser works
// in place on the chunk buffer (buffer offset == chunk offset). Template definitions are
// compiled once per chunk into a small tree whose substitution slots are filled per record;
// subtrees without substitutions are resolved once and shared by all records using them.

import { decodeUtf16 as decodeUtf16At, renderArray, renderScalar, renderUtf16String, renderUtf16Strings, VT, ValueError, type GuidCase } from './values.js';
import { lookupTable } from '../util/own.js';
import { findKept, forgetKept, keep, NameRefs } from './kept-templates.js';
import type { RawWindowsEvent } from './types.js';

export const CHUNK_SIZE = 0x10000;

/** Resolved (rendered) XML. Values are plain strings, never escaped. */
export interface XElement {
  name: string;
  attrs: XAttr[];
  children: XNode[];
}
export interface XAttr {
  name: string;
  value: string;
}
export interface XPi {
  pi: string;
  data: string;
}
export type XNode = string | XElement | XPi;

/** A BinXML error at a chunk offset; the reader adds file / chunk / record context. */
export class BinXmlError extends Error {
  constructor(
    message: string,
    readonly chunkOffset: number,
  ) {
    super(message);
  }
}

/**
 * Bounds on the work one record, and one chunk, may cause. A record's XML is what its template
 * and values expand to: templates can repeat a value, array values repeat their element, and a
 * BinXml value can hold a template instance whose values hold BinXml again, so a few bytes can
 * describe an exponentially large document ("billion laughs"). Resolved subtrees are shared, so
 * the sizes are counted as the document would be written out (each reference to a shared subtree
 * counts its whole size), while resolving. The largest records of the test corpus expand to 99
 * nodes and 3,701 characters, the largest chunks to 4,773 nodes and 51,106 characters; the
 * limits are far above anything Windows writes.
 */
export const EVTX_LIMITS = {
  /** Elements, attributes and text pieces of one record's XML. */
  recordNodes: 65_536,
  /** Characters of text and attribute values in one record's XML. */
  recordChars: 1024 * 1024,
  /** The same, for all records of one 64 KiB chunk (tiny records expanding one big template). */
  chunkNodes: 131_072,
  chunkChars: 2 * 1024 * 1024,
  /** Bytes of template definitions compiled in one chunk (records may point anywhere in it). */
  chunkTemplateBytes: 1024 * 1024,
  /** Element and BinXml nesting. */
  depth: 64,
} as const;

/** The chunk's expansion budget is spent: the rest of the chunk cannot be resolved. */
export class ChunkBudgetError extends BinXmlError {}

// ---------------------------------------------------------------------------------------
// Compiled template tree

/** A substitution slot (0x0D normal, 0x0E optional). */
export class TSubst {
  constructor(
    readonly index: number,
    readonly optional: boolean,
  ) {}
}
export interface TAttr {
  name: string;
  parts: (string | TSubst)[];
}
export interface TElement {
  name: string;
  attrs: TAttr[];
  children: TContent[];
  /** Resolved form, set when the subtree holds no substitution (shared, never mutated). */
  fixed: XElement | null;
  /** Size of `fixed` written out: nodes and characters (charged at each use). */
  fixedNodes: number;
  fixedChars: number;
}
export type TContent = string | TSubst | TElement | XPi | XNode[] | Instance;

export function isTElement(c: TContent): c is TElement {
  return typeof c === 'object' && !Array.isArray(c) && 'fixed' in c;
}

/** A compiled template definition: the same object serves every chunk that defines it alike (kept-templates.ts). */
export interface Template {
  nodes: TContent[];
  /**
   * What records of this template cost and render to, per pattern of their values; shared by
   * every chunk's copy of the same template (same compiled tree: see templateShapes).
   */
  shapes: TemplateShapes;
}

/** The shapes of one template tree (shared by its copies in every chunk), and its number. */
export interface TemplateShapes {
  id: number;
  /** null: the pattern has no shape (a size the shape cannot hold), remembered as such. */
  byPattern: Map<string, Shape | null>;
  /** The shape of the previous instance: records of one template mostly repeat one pattern. */
  last: Shape | null;
  /** The one before it (when different). */
  prev: Shape | null;
}

/**
 * A template instance whose values are plain strings, null, or BinXml values that are one
 * such instance themselves, by which values are null, empty or not and which templates the
 * BinXml values hold (its *pattern*): the elements and attributes it resolves to are fixed, so
 * its size is `nodes` and `chars` plus each string value's length per use and each BinXml
 * value's size per use after the first, and its RawWindowsEvent is built by `render`
 * (direct.ts) from the values alone.
 */
export interface Shape {
  nodes: number;
  chars: number;
  /** Value indexes whose text is written, each once per use. */
  uses: number[];
  /** BinXml value indexes used again (charged their size), once per further use. */
  repeats: number[];
  /** Array items whose text is written, as (value index, item index) pairs, once per use. */
  itemUses: number[];
  /** Built on first use: the RawWindowsEvent from the values, or null for the general path. */
  render: ((values: Value[]) => RawWindowsEvent) | null | undefined;
  /** The pattern as data, to recognise it without building its key (see matchesPattern). */
  pattern: Pattern;
}

/**
 * A pattern (see patternOf) as data: per value, its kind, and for a BinXml value the template
 * tree its instance has and that instance's own pattern.
 */
interface Pattern {
  kinds: Uint8Array;
  /** The kinds as two numbers (see MAX_KINDS), -1 and 0 past MAX_KINDS values. */
  kindsKey: number;
  kindsKey2: number;
  /**
   * Per BinXml value: its template tree, its instance's pattern, and the shape that instance
   * had (equal shapes are equal patterns of the same tree: the usual, cheap comparison).
   */
  nested: ({ shapes: TemplateShapes; pattern: Pattern; shape: Shape | null } | null)[];
  /** The indexes of the BinXml values. */
  nestedAt: number[];
  /** Per array value, its items' kinds (KIND_EMPTY or KIND_STRING). */
  arrays: (Uint8Array | null)[];
}
const KIND_NULL = 0;
const KIND_EMPTY = 1;
const KIND_STRING = 2;
const KIND_NESTED = 3;
/** Not one of the two-bit kinds: instances with an array value have no kinds number. */
const KIND_ARRAY = 4;
/** Arrays of more items leave their instance without a shape. */
const MAX_ARRAY_ITEMS = 64;

/**
 * Kinds as two bits per value in two small integers (values 0–14 and 15–29): comparing them and
 * the value count compares every kind at once. Known for instances of at most MAX_KINDS values.
 */
const MAX_KINDS = 30;


/** Decoded substitution values of one template instance. */
export type Value = string | string[] | Nested | null;

/**
 * A BinXml value. Its content keeps its template instances unresolved (Instance): the resolved
 * nodes are built only when read (toXml, or a record the direct path cannot render). Its size
 * written out is measured when it is decoded, exactly as resolving it would count, and charged
 * to the budget then, so the lazy tree is bounded by limits already checked.
 */
export class Nested {
  /** The first use is paid by decoding it; each further use is charged its size. */
  used = false;
  weightNodes = 0;
  weightChars = 0;
  private resolved: XNode[] | null = null;
  constructor(
    readonly content: TContent[],
    /** Chunk offset of the value (for errors). */
    readonly at: number,
  ) {}
  get nodes(): XNode[] {
    return (this.resolved ??= resolveContent(UNCHARGED, this.content, EMPTY, this.at));
  }
  /** Resolves now, charging ctx (the eager reference path). */
  resolveWith(ctx: ChunkContext): void {
    this.resolved = resolveContent(ctx, this.content, EMPTY, this.at);
  }
}

/**
 * A template instance left unresolved: a record's (nearly every record is exactly one) or a
 * nested BinXml value's top-level one. Its size is measured (and charged) when it is parsed;
 * the resolved tree is built only if asked for, since toRaw() can usually read System and
 * EventData from the template and the values directly (direct.ts).
 */
export class Instance {
  /** Set when the values are plain and the record's size came from this shape. */
  shape: Shape | null = null;
  constructor(
    readonly template: Template,
    readonly values: Value[],
    /** Chunk offset of the instance (for errors). */
    readonly at: number,
    /** The values' kinds (see MAX_KINDS): values 0–14, and 15–29; kinds -1 when not known. */
    readonly kinds: number = -1,
    readonly kinds2: number = 0,
  ) {}
  resolve(): XNode[] {
    return resolveContent(UNCHARGED, this.template.nodes, this.values, this.at);
  }
}

/** Per-chunk parse state: caches of names and compiled templates, keyed by chunk offset. */
export class ChunkContext {
  readonly names = new Map<number, string>();
  readonly templates = new Map<number, Template>();
  /** Expansion spent by this chunk's records so far (see EVTX_LIMITS), and at the record's start. */
  nodes = 0;
  chars = 0;
  templateBytes = 0;
  recordNodes = 0;
  recordChars = 0;
  /** Resolve nested values while parsing, as the reference path parseRecordXml does. */
  eager = false;
  /**
   * The chunk as a DataView: a value descriptor (u16 size, u8 type, u8 0) is one 32-bit read,
   * with one bounds check, instead of three byte reads with one each.
   */
  readonly view: DataView;
  constructor(
    readonly buf: Buffer,
    readonly guidCase: GuidCase,
    /** Bound on element and BinXml nesting; hostile input cannot exhaust the stack. */
    readonly maxDepth: number = EVTX_LIMITS.depth,
    /** False only for UNCHARGED: resolving what was measured and charged already. */
    readonly limited = true,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Throws when the record or the chunk has expanded beyond its limits. */
  check(at: number): void {
    if (!this.limited) return;
    if (this.nodes - this.recordNodes > EVTX_LIMITS.recordNodes)
      throw new BinXmlError(`record expands to more than ${EVTX_LIMITS.recordNodes} XML nodes (limit)`, at);
    if (this.chars - this.recordChars > EVTX_LIMITS.recordChars)
      throw new BinXmlError(`record expands to more than ${EVTX_LIMITS.recordChars} characters of text (limit)`, at);
    if (this.nodes > EVTX_LIMITS.chunkNodes)
      throw new ChunkBudgetError(`the chunk's records expand to more than ${EVTX_LIMITS.chunkNodes} XML nodes (limit)`, at);
    if (this.chars > EVTX_LIMITS.chunkChars)
      throw new ChunkBudgetError(`the chunk's records expand to more than ${EVTX_LIMITS.chunkChars} characters of text (limit)`, at);
  }
}

/**
 * Counters for resolving a record or value after parsing: its size was measured and charged
 * then (and found within the limits), so building its tree later is bounded already.
 */
const UNCHARGED = new ChunkContext(Buffer.alloc(0), 'upper', EVTX_LIMITS.depth, false);

/**
 * The name whose structure is at chunk offset `off`, referred to from `at` but not seen in this
 * stream (a damaged string table, PR #238): decoded directly there, and kept.
 */
function nameAt(ctx: ChunkContext, off: number, at: number): string {
  if (off + 8 > CHUNK_SIZE) throw new BinXmlError(`name offset 0x${off.toString(16)} outside the chunk`, at);
  const n = ctx.buf.readUInt16LE(off + 6);
  if (off + 10 + 2 * n > CHUNK_SIZE) throw new BinXmlError(`name at 0x${off.toString(16)} (${n} chars) overruns the chunk`, at);
  const s = decodeUtf16At(ctx.buf, off + 8, n);
  ctx.names.set(off, s);
  return s;
}

// Indexed with names from the file: no prototype, so `&constructor;` stays text.
const ENTITIES: Readonly<Record<string, string>> = lookupTable({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" });

/**
 * A cursor over [pos, end) of the chunk. `inTemplate` selects whether OpenStartElement carries
 * the u16 dependency id, which exists only inside template definitions (see evtx-format §4).
 */
class Parser {
  pos: number;
  private readonly topDepth: number;
  /** When set (compiling a template), every name reference read is recorded here. */
  refs: NameRefs | null = null;
  /** The deepest element nesting reached, for a template's depth check when it is reused. */
  deepest: number;
  constructor(
    readonly ctx: ChunkContext,
    start: number,
    readonly end: number,
    readonly inTemplate: boolean,
    private depth: number,
    /**
     * Template instances at this parser's top level (a record, or a nested BinXml value) are
     * returned unresolved (Instance); the caller measures them.
     */
    private readonly lazy = false,
  ) {
    this.pos = start;
    this.topDepth = depth;
    this.deepest = depth;
    if (depth > ctx.maxDepth) throw new BinXmlError(`BinXml nesting deeper than ${ctx.maxDepth}`, start);
  }

  private need(n: number): void {
    if (this.pos + n > this.end)
      throw new BinXmlError(`BinXml truncated: need ${n} bytes, ${this.end - this.pos} left`, this.pos);
  }
  private u8(): number {
    this.need(1);
    return this.ctx.buf[this.pos++]!;
  }
  private u16(): number {
    this.need(2);
    const v = this.ctx.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  private u32(): number {
    this.need(4);
    const v = this.ctx.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  private utf16(nChars: number): string {
    this.need(nChars * 2);
    const s = decodeUtf16At(this.ctx.buf, this.pos, nChars);
    this.pos += nChars * 2;
    return s;
  }

  /** A name reference: inline (written here, skip it) when its offset is the current position. */
  private name(): string {
    const field = this.pos;
    const off = this.u32();
    const cached = this.ctx.names.get(off);
    if (off === this.pos) {
      this.need(8);
      const n = this.ctx.buf.readUInt16LE(this.pos + 6);
      const total = 10 + 2 * n;
      this.need(total);
      const s = cached ?? decodeUtf16At(this.ctx.buf, this.pos + 8, n);
      if (cached === undefined) this.ctx.names.set(off, s);
      this.pos += total;
      if (this.refs) this.refs.push(field, true, s);
      return s;
    }
    const s = cached ?? nameAt(this.ctx, off, field);
    if (this.refs) this.refs.push(field, false, s);
    return s;
  }

  /**
   * Reads tokens until EOF (0x00) or the end of the range; returns the content. Used for
   * record streams, nested BinXml values and template definitions.
   */
  fragment(values: Value[] | null): TContent[] {
    const out: TContent[] = [];
    while (this.pos < this.end) {
      const tok = this.ctx.buf[this.pos]!;
      if (tok === 0x00) {
        this.pos++;
        break;
      }
      if (tok === 0x0f) {
        this.need(4);
        this.pos += 4;
        continue;
      }
      if (tok === 0x04) throw new BinXmlError('EndElement with no open element', this.pos);
      this.content(tok, out, values);
    }
    return out;
  }

  /** One content token (element, text, substitution, reference, PI, template instance). */
  private content(tok: number, out: TContent[], values: Value[] | null): void {
    switch (tok & 0xbf) {
      case 0x01:
        out.push(this.element(tok, values));
        return;
      case 0x05: {
        this.pos++;
        this.u8(); // value type, always 1 (string)
        out.push(this.utf16(this.u16()));
        return;
      }
      case 0x07: {
        this.pos++;
        out.push(this.utf16(this.u16()));
        return;
      }
      case 0x08: {
        this.pos++;
        out.push(String.fromCharCode(this.u16()));
        return;
      }
      case 0x09: {
        this.pos++;
        const n = this.name();
        out.push(ENTITIES[n] ?? `&${n};`);
        return;
      }
      case 0x0a: {
        this.pos++;
        const target = this.name();
        let data = '';
        if (this.pos < this.end && this.ctx.buf[this.pos] === 0x0b) {
          this.pos++;
          data = this.utf16(this.u16());
        }
        out.push({ pi: target, data });
        return;
      }
      case 0x0c: {
        if (this.inTemplate) throw new BinXmlError('TemplateInstance inside a template definition', this.pos);
        out.push(this.templateInstance());
        return;
      }
      case 0x0d:
      case 0x0e: {
        if (!this.inTemplate) throw new BinXmlError('substitution outside a template definition', this.pos);
        this.pos++;
        const index = this.u16();
        this.u8(); // type hint; the instance descriptor's type is authoritative
        out.push(new TSubst(index, tok === 0x0e));
        return;
      }
      default:
        throw new BinXmlError(`unexpected BinXml token 0x${tok.toString(16).padStart(2, '0')}`, this.pos);
    }
  }

  private element(tok: number, values: Value[] | null): TElement {
    const start = this.pos;
    this.pos++;
    let hasDep = this.inTemplate;
    if (!hasDep) {
      // Outside templates the dependency id is absent. A size check (as libfwevt does) catches
      // producers that write it anyway: read as the data size, dep id + size would exceed what
      // is left (with a dep id the u32 is depId | size << 16, far above any real remainder).
      this.need(4);
      const asSize = this.ctx.buf.readUInt32LE(this.pos);
      if (asSize > this.end - this.pos - 4) hasDep = true;
    }
    if (hasDep) this.u16();
    this.u32(); // data size: not needed, tokens are self-delimiting
    const name = this.name();
    if (tok & 0x40) this.u32(); // attribute list size
    const attrs: TAttr[] = [];
    let dynamic = false;
    for (;;) {
      if (this.pos >= this.end) throw new BinXmlError(`element <${name}> not closed`, start);
      const t = this.ctx.buf[this.pos]!;
      if ((t & 0xbf) !== 0x06) break;
      this.pos++;
      const attrName = this.name();
      const parts: (string | TSubst)[] = [];
      for (;;) {
        if (this.pos >= this.end) break;
        const v = this.ctx.buf[this.pos]! & 0xbf;
        if (v !== 0x05 && v !== 0x0d && v !== 0x0e && v !== 0x08 && v !== 0x09 && v !== 0x07) break;
        const tmp: TContent[] = [];
        this.content(this.ctx.buf[this.pos]!, tmp, values);
        const c = tmp[0]!;
        if (c instanceof TSubst) dynamic = true;
        parts.push(c as string | TSubst);
      }
      attrs.push({ name: attrName, parts });
    }
    const close = this.ctx.buf[this.pos]!;
    const children: TContent[] = [];
    if (close === 0x03) {
      this.pos++;
    } else if (close === 0x02) {
      this.pos++;
      for (;;) {
        if (this.pos >= this.end) throw new BinXmlError(`element <${name}> not closed`, start);
        const t = this.ctx.buf[this.pos]!;
        if (t === 0x04) {
          this.pos++;
          break;
        }
        if (t === 0x00) throw new BinXmlError(`end of fragment inside <${name}>`, this.pos);
        if (this.depth + 1 > this.ctx.maxDepth) throw new BinXmlError(`elements nested deeper than ${this.ctx.maxDepth}`, this.pos);
        // Child elements recurse on the same cursor; depth counts open elements.
        this.depth++;
        if (this.depth > this.deepest) this.deepest = this.depth;
        this.content(t, children, values);
        this.depth--;
      }
    } else {
      throw new BinXmlError(`expected '>' or '/>' after <${name}>, got 0x${close.toString(16)}`, this.pos);
    }
    for (const c of children) {
      if (c instanceof TSubst || (isTElement(c) && c.fixed === null)) dynamic = true;
    }
    const el: TElement = { name, attrs, children, fixed: null, fixedNodes: 0, fixedChars: 0 };
    if (!dynamic) {
      el.fixed = resolveFixed(el);
      const [n, c] = sizeOf(el.fixed);
      el.fixedNodes = n;
      el.fixedChars = c;
    }
    return el;
  }

  /** 0x0C: template reference (inline definition or earlier in the chunk) plus its values. */
  private templateInstance(): XNode[] | Instance {
    const at = this.pos;
    this.pos++;
    this.u8();
    this.u32(); // template id (first dword of the GUID)
    const defOffset = this.u32();
    let tpl: Template | undefined = this.ctx.templates.get(defOffset);
    if (defOffset === this.pos) {
      // Inline definition: u32 next, GUID, u32 size, then the body. Skip it in all cases.
      this.need(24);
      const size = this.ctx.buf.readUInt32LE(this.pos + 20);
      this.need(24 + size);
      if (!tpl) tpl = compileTemplate(this.ctx, defOffset, this.depth);
      this.pos += 24 + size;
    } else if (!tpl) {
      if (defOffset < 512 || defOffset + 24 > CHUNK_SIZE)
        throw new BinXmlError(`template offset 0x${defOffset.toString(16)} outside the chunk`, at);
      tpl = compileTemplate(this.ctx, defOffset, this.depth);
    }
    const values = readValues(this.ctx, this.pos, this.end, this.depth);
    this.pos = valuesEnd;
    // Only a top-level instance stays unresolved: inside an element it is part of that element.
    if (this.lazy && this.depth === this.topDepth) return new Instance(tpl, values, at, valuesKinds, valuesKinds2);
    return resolveContent(this.ctx, tpl.nodes, values, at);
  }
}

// ---------------------------------------------------------------------------------------
// Substitution values, and the common record read without a Parser

/** Where the last readValues or readKnownInstance call ended. */
let valuesEnd = 0;
/** The kinds of the last readValues call's values (see MAX_KINDS), or -1 (and 0). */
let valuesKinds = -1;
let valuesKinds2 = 0;

/**
 * Reads a template instance's values at pos (u32 count, descriptors, then the values; `depth`
 * is the nesting of the instance, for BinXml values). Always advances by each declared size
 * (dirty files mis-size values). Sets valuesEnd.
 */
function readValues(ctx: ChunkContext, pos: number, end: number, depth: number): Value[] {
  const buf = ctx.buf;
  const view = ctx.view;
  if (pos + 4 > end) throw new BinXmlError(`BinXml truncated: need 4 bytes, ${end - pos} left`, pos);
  const n = view.getUint32(pos, true);
  pos += 4;
  if (n * 4 > end - pos) throw new BinXmlError(`template instance declares ${n} values, too many for the record`, pos - 4);
  const descPos = pos;
  pos += n * 4;
  const values: Value[] = new Array<Value>(n);
  // Consecutive strings of even size are decoded together once the run ends (strings have no
  // side effects, so the values are the same and the errors come in the same order). The
  // step after the last value only ends the run: one place decodes runs, so the JIT's code
  // for this function is not thrown away when a path it had not seen first runs.
  // The values' kinds (see MAX_KINDS), gathered here where each value's type is at hand; an
  // array value has no kind (its instance has no shape).
  let kinds = n <= 30 /* MAX_KINDS */ ? 0 : -1;
  let kinds2 = 0;
  let runFirst = -1;
  let runStart = 0;
  for (let i = 0; i <= n; i++) {
    let size = 0;
    let type = 0;
    if (i < n) {
      const desc = view.getUint32(descPos + 4 * i, true);
      size = desc & 0xffff;
      type = (desc >>> 16) & 0xff;
      if (pos + size > end) throw new BinXmlError(`value ${i} (type 0x${type.toString(16)}, ${size} bytes) overruns the record`, pos);
      if (type === 0x01 /* VT.String */ && (size & 1) === 0) {
        if (runFirst < 0) {
          runFirst = i;
          runStart = pos;
        }
        pos += size;
        continue;
      }
    }
    if (runFirst >= 0) {
      renderUtf16Strings(buf, descPos, runFirst, i, runStart, pos, values, view);
      if (kinds >= 0) {
        for (let k = runFirst; k < i; k++) {
          const kind = (values[k] as string).length === 0 ? 1 /* KIND_EMPTY */ : 2 /* KIND_STRING */;
          if (k < 15) kinds |= kind << (2 * k);
          else kinds2 |= kind << (2 * k - 30);
        }
      }
      runFirst = -1;
    }
    if (i === n) break;
    let v: Value;
    try {
      v = decodeValue(ctx, pos, size, type, depth);
    } catch (e) {
      if (e instanceof ValueError) throw new BinXmlError(`value ${i}: ${e.message}`, pos);
      throw e;
    }
    values[i] = v;
    if (kinds >= 0) {
      // What decodeValue made of this type: null, a BinXml value, an array, or a string.
      const kind = type === 0x00 /* VT.Null */ ? 0 /* KIND_NULL */ : type === 0x21 /* VT.BinXml */ ? 3 /* KIND_NESTED */ : type & 0x80 /* VT.Array */ ? -1 : (v as string).length === 0 ? 1 /* KIND_EMPTY */ : 2 /* KIND_STRING */;
      if (kind < 0) kinds = -1;
      else if (i < 15) kinds |= kind << (2 * i);
      else kinds2 |= kind << (2 * i - 30);
    }
    pos += size;
  }
  valuesEnd = pos;
  valuesKinds = kinds;
  valuesKinds2 = kinds2;
  return values;
}

function decodeValue(ctx: ChunkContext, pos: number, size: number, type: number, depth: number): Value {
  if (type === 0x01 /* VT.String */) return renderUtf16String(ctx.buf, pos, size);
  if (type === 0x00 /* VT.Null */) return null;
  if (type === 0x21 /* VT.BinXml */) return decodeBinXml(ctx, pos, size, depth);
  if (type & 0x80 /* VT.Array */) return renderArray(ctx.buf, pos, size, type, ctx.guidCase);
  return renderScalar(ctx.buf, pos, size, type, ctx.guidCase, ctx.view);
}

/** A BinXml value at its chunk position; elements written directly in it have no dep id. */
function decodeBinXml(ctx: ChunkContext, pos: number, size: number, depth: number): Nested {
  const n0 = ctx.nodes;
  const c0 = ctx.chars;
  const end = pos + size;
  let content: TContent[] | null = null;
  // Nearly always one template instance of a template the chunk has compiled (EventData).
  if (!ctx.eager && depth + 1 <= ctx.maxDepth) {
    const inst = readKnownInstance(ctx, pos, end, depth + 1);
    if (inst) content = valuesEnd >= end || ctx.buf[valuesEnd] === 0x00 ? [inst] : [inst, ...new Parser(ctx, valuesEnd, end, false, depth + 1, true).fragment(null)];
  }
  content ??= new Parser(ctx, pos, end, false, depth + 1, !ctx.eager).fragment(null);
  const nested = new Nested(content, pos);
  if (ctx.eager) nested.resolveWith(ctx);
  else if (content.length === 1 && content[0] instanceof Instance) {
    // What measureContent does for one instance, without the general walk's dispatch.
    const inst = content[0];
    if (!chargeShape(ctx, inst)) measureContent(ctx, inst.template.nodes, inst.values, inst.at);
  } else measureContent(ctx, nested.content, EMPTY, pos);
  nested.weightNodes = ctx.nodes - n0;
  nested.weightChars = ctx.chars - c0;
  return nested;
}

/**
 * The usual content of a record or BinXml value, read without a Parser: a fragment header
 * (0x0F; records have one, BinXml values mostly not), then a template instance (0x0C) of a
 * template defined right there or compiled by this chunk already. Null when the bytes are
 * anything else, before anything is read or charged: the caller parses them in general, to
 * the same result. Otherwise the instance, as the Parser returns a lazy top-level one, with
 * valuesEnd after its values (where the Parser would go on).
 */
function readKnownInstance(ctx: ChunkContext, start: number, end: number, depth: number): Instance | null {
  const buf = ctx.buf;
  // [0x0F + 3 bytes], 0x0C, 1 byte, u32 template id, u32 definition offset.
  const at = buf[start] === 0x0f ? start + 4 : start;
  if (at + 10 > end || buf[at] !== 0x0c) return null;
  const defOffset = ctx.view.getUint32(at + 6, true);
  let tpl = ctx.templates.get(defOffset);
  let pos = at + 10;
  if (defOffset === pos) {
    // The definition written here: compiled (usually found kept) and skipped, as the Parser
    // does; each chunk's first record of a template is one of these.
    if (pos + 24 > end) return null;
    const size = ctx.view.getUint32(pos + 20, true);
    if (pos + 24 + size > end) return null;
    tpl ??= compileTemplate(ctx, defOffset, depth);
    pos += 24 + size;
  } else if (tpl === undefined) return null;
  const values = readValues(ctx, pos, end, depth);
  return new Instance(tpl, values, at, valuesKinds, valuesKinds2);
}

const EMPTY: Value[] = [];

/** Compiles the template definition at defOffset (u32 next, GUID, u32 size, body) and caches it. */
function compileTemplate(ctx: ChunkContext, defOffset: number, depth: number): Template {
  const size = ctx.buf.readUInt32LE(defOffset + 20);
  const start = defOffset + 24;
  if (start + size > CHUNK_SIZE)
    throw new BinXmlError(`template at 0x${defOffset.toString(16)} declares ${size} bytes, past the chunk end`, defOffset);
  ctx.templateBytes += size;
  if (ctx.templateBytes > EVTX_LIMITS.chunkTemplateBytes)
    throw new ChunkBudgetError(`the chunk's records refer to more than ${EVTX_LIMITS.chunkTemplateBytes} bytes of template definitions (limit)`, defOffset);
  // The reference path (parseRecordXml) always parses, so the tests compare the two.
  const kept = ctx.eager ? null : findKept(ctx, defOffset, start, size, depth + 1);
  if (kept !== null) {
    ctx.templates.set(defOffset, kept);
    return kept;
  }
  const p = new Parser(ctx, start, start + size, true, depth + 1);
  const refs = new NameRefs();
  p.refs = refs;
  const nodes = p.fragment(null);
  const tpl: Template = { nodes, shapes: templateShapes(nodes) };
  ctx.templates.set(defOffset, tpl);
  if (!ctx.eager) keep(ctx, defOffset, start, size, refs, p.deepest - (depth + 1), tpl);
  return tpl;
}

/**
 * Each chunk compiles its own copy of a template (definitions are chunk-local), but the same
 * provider template recurs in every chunk: its shapes are kept across chunks, keyed by the
 * compiled tree written out (names and text resolved, so equal keys mean equal trees). Bounded
 * in entries and in size (keys, shapes, compiled renderers' source): a file of ever-new templates
 * or patterns clears the table now and then, and costs only the time to rebuild what it uses.
 */
const SHAPES_BY_TREE = new Map<string, TemplateShapes>();
const MAX_TEMPLATES_KEPT = 4096;
const MAX_SHAPES_PER_TEMPLATE = 256;
/** About the characters and array slots the table holds (keys, patterns, uses, renderers). */
const MAX_TABLE_COST = 16 * 1024 * 1024;
let tableCost = 0;
let templateIds = 0;

/** Counts what the shape table now holds; clears it past its bound. */
export function chargeShapeTable(cost: number): void {
  tableCost += cost;
  if (tableCost > MAX_TABLE_COST) {
    SHAPES_BY_TREE.clear();
    forgetKept();
    tableCost = 0;
  }
}

function templateShapes(nodes: readonly TContent[]): TemplateShapes {
  const key = treeKey(nodes);
  let shapes = SHAPES_BY_TREE.get(key);
  if (!shapes) {
    if (SHAPES_BY_TREE.size >= MAX_TEMPLATES_KEPT) {
      SHAPES_BY_TREE.clear();
      forgetKept();
      tableCost = 0;
    }
    shapes = { id: ++templateIds, byPattern: new Map(), last: null, prev: null };
    chargeShapeTable(key.length);
    SHAPES_BY_TREE.set(key, shapes);
  }
  return shapes;
}

let uniqueKeys = 0;

/** The compiled tree as text: every name, literal, substitution and nesting, unambiguously. */
function treeKey(nodes: readonly TContent[]): string {
  let k = '';
  for (const c of nodes) {
    if (typeof c === 'string') k += 't' + c.length + ':' + c;
    else if (c instanceof TSubst) k += (c.optional ? 'o' : 's') + c.index + ';';
    else if (Array.isArray(c) || c instanceof Instance) k += 'x' + ++uniqueKeys + ';'; // never in a template: matches nothing
    else if (isTElement(c)) {
      k += '<' + c.name.length + ':' + c.name;
      for (const a of c.attrs) {
        k += '@' + a.name.length + ':' + a.name;
        for (const p of a.parts) k += p instanceof TSubst ? (p.optional ? 'o' : 's') + p.index + ';' : 't' + p.length + ':' + p;
      }
      k += '>' + treeKey(c.children) + '/';
    } else k += '?' + c.pi.length + ':' + c.pi + c.data.length + ':' + c.data;
  }
  return k;
}

/** The instance's pattern (see Shape), or null when a value is an array or other BinXml. */
function patternOf(inst: Instance): string | null {
  const values = inst.values;
  let key = '';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null) key += 'n';
    else if (typeof v === 'string') key += v.length === 0 ? 'e' : 's';
    else if (v instanceof Nested) {
      const c = v.content;
      if (c.length !== 1 || !(c[0] instanceof Instance)) return null;
      const inner = patternOf(c[0]);
      if (inner === null) return null;
      key += '(' + c[0].template.shapes.id + ':' + inner + ')';
    } else {
      // An array: its length and which items are empty.
      if (v.length > MAX_ARRAY_ITEMS) return null;
      key += '[';
      for (let j = 0; j < v.length; j++) key += v[j]!.length === 0 ? 'e' : 's';
      key += ']';
    }
  }
  return key;
}

/** The instance's pattern as data (only for a pattern patternOf gives a key to). */
function patternData(inst: Instance): Pattern {
  const values = inst.values;
  const kinds = new Uint8Array(values.length);
  const nested: Pattern['nested'] = new Array<Pattern['nested'][number]>(values.length).fill(null);
  const nestedAt: number[] = [];
  let arrays: Pattern['arrays'] | null = null;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === null) kinds[i] = KIND_NULL;
    else if (typeof v === 'string') kinds[i] = v.length === 0 ? KIND_EMPTY : KIND_STRING;
    else if (Array.isArray(v)) {
      kinds[i] = KIND_ARRAY;
      arrays ??= new Array<Uint8Array | null>(values.length).fill(null);
      arrays[i] = Uint8Array.from(v, (x) => (x.length === 0 ? KIND_EMPTY : KIND_STRING));
    } else {
      const inner = v.content[0] as Instance;
      kinds[i] = KIND_NESTED;
      nested[i] = { shapes: inner.template.shapes, pattern: patternData(inner), shape: inner.shape };
      nestedAt.push(i);
    }
  }
  // With an array value the kinds do not fit two bits each: such patterns are compared in full.
  let kindsKey = values.length <= MAX_KINDS && arrays === null ? 0 : -1;
  let kindsKey2 = 0;
  if (kindsKey === 0) {
    for (let i = 0; i < values.length; i++) {
      if (i < 15) kindsKey |= kinds[i]! << (2 * i);
      else kindsKey2 |= kinds[i]! << (2 * i - 30);
    }
  }
  return { kinds, kindsKey, kindsKey2, nested, nestedAt, arrays: arrays ?? [] };
}

/**
 * Whether the instance's values have pattern `p`: matchesPattern's answer, from the kinds
 * gathered while its values were read and, for its BinXml values, their instances' shapes.
 */
function matchesInstance(inst: Instance, p: Pattern): boolean {
  const values = inst.values;
  if (inst.kinds < 0 || p.kindsKey < 0) return matchesPattern(values, p);
  if (inst.kinds !== p.kindsKey || inst.kinds2 !== p.kindsKey2 || values.length !== p.kinds.length) return false;
  const at = p.nestedAt;
  for (let j = 0; j < at.length; j++) {
    const i = at[j]!;
    // Equal kinds: the value is a BinXml value, as it was in the pattern.
    const c = (values[i] as Nested).content;
    if (c.length !== 1) return false;
    const inner = c[0];
    if (!(inner instanceof Instance)) return false;
    const want = p.nested[i]!;
    if (inner.shape !== null && inner.shape === want.shape) continue;
    if (inner.template.shapes !== want.shapes || !matchesInstance(inner, want.pattern)) return false;
  }
  return true;
}

/** Whether the values have pattern `p` (what comparing patternOf's keys would say, without one). */
function matchesPattern(values: Value[], p: Pattern): boolean {
  const kinds = p.kinds;
  if (values.length !== kinds.length) return false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const k = kinds[i]!;
    if (v === null) {
      if (k !== KIND_NULL) return false;
    } else if (typeof v === 'string') {
      if (k !== (v.length === 0 ? KIND_EMPTY : KIND_STRING)) return false;
    } else if (v instanceof Nested) {
      if (k !== KIND_NESTED) return false;
      const c = v.content;
      const want = p.nested[i]!;
      if (c.length !== 1) return false;
      const inner = c[0];
      if (!(inner instanceof Instance) || inner.template.shapes !== want.shapes || !matchesPattern(inner.values, want.pattern)) return false;
    } else {
      if (k !== KIND_ARRAY) return false;
      const want = p.arrays[i]!;
      if (v.length !== want.length) return false;
      for (let j = 0; j < v.length; j++) if ((v[j]!.length === 0 ? KIND_EMPTY : KIND_STRING) !== want[j]) return false;
    }
  }
  return true;
}

/** The shape of an instance's values, or null (walk it): see Shape. */
function shapeOf(inst: Instance): Shape | null {
  const tplShapes = inst.template.shapes;
  const last = tplShapes.last;
  if (last !== null && matchesInstance(inst, last.pattern)) return last;
  // Records of a template often alternate between two patterns (a value empty or not).
  const prev = tplShapes.prev;
  if (prev !== null && matchesInstance(inst, prev.pattern)) {
    tplShapes.prev = last;
    tplShapes.last = prev;
    return prev;
  }
  const key = patternOf(inst);
  if (key === null) return null;
  const shapes = tplShapes.byPattern;
  let shape = shapes.get(key);
  if (shape === null) return null;
  if (shape !== undefined) {
    tplShapes.prev = last;
    tplShapes.last = shape;
    return shape;
  }
  if (shapes.size >= MAX_SHAPES_PER_TEMPLATE) return null;
  // Measure once with the values' own sizes counted apart, per use.
  const values = inst.values;
  const counter = new ChunkContext(EMPTY_BUFFER, 'upper', EVTX_LIMITS.depth, false);
  const sym: Symbolic = { uses: new Array<number>(values.length).fill(0), nestedUses: new Array<number>(values.length).fill(0), items: [], ok: true };
  symbolic = sym;
  try {
    measureContent(counter, inst.template.nodes, values, inst.at);
  } finally {
    symbolic = null;
  }
  if (!sym.ok) {
    shapes.set(key, null);
    chargeShapeTable(2 * key.length + 16);
    return null;
  }
  const uses: number[] = [];
  const repeats: number[] = [];
  for (let i = 0; i < values.length; i++) {
    for (let n = 0; n < sym.uses[i]!; n++) uses.push(i);
    for (let n = 1; n < sym.nestedUses[i]!; n++) repeats.push(i);
  }
  const itemUses = sym.items;
  shape = { nodes: counter.nodes, chars: counter.chars, uses, repeats, itemUses, render: undefined, pattern: patternData(inst) };
  chargeShapeTable(2 * key.length + uses.length + repeats.length + itemUses.length + 16);
  shapes.set(key, shape);
  tplShapes.prev = last;
  tplShapes.last = shape;
  return shape;
}

/**
 * Charges ctx an instance's size from its shape, when it has one and the totals stay within
 * every limit (then walking would not have thrown either; otherwise the walk finds exactly
 * where and which limit is passed). False: walk it.
 */
function chargeShape(ctx: ChunkContext, inst: Instance): boolean {
  const shape = shapeOf(inst);
  if (shape === null) return false;
  const values = inst.values;
  let nodes = shape.nodes;
  let chars = shape.chars;
  const uses = shape.uses;
  for (let i = 0; i < uses.length; i++) chars += (values[uses[i]!] as string).length;
  const itemUses = shape.itemUses;
  for (let i = 0; i < itemUses.length; i += 2) chars += (values[itemUses[i]!] as string[])[itemUses[i + 1]!]!.length;
  const repeats = shape.repeats;
  for (let i = 0; i < repeats.length; i++) {
    const v = values[repeats[i]!] as Nested;
    nodes += v.weightNodes;
    chars += v.weightChars;
  }
  const n = ctx.nodes + nodes;
  const c = ctx.chars + chars;
  if (n - ctx.recordNodes > EVTX_LIMITS.recordNodes || c - ctx.recordChars > EVTX_LIMITS.recordChars) return false;
  if (n > EVTX_LIMITS.chunkNodes || c > EVTX_LIMITS.chunkChars) return false;
  ctx.nodes = n;
  ctx.chars = c;
  inst.shape = shape;
  return true;
}

/** While computing a shape: per value index, how often its text, or its BinXml, is written. */
interface Symbolic {
  uses: number[];
  nestedUses: number[];
  /** Array items written, as (value index, item index) pairs, one pair per use. */
  items: number[];
  /** False when a size depends on a value in a way a shape cannot hold (BinXml in an attribute). */
  ok: boolean;
}
let symbolic: Symbolic | null = null;

/** Item uses a shape may hold (arrays repeating nested elements multiply). */
const MAX_ITEM_USES = 4096;

function symbolicItem(sym: Symbolic, index: number, item: number): void {
  if (sym.items.length >= 2 * MAX_ITEM_USES) sym.ok = false;
  else sym.items.push(index, item);
}

const EMPTY_BUFFER = Buffer.alloc(0);

// ---------------------------------------------------------------------------------------
// Resolution: fill substitution slots with a record's values

function resolveFixed(el: TElement): XElement {
  const attrs: XAttr[] = [];
  for (const a of el.attrs) {
    const v = a.parts.join('');
    if (v !== '') attrs.push({ name: a.name, value: v });
  }
  const out: XNode[] = [];
  for (const c of el.children) pushFixed(c, out);
  return { name: el.name, attrs, children: out };
}

function pushFixed(c: TContent, out: XNode[]): void {
  if (typeof c === 'string') out.push(c);
  else if (Array.isArray(c)) for (const n of c) out.push(n);
  else if (isTElement(c)) out.push(c.fixed ?? resolveFixed(c));
  else if (c instanceof Instance) for (const n of c.resolve()) out.push(n);
  else if (!(c instanceof TSubst)) out.push(c);
}

/** Attribute text of a value: arrays are joined (rare in attributes), nested XML flattened to text. */
function valueText(v: Value): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.join(', ');
  return textOf(v.nodes);
}

export function textOf(nodes: readonly XNode[]): string {
  let s = '';
  for (const n of nodes) {
    if (typeof n === 'string') s += n;
    else if ('name' in n) s += textOf(n.children);
  }
  return s;
}

/** Size of a resolved element written out: [nodes, characters] (shared subtrees counted at each use). */
function sizeOf(el: XElement): [number, number] {
  let nodes = 1 + el.attrs.length;
  let chars = 0;
  for (const a of el.attrs) chars += a.value.length;
  for (const c of el.children) {
    if (typeof c === 'string') {
      nodes++;
      chars += c.length;
    } else if ('name' in c) {
      const [n, k] = sizeOf(c);
      nodes += n;
      chars += k;
    } else {
      nodes++;
      chars += c.data.length;
    }
  }
  return [nodes, chars];
}

/**
 * Resolves content against a record's values, charging what it produces to the chunk's budget
 * (ctx.check throws past the limits). `at` is the chunk offset named in errors.
 */
export function resolveContent(ctx: ChunkContext, nodes: readonly TContent[], values: Value[], at: number): XNode[] {
  const out: XNode[] = [];
  for (const c of nodes) resolveInto(ctx, c, values, out, -1, '', at);
  return out;
}

function valueAt(values: Value[], i: number): Value {
  return i < values.length ? values[i]! : null;
}

/**
 * Resolves one content item into out. `arrayIndex`/`arrayItem` carry the current item when the
 * enclosing element is being repeated for an array value (MS-EVEN6 3.1.4.7.5). Every node and
 * character produced is counted in ctx (counters only: no extra pass over the tree).
 */
function resolveInto(
  ctx: ChunkContext,
  c: TContent,
  values: Value[],
  out: XNode[],
  arrayIndex: number,
  arrayItem: string,
  at: number,
): void {
  if (typeof c === 'string') {
    out.push(c);
    ctx.nodes++;
    ctx.chars += c.length;
    return;
  }
  if (c instanceof TSubst) {
    const v = c.index === arrayIndex ? arrayItem : valueAt(values, c.index);
    if (v === null) return;
    if (typeof v === 'string') {
      if (v !== '') {
        out.push(v);
        ctx.nodes++;
        ctx.chars += v.length;
      }
    } else if (Array.isArray(v)) {
      // An array outside an element that can repeat: keep the items as separate text nodes.
      for (const s of v) {
        out.push(s);
        ctx.chars += s.length;
      }
      ctx.nodes += v.length;
    } else {
      // A BinXml value used again (a template may repeat a substitution) is as big again.
      if (v.used) {
        ctx.nodes += v.weightNodes;
        ctx.chars += v.weightChars;
        ctx.check(at);
      }
      v.used = true;
      for (const n of v.nodes) out.push(n);
    }
    return;
  }
  if (Array.isArray(c)) {
    for (const n of c) out.push(n);
    return;
  }
  if (c instanceof Instance) {
    // A top-level instance beside other content: resolved (and charged) like the rest.
    for (const n of resolveContent(ctx, c.template.nodes, c.values, c.at)) out.push(n);
    return;
  }
  if (!isTElement(c)) {
    out.push(c);
    ctx.nodes++;
    ctx.chars += c.data.length;
    return;
  }
  if (c.fixed) {
    out.push(c.fixed);
    ctx.nodes += c.fixedNodes;
    ctx.chars += c.fixedChars;
    return;
  }
  // Optional substitution of a Null value in the content removes the element (MS-EVEN6) when
  // that is all the element holds: <Data>%1</Data> vanishes, but an <Event> holding <System>
  // and a Null EventData substitution stays. An array value in the content repeats the
  // element once per item (an empty array still gives one empty element).
  let repeatIndex = -1;
  let hasElements = false;
  let optionalNull = false;
  for (const ch of c.children) {
    if (isTElement(ch)) hasElements = true;
    if (!(ch instanceof TSubst) || ch.index === arrayIndex) continue;
    const v = valueAt(values, ch.index);
    if (v === null && ch.optional) optionalNull = true;
    if (repeatIndex < 0 && Array.isArray(v)) repeatIndex = ch.index;
  }
  if (optionalNull && !hasElements) return;
  if (repeatIndex >= 0) {
    const items = values[repeatIndex] as string[];
    if (items.length === 0) out.push(buildElement(ctx, c, values, repeatIndex, '', at));
    else for (const item of items) out.push(buildElement(ctx, c, values, repeatIndex, item, at));
    return;
  }
  out.push(buildElement(ctx, c, values, arrayIndex, arrayItem, at));
}

/** Shared by every element without attributes (most of them): saves an array per element. */
const NO_ATTRS: XAttr[] = [];

function buildElement(ctx: ChunkContext, c: TElement, values: Value[], arrayIndex: number, arrayItem: string, at: number): XElement {
  const attrs: XAttr[] = c.attrs.length === 0 ? NO_ATTRS : [];
  for (const a of c.attrs) {
    let v = '';
    let drop = false;
    for (const p of a.parts) {
      if (typeof p === 'string') v += p;
      else {
        const val = p.index === arrayIndex ? arrayItem : valueAt(values, p.index);
        if (val === null && p.optional) drop = true;
        // Flattening a BinXml or array value walks all of it: charge that walk.
        if (val instanceof Nested || Array.isArray(val)) {
          ctx.nodes += val instanceof Nested ? val.weightNodes : val.length;
          ctx.check(at);
        }
        v += valueText(val);
      }
    }
    // Attributes whose rendered value is empty are not written (e.g. <Correlation/>).
    if (!drop && v !== '') {
      attrs.push({ name: a.name, value: v });
      ctx.nodes++;
      ctx.chars += v.length;
    }
  }
  ctx.nodes++;
  const children: XNode[] = [];
  for (const ch of c.children) resolveInto(ctx, ch, values, children, arrayIndex, arrayItem, at);
  ctx.check(at);
  return { name: c.name, attrs, children };
}

// ---------------------------------------------------------------------------------------
// Measurement: what resolving would charge, without building anything

/**
 * Charges ctx exactly what resolveContent would (same nodes, characters, `used` flags and
 * checks) without building the tree: records and nested values are measured when parsed and
 * resolved only if their tree is asked for.
 */
function measureContent(ctx: ChunkContext, nodes: readonly TContent[], values: Value[], at: number): void {
  for (let i = 0; i < nodes.length; i++) measureInto(ctx, nodes[i]!, values, -1, '', -1, at);
}

/** `itemAt` is the index of arrayItem in its array (for a shape's item uses), -1 outside a repeat. */
function measureInto(ctx: ChunkContext, c: TContent, values: Value[], arrayIndex: number, arrayItem: string, itemAt: number, at: number): void {
  if (typeof c === 'string') {
    ctx.nodes++;
    ctx.chars += c.length;
    return;
  }
  if (c instanceof TSubst) {
    const v = c.index === arrayIndex ? arrayItem : valueAt(values, c.index);
    if (v === null) return;
    if (typeof v === 'string') {
      if (v !== '') {
        ctx.nodes++;
        if (!symbolic) ctx.chars += v.length;
        else if (c.index === arrayIndex) symbolicItem(symbolic, c.index, itemAt);
        else symbolic.uses[c.index]!++;
      }
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (!symbolic) ctx.chars += v[i]!.length;
        else if (v[i] !== '') symbolicItem(symbolic, c.index, i);
      }
      ctx.nodes += v.length;
    } else if (symbolic) {
      symbolic.nestedUses[c.index]!++;
    } else {
      if (v.used) {
        ctx.nodes += v.weightNodes;
        ctx.chars += v.weightChars;
        ctx.check(at);
      }
      v.used = true;
    }
    return;
  }
  if (Array.isArray(c)) return;
  if (c instanceof Instance) {
    if (!chargeShape(ctx, c)) measureContent(ctx, c.template.nodes, c.values, c.at);
    return;
  }
  if (!isTElement(c)) {
    ctx.nodes++;
    ctx.chars += c.data.length;
    return;
  }
  if (c.fixed) {
    ctx.nodes += c.fixedNodes;
    ctx.chars += c.fixedChars;
    return;
  }
  let repeatIndex = -1;
  let hasElements = false;
  let optionalNull = false;
  const ch = c.children;
  for (let i = 0; i < ch.length; i++) {
    const x = ch[i]!;
    if (isTElement(x)) hasElements = true;
    if (!(x instanceof TSubst) || x.index === arrayIndex) continue;
    const v = valueAt(values, x.index);
    if (v === null && x.optional) optionalNull = true;
    if (repeatIndex < 0 && Array.isArray(v)) repeatIndex = x.index;
  }
  if (optionalNull && !hasElements) return;
  if (repeatIndex >= 0) {
    const items = values[repeatIndex] as string[];
    if (items.length === 0) measureElement(ctx, c, values, repeatIndex, '', -1, at);
    else for (let i = 0; i < items.length; i++) measureElement(ctx, c, values, repeatIndex, items[i]!, i, at);
    return;
  }
  measureElement(ctx, c, values, arrayIndex, arrayItem, itemAt, at);
}

function measureElement(ctx: ChunkContext, c: TElement, values: Value[], arrayIndex: number, arrayItem: string, itemAt: number, at: number): void {
  const attrs = c.attrs;
  for (let i = 0; i < attrs.length; i++) {
    const parts = attrs[i]!.parts;
    let len = 0;
    let valueLen = 0;
    let drop = false;
    for (let j = 0; j < parts.length; j++) {
      const p = parts[j]!;
      if (typeof p === 'string') {
        len += p.length;
        continue;
      }
      const val = p.index === arrayIndex ? arrayItem : valueAt(values, p.index);
      if (val === null) {
        if (p.optional) drop = true;
      } else if (typeof val === 'string') {
        len += val.length;
        valueLen += val.length;
      } else {
        if (symbolic) symbolic.ok = false;
        ctx.nodes += val instanceof Nested ? val.weightNodes : val.length;
        ctx.check(at);
        len += valueText(val).length;
      }
    }
    if (!drop && len !== 0) {
      ctx.nodes++;
      if (symbolic) {
        // Only the literal parts are constant; each string value's length is counted per use.
        ctx.chars += len - valueLen;
        for (let j = 0; j < parts.length; j++) {
          const p = parts[j]!;
          if (!(p instanceof TSubst)) continue;
          // An array's item (its length was counted in len): the item's own use, if any text.
          if (p.index === arrayIndex) {
            if (arrayItem !== '') symbolicItem(symbolic, p.index, itemAt);
          } else if (typeof valueAt(values, p.index) === 'string') symbolic.uses[p.index]!++;
        }
      } else ctx.chars += len;
    }
  }
  ctx.nodes++;
  const ch = c.children;
  for (let i = 0; i < ch.length; i++) measureInto(ctx, ch[i]!, values, arrayIndex, arrayItem, itemAt, at);
  ctx.check(at);
}

/**
 * Parses one record's BinXML stream [start, end) into resolved XML nodes, resolving everything
 * as it goes (the reference for parseRecord's measurement: both charge ctx the same). Throws
 * BinXmlError.
 */
export function parseRecordXml(ctx: ChunkContext, start: number, end: number): XNode[] {
  ctx.eager = true;
  ctx.recordNodes = ctx.nodes;
  ctx.recordChars = ctx.chars;
  const p = new Parser(ctx, start, end, false, 0);
  const nodes = resolveContent(ctx, p.fragment(null), EMPTY, start);
  ctx.check(start);
  return nodes;
}

/**
 * Like parseRecordXml, but a record that is exactly one template instance (nearly all of them)
 * comes back unresolved, for direct rendering; anything else is resolved as usual. Either way
 * the record's expansion is charged to the chunk's budget and checked (throws BinXmlError, or
 * ChunkBudgetError when the chunk's budget is spent).
 */
export function parseRecord(ctx: ChunkContext, start: number, end: number): XNode[] | Instance {
  ctx.recordNodes = ctx.nodes;
  ctx.recordChars = ctx.chars;
  let content: TContent[];
  const known = readKnownInstance(ctx, start, end, 0);
  if (known === null) content = new Parser(ctx, start, end, false, 0, true).fragment(null);
  else if (valuesEnd >= end || ctx.buf[valuesEnd] === 0x00) content = [known];
  else content = [known, ...new Parser(ctx, valuesEnd, end, false, 0, true).fragment(null)];
  if (content.length === 1 && content[0] instanceof Instance) {
    const inst = content[0];
    // The size from the template's shape when it has one, else by walking it.
    if (!chargeShape(ctx, inst)) {
      measureContent(ctx, inst.template.nodes, inst.values, inst.at);
      ctx.check(start);
    }
    return inst;
  }
  const nodes = resolveContent(ctx, content, EMPTY, start);
  ctx.check(start);
  return nodes;
}
