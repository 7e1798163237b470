// Compiled templates kept across chunks.
//
// Template definitions are chunk-local: each chunk that uses a template writes its definition
// again, and parsing it (with the tree key its shapes are found by) was a sixth of the decoder's
// time. A definition's bytes are the same in every chunk except its name references, which are
// chunk offsets: a name written inline (its first use in the chunk) follows a field holding its
// own offset and starts with a hash-chain link and a hash (neither is read); a name written
// earlier is only that field. A definition whose bytes equal a kept one's outside those fields,
// whose inline names sit at the same places and whose other references name the same strings
// parses to the same tree — parsing a definition reads nothing else — so the kept tree, and the
// shapes and renderers found for it, serve the new chunk too.

import type { ChunkContext, Template } from './binxml.js';
import { decodeUtf16, u32le } from './values.js';

const CHUNK_SIZE = 0x10000;

/** The name references read while compiling one definition, in order. */
export class NameRefs {
  /** Chunk offset of each reference's u32 offset field. */
  readonly at: number[] = [];
  /** Whether the name is written inline after the field (else it refers to one written before). */
  readonly inline: boolean[] = [];
  readonly text: string[] = [];
  push(at: number, inline: boolean, text: string): void {
    this.at.push(at);
    this.inline.push(inline);
    this.text.push(text);
  }
}

interface Kept {
  /** The definition's body as first read, its chunk-dependent bytes zeroed (see mask). */
  body: Buffer;
  /** Per name reference: the field's position in the body, inline or not, the name. */
  at: Int32Array;
  inline: Uint8Array;
  text: string[];
  /** Element nesting the body reaches below the depth it is parsed at. */
  depth: number;
  tpl: Template;
}

/** By the template GUID's first dword and the body's size; a few definitions each. */
const KEPT = new Map<number, Kept[]>();
const MAX_PER_KEY = 4;
/** Bytes of bodies kept; past this, everything is forgotten (a file of ever-new templates). */
const MAX_BYTES = 8 * 1024 * 1024;
let keptBytes = 0;
/** The body being compared, masked like the kept ones. */
const SCRATCH = Buffer.alloc(CHUNK_SIZE);

function keyOf(buf: Buffer, defOffset: number, size: number): number {
  return u32le(buf, defOffset + 4) * 0x10000 + (size & 0xffff);
}

/** Zeroes the bytes of `body` that depend on where the definition is in its chunk. */
function mask(body: Buffer, at: Int32Array, inline: Uint8Array): void {
  // A few bytes each: a loop, not a native fill call per field.
  for (let i = 0; i < at.length; i++) {
    const end = at[i]! + (inline[i] ? 10 : 4);
    for (let j = at[i]!; j < end; j++) body[j] = 0;
  }
}

/**
 * The kept template the definition at defOffset (body [start, start + size), parsed at `depth`)
 * compiles to, or null. Names written inline in the body are entered in ctx.names, as parsing
 * the body would enter them.
 */
export function findKept(ctx: ChunkContext, defOffset: number, start: number, size: number, depth: number): Template | null {
  const list = KEPT.get(keyOf(ctx.buf, defOffset, size));
  if (list === undefined) return null;
  const buf = ctx.buf;
  for (let k = 0; k < list.length; k++) {
    const kept = list[k]!;
    // Deeper than the limit here: parse it, to fail where the parser fails.
    if (kept.body.length !== size || depth + kept.depth > ctx.maxDepth) continue;
    buf.copy(SCRATCH, 0, start, start + size);
    mask(SCRATCH, kept.at, kept.inline);
    if (SCRATCH.compare(kept.body, 0, size, 0, size) !== 0) continue;
    if (sameNames(ctx, start, kept)) return kept.tpl;
  }
  return null;
}

/** Whether the body at `start` (its other bytes equal to kept's) refers to the same names. */
function sameNames(ctx: ChunkContext, start: number, kept: Kept): boolean {
  const buf = ctx.buf;
  const names = ctx.names;
  for (let i = 0; i < kept.at.length; i++) {
    const field = start + kept.at[i]!;
    const off = u32le(buf, field);
    if (kept.inline[i]) {
      // The name's length and text are in the compared bytes: it is kept.text[i].
      if (off !== field + 4) return false;
      if (!names.has(off)) names.set(off, kept.text[i]!);
      continue;
    }
    if (off === field + 4) return false;
    let s = names.get(off);
    if (s === undefined) {
      // Not seen in this chunk yet: the parser decodes it where it is (checks as nameAt's).
      if (off + 8 > CHUNK_SIZE) return false;
      const n = buf.readUInt16LE(off + 6);
      if (off + 10 + 2 * n > CHUNK_SIZE) return false;
      s = decodeUtf16(buf, off + 8, n);
      names.set(off, s);
    }
    if (s !== kept.text[i]) return false;
  }
  return true;
}

/** Keeps a definition just compiled (refs read by its parse, which reached `depth` below its start). */
export function keep(ctx: ChunkContext, defOffset: number, start: number, size: number, refs: NameRefs, depth: number, tpl: Template): void {
  const key = keyOf(ctx.buf, defOffset, size);
  if (keptBytes + size > MAX_BYTES) forgetKept();
  let list = KEPT.get(key);
  if (list === undefined) KEPT.set(key, (list = []));
  else if (list.length >= MAX_PER_KEY) keptBytes -= list.shift()!.body.length;
  const body = Buffer.allocUnsafe(size);
  ctx.buf.copy(body, 0, start, start + size);
  const at = Int32Array.from(refs.at, (a) => a - start);
  const inline = Uint8Array.from(refs.inline, (b) => (b ? 1 : 0));
  mask(body, at, inline);
  list.push({ body, at, inline, text: refs.text.slice(), depth, tpl });
  keptBytes += size;
}

/** Forgets every kept template (their shapes are being forgotten: see chargeShapeTable). */
export function forgetKept(): void {
  KEPT.clear();
  keptBytes = 0;
}
