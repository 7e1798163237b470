// Start-up without compiling: what a router needs to know about a query before any event arrives
// (its type, categories, anchors and needles — its outline) is small, plain data, and can be kept
// on disk between runs. A query whose outline is known is compiled lazily, the first time an event
// reaches it, so a hunt with a thousand rules starts reading at once and never compiles the rules
// no event reaches.
//
// The outline cache is a JSON file per eqlite version (OUTLINE_FILE in the cache directory),
// keyed by a digest of the query text and the options that change its outline. It is read once
// per process; new outlines are written back by `saveOutlines()` (the CLI calls it after a run).
// A damaged or foreign file is ignored and replaced.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Anchor } from './anchors.js';
import type { CompiledQuery } from './types.js';

export interface QueryOutline {
  type: CompiledQuery['type'];
  categories: string[] | null;
  anchors: Anchor[] | null;
  needles: string[] | null;
}

/** A cached outcome: the outline, or the message of the error compiling the query gave. */
export type CachedOutline = QueryOutline | { error: string };

export function outlineOf(q: CompiledQuery): QueryOutline {
  return {
    type: q.type,
    categories: q.categories === null ? null : [...q.categories],
    anchors: q.anchors === null ? null : q.anchors.map((a) => ({ field: a.field, values: [...a.values], caseInsensitive: a.caseInsensitive })),
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
      lazy.createRun = real.createRun;
      lazy.run = real.run;
      lazy.runAsync = real.runAsync;
    }
    return real;
  };
  const lazy: CompiledQuery = {
    type: outline.type,
    categories: outline.categories === null ? null : new Set(outline.categories),
    anchors: outline.anchors,
    needles: outline.needles,
    relevant: (ev) => get().relevant(ev),
    createRun: (onResult) => get().createRun(onResult),
    run: (events) => get().run(events),
    runAsync: (events) => get().runAsync(events),
  };
  return lazy;
}

export const OUTLINE_FILE = 'outlines.json';

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
 * What an outline depends on besides the query: the code of the parser and the engine (and the
 * ECS field types), identified by a digest of the modules' own text, so an upgrade — or a
 * rebuild during development — never reuses outlines another build computed.
 */
export function engineFingerprint(): string {
  if (fingerprint !== null) return fingerprint;
  const h = createHash('sha256');
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const dir of [here, path.join(here, '..', 'eql')]) {
    let names: string[] = [];
    try {
      names = readdirSync(dir).filter((f) => /\.[cm]?[jt]s$/.test(f) && !f.endsWith('.d.ts')).sort();
    } catch {
      // not laid out as built: the names below still count
    }
    for (const f of names) h.update(f).update(readFileSync(path.join(dir, f)));
  }
  h.update(String(ecsVersion()));
  return (fingerprint = h.digest('base64url'));
}

function ecsVersion(): string {
  try {
    return (createRequire(import.meta.url)('@elastic/ecs/package.json') as { version: string }).version;
  } catch {
    return '';
  }
}

interface OutlineFile {
  eqlite: string;
  outlines: Record<string, CachedOutline>;
}

/** Outlines of one process, backed by a file in `dir`. */
export class OutlineCache {
  private readonly file: string;
  private readonly entries: Map<string, CachedOutline>;
  private dirty = false;

  constructor(
    readonly dir: string,
    private readonly version: string,
  ) {
    this.file = path.join(dir, OUTLINE_FILE);
    this.entries = new Map();
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8')) as OutlineFile;
      if (data && data.eqlite === version && data.outlines && typeof data.outlines === 'object') {
        for (const [k, v] of Object.entries(data.outlines)) this.entries.set(k, v);
      }
    } catch {
      // No cache yet, or not ours: start empty.
    }
  }

  static key(query: string, options: unknown): string {
    return createHash('sha256').update(JSON.stringify(options)).update('\0').update(query).digest('base64url');
  }

  get(key: string): CachedOutline | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: CachedOutline): void {
    this.entries.set(key, value);
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
      const tmp = `${this.file}.${process.pid}.tmp`;
      const data: OutlineFile = { eqlite: this.version, outlines: Object.fromEntries(this.entries) };
      writeFileSync(tmp, JSON.stringify(data));
      renameSync(tmp, this.file);
      this.dirty = false;
    } catch {
      // A read-only or full disk only costs the next start-up its speed.
    }
  }
}
