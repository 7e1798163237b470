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
import { createHash, type Hash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { copyAnchor } from './anchors.js';
import { buildId } from '../util/build-id.js';
import type { CompiledQuery, TermOutline } from './types.js';

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
}

/** A cached outcome: the outline, or the message of the error compiling the query gave. */
export type CachedOutline = QueryOutline | { error: string };

/**
 * An outline as the cache file holds it: its terms as JSON text, parsed when first asked for.
 * They are most of the file's bytes and objects, and a hunt whose router index is kept
 * (detect/router-cache.ts) never reads them.
 */
interface StoredOutline {
  type: CompiledQuery['type'];
  categories: string[] | null;
  needles: string[] | null;
  terms: string;
}
type StoredEntry = StoredOutline | { error: string };

/** The outline a stored one stands for; its terms are parsed when first read (throws if they do not parse). */
function fromStored(e: StoredOutline): QueryOutline {
  let terms: TermOutline[] | undefined;
  return {
    type: e.type,
    categories: e.categories,
    needles: e.needles,
    get terms(): TermOutline[] {
      return (terms ??= JSON.parse(e.terms) as TermOutline[]);
    },
  };
}

function isStored(v: unknown): v is StoredEntry {
  if (v === null || typeof v !== 'object') return false;
  const e = v as Record<string, unknown>;
  return typeof e.error === 'string' || (typeof e.type === 'string' && typeof e.terms === 'string');
}

export function outlineOf(q: CompiledQuery): QueryOutline {
  return {
    type: q.type,
    categories: q.categories === null ? null : [...q.categories],
    terms: q.terms.map((t) => ({ category: t.category, anchors: t.anchors === null ? null : t.anchors.map(copyAnchor) })),
    needles: q.needles === null ? null : [...q.needles],
  };
}

/**
 * A CompiledQuery that compiles on first use: the outline answers the routing questions, and
 * the first call to anything else compiles the query and hands every later call straight to it.
 */
export function lazyQuery(outline: QueryOutline, compileNow: () => CompiledQuery): CompiledQuery {
  let real: CompiledQuery | null = null;
  const get = (): CompiledQuery => {
    if (real === null) {
      real = compileNow();
      lazy.relevant = real.relevant;
      lazy.writeAnswers = real.writeAnswers;
      lazy.createRun = real.createRun;
      lazy.run = real.run;
      lazy.runAsync = real.runAsync;
    }
    return real;
  };
  let terms: readonly TermOutline[] | null = null;
  const lazy: CompiledQuery = {
    type: outline.type,
    categories: outline.categories === null ? null : new Set(outline.categories),
    get anchors() {
      return get().anchors;
    },
    // Read when a router's index is built: from the outline, or — should the cached text not
    // parse — from the query compiled.
    get terms() {
      if (terms === null) {
        try {
          terms = outline.terms;
        } catch {
          terms = get().terms;
        }
      }
      return terms;
    },
    needles: outline.needles,
    relevant: (ev) => get().relevant(ev),
    writeAnswers: (ev, out) => get().writeAnswers(ev, out),
    createRun: (onResult) => get().createRun(onResult),
    run: (events) => get().run(events),
    runAsync: (events) => get().runAsync(events),
  };
  return lazy;
}

/** The cache file of one engine build. */
export function outlineFile(fingerprint: string): string {
  return `outlines-${fingerprint.slice(0, 16)}.json`;
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

/** The digest of the last options OutlineCache.key saw, to be copied for each query. */
let keyBase: { opts: string; hash: Hash } | undefined;

interface OutlineFile {
  eqlite: string;
  outlines: Record<string, StoredEntry>;
}

/** Outlines of one process, backed by a file in `dir`. */
export class OutlineCache {
  private readonly file: string;
  private readonly entries: Map<string, StoredEntry>;
  private dirty = false;

  constructor(
    readonly dir: string,
    private readonly version: string,
  ) {
    this.file = path.join(dir, outlineFile(version));
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

  static key(query: string, options: unknown): string {
    // The options are the same for every rule of a hunt: their part of the digest is computed
    // once and copied (a thousand createHash calls were a tenth of preparing the rules).
    const opts = JSON.stringify(options);
    if (keyBase?.opts !== opts) keyBase = { opts, hash: createHash('sha256').update(opts).update('\0') };
    return keyBase.hash.copy().update(query).digest('base64url');
  }

  get(key: string): CachedOutline | undefined {
    const e = this.entries.get(key);
    return e === undefined || 'error' in e ? e : fromStored(e);
  }

  set(key: string, value: CachedOutline): void {
    this.entries.set(key, 'error' in value ? value : { type: value.type, categories: value.categories, needles: value.needles, terms: JSON.stringify(value.terms) });
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
      // Another process of the same build may have added outlines since this one read the file.
      this.readInto(this.entries);
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

  /** Removes the files of all but the KEEP_BUILDS most recently written builds (and the old single file). */
  private prune(): void {
    const files = readdirSync(this.dir)
      .filter((f) => /^outlines(-[\w-]+)?\.json$/.test(f))
      .map((f) => ({ f, t: statSync(path.join(this.dir, f)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    const own = path.basename(this.file);
    const keep = new Set([own, ...files.filter(({ f }) => f !== own).slice(0, KEEP_BUILDS - 1).map(({ f }) => f)]);
    for (const { f } of files) if (!keep.has(f)) rmSync(path.join(this.dir, f), { force: true });
  }
}
