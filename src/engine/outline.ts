// Start-up without compiling: what a router needs to know about a query before any event arrives
// (its type, categories, anchors and needles — its outline) is small, plain data, and can be kept
// on disk between runs. A query whose outline is known is compiled lazily, the first time an event
// reaches it, so a hunt with a thousand rules starts reading at once and never compiles the rules
// no event reaches.
//
// The outline cache is a JSON file per build of the engine (`outlines-<fingerprint>.json` in the
// cache directory, see engineFingerprint), so builds used side by side — an installed eqlite and
// a development checkout, or the tests — never overwrite each other's outlines. Entries are keyed
// by a digest of the query text and the options that change its outline. The file is read once
// per process; `saveOutlines()` writes new outlines back merged with what other processes wrote
// meanwhile. A damaged file is ignored and replaced; only the most recent few builds' files are
// kept.
//
// The outlines' terms (what the router's index is built from: 70% of the bytes) are in a file of
// their own beside it (`outline-terms-<fingerprint>.json`), read when a term is first asked for: a
// hunt whose router index is kept (detect/router-cache.ts) never reads it. An outline whose terms
// that file lacks (another process wrote the two files in between, or it is damaged) gives the
// terms of its query compiled, as for terms that do not parse.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { copyAnchor } from './anchors.js';
import { buildId } from '../util/build-id.js';
import type { EventDoc } from '../events/types.js';
import type { CompiledQuery, QueryResult, TermOutline } from './types.js';

/**
 * The query's own anchors (CompiledQuery.anchors) are not part of it: the router reads its terms'
 * anchors, and they were a quarter of the cache file's bytes (a lazy query compiles when they are
 * asked for).
 */
export interface QueryOutline {
  type: CompiledQuery['type'];
  categories: string[] | null;
  terms: TermOutline[];
  needles: string[] | null;
  /**
   * The names of the fields the query's text reads (detect/router.ts queryFieldNames), kept so
   * that a hunt's threads learn what to pick from the lines (detect/hunt-picker.ts) without
   * parsing the query; absent in outlines made without them.
   */
  fields?: string[];
}

/** A cached outcome: the outline, or the message of the error compiling the query gave. */
export type CachedOutline = QueryOutline | { error: string };

/**
 * An outline as the cache file holds it, without its terms: they are in the terms file (as JSON
 * text per key), read and parsed when first asked for. They are most of the outlines' bytes and
 * objects, and a hunt whose router index is kept (detect/router-cache.ts) never reads them.
 */
interface StoredOutline {
  type: CompiledQuery['type'];
  categories: string[] | null;
  needles: string[] | null;
  fields?: string[];
}
type StoredEntry = StoredOutline | { error: string };

/** The terms of the outlines fromStored made: where to find them, and once read, the terms. */
const storedTerms = new WeakMap<object, { cache: OutlineCache; key: string; terms?: TermOutline[] }>();

/**
 * `terms` of the outlines fromStored makes: one getter for all of them. An object literal with a
 * getter of its own is a dictionary-mode object in V8 (about 450 bytes each, 0.46 MB for the
 * installed rule set's outlines, all promoted to the old generation while a hunt starts); objects
 * given one shared accessor keep one hidden class.
 */
const STORED_TERMS: PropertyDescriptor = {
  get(this: object): TermOutline[] | undefined {
    const s = storedTerms.get(this);
    if (s === undefined) return undefined;
    return (s.terms ??= s.cache.storedTerms(s.key));
  },
  enumerable: true,
  configurable: true,
};

/**
 * The outline a stored one stands for; its terms are read from the cache's terms file when first
 * asked for (that throws when the file lacks them or they do not parse).
 */
function fromStored(e: StoredOutline, cache: OutlineCache, key: string): QueryOutline {
  // (fields always set, undefined when not stored: every such object keeps one hidden class.)
  const o = { type: e.type, categories: e.categories, needles: e.needles, fields: Array.isArray(e.fields) ? e.fields : undefined };
  Object.defineProperty(o, 'terms', STORED_TERMS);
  storedTerms.set(o, { cache, key });
  return o as QueryOutline;
}

function isStored(v: unknown): v is StoredEntry {
  if (v === null || typeof v !== 'object') return false;
  const e = v as Record<string, unknown>;
  return typeof e.error === 'string' || (typeof e.type === 'string' && e.terms === undefined);
}

export function outlineOf(q: CompiledQuery): QueryOutline {
  return {
    type: q.type,
    categories: q.categories === null ? null : [...q.categories],
    terms: q.terms.map((t) => {
      const term: TermOutline = { category: t.category, anchors: t.anchors === null ? null : t.anchors.map(copyAnchor) };
      if (t.gate !== undefined) term.gate = t.gate.map(copyAnchor);
      return term;
    }),
    needles: q.needles === null ? null : [...q.needles],
  };
}

/** What a lazy query holds besides its fields: its outline, and once compiled, the query. */
interface LazyState {
  outline: QueryOutline;
  compileNow: (() => CompiledQuery) | null;
  real: CompiledQuery | null;
  terms: readonly TermOutline[] | null;
  lazy: CompiledQuery;
}
const lazyStates = new WeakMap<object, LazyState>();

function compiled(state: LazyState): CompiledQuery {
  if (state.real === null) {
    const real = state.compileNow!();
    state.real = real;
    state.compileNow = null;
    const lazy = state.lazy;
    lazy.relevant = real.relevant;
    lazy.writeAnswers = real.writeAnswers;
    lazy.createRun = real.createRun;
    lazy.run = real.run;
    lazy.runAsync = real.runAsync;
  }
  return state.real;
}

/**
 * `anchors` and `terms` of lazy queries: one getter each for all of them. An object literal with
 * getters of its own is a dictionary-mode object in V8 (about 830 bytes each, 0.85 MB for the
 * installed rule set's 1,024 queries, all promoted to the old generation while a hunt starts);
 * objects given the same accessors keep one hidden class.
 */
const LAZY_ANCHORS: PropertyDescriptor = {
  get(this: object): CompiledQuery['anchors'] | undefined {
    const state = lazyStates.get(this);
    return state === undefined ? undefined : compiled(state).anchors;
  },
  enumerable: true,
  configurable: true,
};
// Read when a router's index is built: from the outline, or — should the cached text not parse —
// from the query compiled.
const LAZY_TERMS: PropertyDescriptor = {
  get(this: object): CompiledQuery['terms'] | undefined {
    const state = lazyStates.get(this);
    if (state === undefined) return undefined;
    if (state.terms === null) {
      try {
        state.terms = state.outline.terms;
      } catch {
        state.terms = compiled(state).terms;
      }
    }
    return state.terms as CompiledQuery['terms'];
  },
  enumerable: true,
  configurable: true,
};

/**
 * A CompiledQuery that compiles on first use: the outline answers the routing questions, and
 * the first call to anything else compiles the query and hands every later call straight to it.
 */
export function lazyQuery(outline: QueryOutline, compileNow: () => CompiledQuery): CompiledQuery {
  const lazy = { type: outline.type, categories: outline.categories === null ? null : new Set(outline.categories) } as Record<string, unknown>;
  Object.defineProperty(lazy, 'anchors', LAZY_ANCHORS);
  Object.defineProperty(lazy, 'terms', LAZY_TERMS);
  const q = lazy as unknown as CompiledQuery;
  const state: LazyState = { outline, compileNow, real: null, terms: null, lazy: q };
  lazy.needles = outline.needles;
  lazy.relevant = (ev: EventDoc) => compiled(state).relevant(ev);
  lazy.writeAnswers = (ev: EventDoc, out: unknown[]) => compiled(state).writeAnswers(ev, out);
  lazy.createRun = (onResult?: (result: QueryResult) => void) => compiled(state).createRun(onResult);
  lazy.run = (events: Iterable<EventDoc>) => compiled(state).run(events);
  lazy.runAsync = (events: AsyncIterable<EventDoc>) => compiled(state).runAsync(events);
  lazyStates.set(lazy, state);
  return q;
}

/** The cache file of one engine build. */
export function outlineFile(fingerprint: string): string {
  return `outlines-${fingerprint.slice(0, 16)}.json`;
}

/** The file of the outlines' terms of one engine build (beside outlineFile's). */
export function outlineTermsFile(fingerprint: string): string {
  return `outline-terms-${fingerprint.slice(0, 16)}.json`;
}

/** Cache files of this many builds are kept (the most recently written). */
const KEEP_BUILDS = 4;

const opened = new Map<string, OutlineCache>();

/** The process's outline cache for `dir` (opened once). */
export function outlineCacheAt(dir: string): OutlineCache {
  let c = opened.get(dir);
  if (!c) opened.set(dir, (c = new OutlineCache(dir, engineFingerprint())));
  return c;
}

/** Writes the new outlines of every cache this process opened (see OutlineCache.save). */
export function saveOutlines(): void {
  for (const c of opened.values()) c.save();
}

let fingerprint: string | null = null;

/**
 * What an outline depends on besides the query: the build of eqlite (util/build-id.ts: any
 * upgrade or rebuild during development changes it) and the ECS field types, so outlines another
 * build computed are never reused.
 */
export function engineFingerprint(): string {
  if (fingerprint !== null) return fingerprint;
  return (fingerprint = createHash('sha256').update(buildId()).update('\0').update(String(ecsVersion())).digest('base64url'));
}

function ecsVersion(): string {
  try {
    return (createRequire(import.meta.url)('@elastic/ecs/package.json') as { version: string }).version;
  } catch {
    return '';
  }
}

/** The digest of the last options OutlineCache.key saw. */
let keyBase: { opts: string; digest: string } | undefined;

interface OutlineFile {
  eqlite: string;
  outlines: Record<string, StoredEntry>;
}

interface TermsFile {
  eqlite: string;
  /** Per key, the outline's terms as JSON text. */
  terms: Record<string, string>;
}

/** Outlines of one process, backed by a file in `dir` (and their terms by a second one). */
export class OutlineCache {
  private readonly file: string;
  private readonly termsFile: string;
  private readonly entries: Map<string, StoredEntry>;
  /** Terms text by key: the terms file's, once read, and those of outlines set by this process. */
  private terms: Map<string, string> | null = null;
  /** Terms text of the outlines set by this process, to be saved. */
  private readonly newTerms = new Map<string, string>();
  private dirty = false;

  constructor(
    readonly dir: string,
    private readonly version: string,
  ) {
    this.file = path.join(dir, outlineFile(version));
    this.termsFile = path.join(dir, outlineTermsFile(version));
    this.entries = new Map();
    this.readInto(this.entries);
  }

  /** Adds the file's entries that `into` lacks (none when it is missing, damaged or not ours). */
  private readInto(into: Map<string, StoredEntry>): void {
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8')) as OutlineFile;
      if (data && data.eqlite === this.version && data.outlines && typeof data.outlines === 'object') {
        for (const [k, v] of Object.entries(data.outlines)) if (!into.has(k) && isStored(v)) into.set(k, v);
      }
    } catch {
      // No cache yet, or not ours: nothing to add.
    }
  }

  /** Adds the terms file's entries that `into` lacks (none when it is missing, damaged or not ours). */
  private readTermsInto(into: Map<string, string>): void {
    try {
      const data = JSON.parse(readFileSync(this.termsFile, 'utf8')) as TermsFile;
      if (data && data.eqlite === this.version && data.terms && typeof data.terms === 'object') {
        for (const [k, v] of Object.entries(data.terms)) if (!into.has(k) && typeof v === 'string') into.set(k, v);
      }
    } catch {
      // No terms yet, or not ours: nothing to add.
    }
  }

  /** The terms of the stored outline `key` (the terms file is read on the first call); throws when there are none or they do not parse. */
  storedTerms(key: string): TermOutline[] {
    if (this.terms === null) {
      this.terms = new Map(this.newTerms);
      this.readTermsInto(this.terms);
    }
    const text = this.terms.get(key);
    if (text === undefined) throw new Error(`no terms for outline ${key}`);
    return JSON.parse(text) as TermOutline[];
  }

  /**
   * The key of a query's outline: the digest of the options that change it (22 characters of
   * base64url, 132 bits: a hunt has a few sets of options) followed by the sha256 of the query's
   * text, `queryDigest` (base64url: rules/query-digest.ts, which a rule-set snapshot carries, so
   * that a hunt does not digest a thousand queries at every start).
   */
  static key(queryDigest: string, options: unknown): string {
    // The options are the same for every rule of a hunt: their digest is computed once.
    const opts = JSON.stringify(options);
    if (keyBase?.opts !== opts) keyBase = { opts, digest: createHash('sha256').update(opts).digest('base64url').slice(0, 22) };
    return keyBase.digest + queryDigest;
  }

  get(key: string): CachedOutline | undefined {
    const e = this.entries.get(key);
    return e === undefined || 'error' in e ? e : fromStored(e, this, key);
  }

  set(key: string, value: CachedOutline): void {
    if ('error' in value) this.entries.set(key, value);
    else {
      const stored: StoredOutline = { type: value.type, categories: value.categories, needles: value.needles };
      if (value.fields !== undefined) stored.fields = value.fields;
      this.entries.set(key, stored);
      const text = JSON.stringify(value.terms);
      this.newTerms.set(key, text);
      this.terms?.set(key, text);
    }
    this.dirty = true;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Writes new outlines (atomically: a temporary file renamed); problems are not fatal. */
  save(): void {
    if (!this.dirty) return;
    try {
      mkdirSync(this.dir, { recursive: true });
      // Another process of the same build may have added outlines since this one read the files.
      // The terms first: an outline whose terms are not found costs a compile, never a wrong result.
      this.readInto(this.entries);
      if (this.newTerms.size > 0) {
        const terms = new Map(this.newTerms);
        this.readTermsInto(terms);
        const termsData: TermsFile = { eqlite: this.version, terms: Object.fromEntries(terms) };
        const termsTmp = `${this.termsFile}.${process.pid}.tmp`;
        writeFileSync(termsTmp, JSON.stringify(termsData));
        renameSync(termsTmp, this.termsFile);
      }
      const tmp = `${this.file}.${process.pid}.tmp`;
      const data: OutlineFile = { eqlite: this.version, outlines: Object.fromEntries(this.entries) };
      writeFileSync(tmp, JSON.stringify(data));
      renameSync(tmp, this.file);
      this.dirty = false;
      this.prune();
    } catch {
      // A read-only or full disk only costs the next start-up its speed.
    }
  }

  /**
   * Removes the files of all but the KEEP_BUILDS most recently written builds (and the old single
   * file), and terms files whose outline file is not kept.
   */
  private prune(): void {
    const names = readdirSync(this.dir);
    const files = names
      .filter((f) => /^outlines(-[\w-]+)?\.json$/.test(f))
      .map((f) => ({ f, t: statSync(path.join(this.dir, f)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    const own = path.basename(this.file);
    const keep = new Set([own, ...files.filter(({ f }) => f !== own).slice(0, KEEP_BUILDS - 1).map(({ f }) => f)]);
    for (const { f } of files) if (!keep.has(f)) rmSync(path.join(this.dir, f), { force: true });
    for (const f of names) {
      const m = /^outline-terms-([\w-]+)\.json$/.exec(f);
      if (m !== null && !keep.has(`outlines-${m[1]}.json`)) rmSync(path.join(this.dir, f), { force: true });
    }
  }
}
