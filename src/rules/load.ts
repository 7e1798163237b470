// Loads detection rules and exception lists from the formats users actually have:
//  * elastic/detection-rules TOML files (`[metadata]` + `[rule]`), singly or as directory trees;
//  * Kibana "Export rules" NDJSON (rules, exception list containers, exception items, action
//    connectors and the final `{"exported_count": ...}` summary line);
//  * JSON files holding one rule object or an array of them.
// Loading never throws for bad input: every problem becomes a `skipped` entry with file:line and
// the reason, so one broken file does not hide the other 2,000 rules.

import { readdirSync, realpathSync, statSync, type Dirent, type Stats } from 'node:fs';
import { cachedRuleLoad, type RuleCarrier } from './snapshot.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type * as SmolToml from 'smol-toml';
import { textPosition } from './position.js';
import { countInto, setOwn } from '../util/own.js';
import { decodeText } from '../util/text.js';
import { fileTypeName, readFileCapped } from '../util/files.js';
import { nestedDeeperThan } from '../util/depth.js';
import type {
  ExceptionEntry,
  ExceptionItem,
  ExceptionList,
  ExceptionListRef,
  QueryLocation,
  Rule,
  RuleOrigin,
  Threat,
} from './types.js';

// The TOML parser is loaded when the first TOML file is read: rules from NDJSON or JSON (a
// Kibana export, the bundled set) do not load it.
const require = createRequire(import.meta.url);
let toml: typeof SmolToml | undefined;
const tomlModule = (): typeof SmolToml => (toml ??= require('smol-toml') as typeof SmolToml);

export interface SkippedRule {
  file: string;
  line?: number;
  column?: number;
  reason: string;
  /** Rule type when known (deprecated rules, invalid rules). */
  type?: string;
  rule_id?: string;
  /** `deprecated`: intentionally not loaded; `invalid`: the file or object could not be used. */
  kind: 'deprecated' | 'invalid';
}

/** `file:line:column` of a skipped entry, as much of it as is known, for one-line reports. */
export function skippedPlace(s: SkippedRule): string {
  return s.file + (s.line ? `:${s.line}${s.column ? `:${s.column}` : ''}` : '');
}

export interface LoadCounts {
  /** Files read (rule files found in directories plus files named directly). */
  files: number;
  /** Rules returned, all types. */
  rules: number;
  /** Returned rules eqlite can run (type eql). */
  eql: number;
  /** Returned rules by type, e.g. `{eql: 1024, query: 454}`. */
  byType: Record<string, number>;
  deprecated: number;
  invalid: number;
  exceptionLists: number;
  exceptionItems: number;
  /** Kibana action connector saved objects seen in exports (not used by eqlite). */
  connectors: number;
  /** Kibana export summary lines recognised. */
  exportSummaries: number;
}

export interface LoadResult {
  rules: Rule[];
  exceptionLists: ExceptionList[];
  skipped: SkippedRule[];
  counts: LoadCounts;
}

export interface LoadOptions {
  /** Also return deprecated rules (`rules/_deprecated/`, maturity deprecated) instead of skipping them. */
  includeDeprecated?: boolean;
  /**
   * Cache directory for rule-set snapshots (snapshot.ts): loading files seen before is one read
   * of their snapshot. Absent: every file is parsed.
   */
  cache?: string;
}

/** Kibana's defaults for fields a rule may leave out (create-rule API and rule schemas). */
export const RULE_DEFAULTS = {
  from: 'now-6m',
  to: 'now',
  interval: '5m',
  max_signals: 100,
  version: 1,
} as const;

const SEVERITIES = new Set(['low', 'medium', 'high', 'critical']);
const RULE_FILE_EXTENSIONS = new Set(['.toml', '.ndjson', '.jsonl', '.json']);

/** Rule keys that map onto named `Rule` properties; every other key is kept in `extra`. */
const MODEL_KEYS = new Set([
  'rule_id', 'name', 'type', 'language', 'query', 'index', 'from', 'to', 'interval', 'max_signals',
  'severity', 'risk_score', 'description', 'threat', 'tags', 'note', 'setup', 'references',
  'building_block_type', 'timestamp_override', 'timestamp_override_fallback_disabled',
  'event_category_override', 'tiebreaker_field', 'exceptions_list', 'version', 'author', 'license',
  'enabled',
]);

/** Path of the rules bundled with eqlite (`rules/` at the package root), from src/ or dist/. */
export function defaultRulesDir(): string {
  // This file is src/rules/load.ts under tsx and dist/rules/load.js when built: both are two
  // levels below the package root.
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'rules');
}

/** Where a LoadResult keeps its rules (for the snapshot's cold fields, see snapshot.ts). */
export const LOADED_RULES: RuleCarrier<LoadResult> = {
  rules: (v) => v.rules,
  withRules: (v, rules) => ({ ...v, rules }),
};

/** Loads every rule, exception list and exception item found under `paths`. */
export function loadRules(paths: string[], opts: LoadOptions = {}): LoadResult {
  if (opts.cache !== undefined) {
    const options = { includeDeprecated: opts.includeDeprecated === true };
    return cachedRuleLoad(opts.cache, 'rules', paths, options, (listing) => planRuleFiles(paths, listing), (steps, read) => loadPlanned(steps, opts, read), LOADED_RULES);
  }
  return loadPlanned(planRuleFiles(paths), opts, readFileCapped);
}

/**
 * One step of loading a set of paths, in order: a rule file to read (with what `stat` said of it
 * when the paths were listed), or a problem found while listing them (reported as it is).
 */
export type LoadStep = { file: string; stat: Stats } | { problem: { file: string; reason: string } };

/**
 * What a walk of rule paths saw besides the files: every directory it stat-ed (a given path, or
 * one found on the way), and whether the walk can be replayed from those directories' stat data
 * (see snapshot.ts): not once it met a symbolic link — whose target may change with no directory
 * of the walk changing — or a problem.
 */
export interface Listing {
  dirs: { path: string; stat: Stats }[];
  replayable: boolean;
}

/**
 * What loading `paths` reads, in order: every rule file once (however many links or paths lead to
 * it), and the problems met listing them. Loading is then a function of these files' bytes, so
 * a rule-set snapshot (snapshot.ts) can stand in for it while the files are unchanged.
 */
export function planRuleFiles(paths: readonly string[], listing: Listing = { dirs: [], replayable: true }): LoadStep[] {
  const steps: LoadStep[] = [];
  const seen = new Set<string>();
  for (const p of paths) {
    let st: Stats;
    try {
      st = statSync(p);
    } catch (e) {
      steps.push({ problem: { file: p, reason: `cannot read: ${errorText(e)}` } });
      listing.replayable = false;
      continue;
    }
    if (st.isDirectory()) {
      listing.dirs.push({ path: p, stat: st });
      listRuleFiles(p, seen, steps, listing);
    } else if (!seen.has(realpathOr(p))) {
      // A file named on the command line is read whatever it is: a FIFO (`-r <(…)`) streams.
      seen.add(realpathOr(p));
      steps.push({ file: p, stat: st });
    }
  }
  return steps;
}

/** Loads what planRuleFiles found, reading each file with `read`. */
export function loadPlanned(steps: readonly LoadStep[], opts: LoadOptions, read: (file: string) => Buffer): LoadResult {
  const ctx = new LoadContext(opts, read);
  for (const step of steps) {
    if ('problem' in step) ctx.invalid(step.problem);
    else ctx.loadFile(step.file);
  }
  return ctx.finish();
}

function realpathOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/**
 * Rule files below `dir`, recursively, in sorted order, appended to `steps`; hidden entries and
 * `*.test` folders (a rule's test cases and events, see src/ruletest) are ignored. Only regular
 * files are read (a FIFO would block forever); each directory and file is visited once however
 * many links lead to it, so a symlink loop cannot load a rule twice. Unreadable directories and
 * entries that are not regular files are added as problems and skipped.
 */
function listRuleFiles(dir: string, seen: Set<string>, steps: LoadStep[], listing: Listing): void {
  const problem = (file: string, reason: string) => {
    steps.push({ problem: { file, reason } });
    listing.replayable = false;
  };
  const walk = (d: string) => {
    const real = realpathOr(d);
    if (seen.has(real)) return;
    seen.add(real);
    let entries: Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch (e) {
      problem(d, `cannot read directory: ${errorText(e)}; skipped`);
      return;
    }
    // Sorted by name as Array.prototype.sort sorts strings (UTF-16 code units).
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // Paths are joined by hand, as path.join(d, name) would (a name holds no separator and is
    // neither . nor ..): path.join and path.extname for each of the 2,000 files of the installed
    // rule set were a sixth of this walk, which every hunt with those rules pays before its
    // rule-set snapshot is used.
    const prefixOf = (dir: string) => path.join(dir, 'x').slice(0, -1);
    const dirPrefix = prefixOf(d);
    const realPrefix = prefixOf(real);
    for (const entry of entries) {
      const name = entry.name;
      if (name.startsWith('.')) continue;
      const full = dirPrefix + name;
      const dot = name.lastIndexOf('.');
      const isRuleFile = dot > 0 && RULE_FILE_EXTENSIONS.has(name.slice(dot).toLowerCase());
      if (!isRuleFile && !entry.isDirectory() && !entry.isSymbolicLink()) continue;
      if (entry.isSymbolicLink()) listing.replayable = false;
      let st: Stats;
      try {
        st = statSync(full);
      } catch (e) {
        if (isRuleFile) problem(full, (e as NodeJS.ErrnoException).code === 'ELOOP' ? 'symbolic link loop; skipped' : `cannot read: ${errorText(e)}`);
        continue;
      }
      if (st.isDirectory()) {
        listing.dirs.push({ path: full, stat: st });
        if (!name.toLowerCase().endsWith('.test')) walk(full);
      } else if (!isRuleFile) continue;
      else if (!st.isFile()) problem(full, `${fileTypeName(st)}, not a regular file; only regular files are read from rule directories`);
      else {
        // Only a link needs resolving: any other entry's real path is its directory's plus its name.
        const key = entry.isSymbolicLink() ? realpathOr(full) : realPrefix + name;
        if (seen.has(key)) continue;
        seen.add(key);
        steps.push({ file: full, stat: st });
      }
    }
  };
  walk(dir);
}

class LoadContext {
  readonly rules: Rule[] = [];
  readonly skipped: SkippedRule[] = [];
  readonly lists = new Map<string, ExceptionList>();
  readonly seen = new Map<string, RuleOrigin>();
  files = 0;
  connectors = 0;
  exportSummaries = 0;
  deprecated = 0;

  constructor(
    readonly opts: LoadOptions,
    private readonly read: (file: string) => Buffer,
  ) {}

  invalid(s: Omit<SkippedRule, 'kind'>): void {
    this.skipped.push({ ...s, kind: 'invalid' });
  }

  loadFile(file: string): void {
    this.files++;
    let text: string;
    try {
      // UTF-8 or UTF-16 (a BOM is dropped); UTF-32 is refused naming the encoding.
      text = decodeText(this.read(file));
    } catch (e) {
      this.invalid({ file, reason: `cannot read: ${errorText(e)}` });
      return;
    }
    const ext = path.extname(file).toLowerCase();
    if (ext === '.toml') this.loadToml(file, text);
    else if (ext === '.json') this.loadJson(file, text);
    else if (ext === '.ndjson' || ext === '.jsonl') this.loadNdjson(file, text);
    else if (/^\s*[[{]/.test(text)) {
      // A file named on the command line with an unknown extension: JSON if it looks like it.
      if (/^\s*\{[^\n]*\}\s*\n\s*\{/.test(text)) this.loadNdjson(file, text);
      else this.loadJson(file, text);
    } else this.loadToml(file, text);
  }

  loadToml(file: string, text: string): void {
    let doc: Record<string, unknown>;
    try {
      doc = tomlModule().parse(text) as Record<string, unknown>;
    } catch (e) {
      if (e instanceof tomlModule().TomlError) {
        const msg = e.message.split('\n')[0]!.replace(/^Invalid TOML document:\s*/, '');
        this.invalid({ file, line: e.line, column: e.column, reason: `TOML syntax error: ${msg}` });
      } else this.invalid({ file, reason: `TOML syntax error: ${errorText(e)}` });
      return;
    }
    try {
      doc = plain(doc) as Record<string, unknown>;
    } catch (e) {
      if (!(e instanceof TomlDepthError)) throw e;
      this.invalid({ file, reason: e.message });
      return;
    }
    const ruleTable = doc['rule'];
    if (!isObject(ruleTable)) {
      this.invalid({ file, line: 1, reason: 'no [rule] table: not a detection-rules rule file' });
      return;
    }
    const meta = isObject(doc['metadata']) ? doc['metadata'] : {};
    const located = locateTomlQuery(text);
    const origin: RuleOrigin = { file, line: located.ruleLine };
    if (typeof meta['maturity'] === 'string') origin.maturity = meta['maturity'];
    if (located.query) origin.query = located.query;
    const extra: Record<string, unknown> = {};
    if (doc['metadata'] !== undefined) extra['metadata'] = doc['metadata'];
    for (const k of Object.keys(doc)) if (k !== 'rule' && k !== 'metadata') setOwn(extra, k, doc[k]);
    this.addRule(ruleTable, origin, extra, deprecationReason(file, origin.maturity, false));
  }

  loadJson(file: string, text: string): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      // The file may really be NDJSON with a .json name (Kibana exports are often renamed).
      if (/^\s*\{[^\n]*\}\s*\r?\n\s*\{/.test(text)) return this.loadNdjson(file, text);
      this.invalid({ file, ...jsonErrorPosition(text, e), reason: `JSON syntax error: ${errorText(e)}` });
      return;
    }
    const objects = Array.isArray(value) ? value : [value];
    // Objects of a pretty-printed file are found by their text to give each a line number.
    let searchFrom = 0;
    for (const obj of objects) {
      let line: number | undefined;
      if (isObject(obj) && typeof obj['rule_id'] === 'string') {
        const at = text.indexOf(JSON.stringify(obj['rule_id']), searchFrom);
        if (at >= 0) {
          line = textPosition(text, at).line;
          searchFrom = at;
        }
      }
      this.loadObject(file, text, obj, line, 0, 1);
    }
  }

  loadNdjson(file: string, text: string): void {
    const lines = text.split('\n');
    let offset = 0;
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i]!;
      const lineStart = offset;
      offset += raw.length + 1;
      if (raw.trim() === '') continue;
      let obj: unknown;
      try {
        obj = JSON.parse(raw);
      } catch (e) {
        const pos = jsonErrorPosition(raw, e);
        this.invalid({ file, line: i + 1, column: pos.column, reason: `JSON syntax error: ${errorText(e)}` });
        continue;
      }
      this.loadObject(file, text, obj, i + 1, lineStart, i + 1);
    }
  }

  /**
   * Classifies one object of an export / JSON file and loads it. `from` is an offset in `text`
   * where the object's text starts or precedes it, on line `fromLine`.
   */
  loadObject(file: string, text: string, obj: unknown, line: number | undefined, from: number, fromLine: number): void {
    if (!isObject(obj)) {
      this.invalid({ file, line, reason: 'expected a JSON object' });
      return;
    }
    // As for TOML: nothing in a rule nests deeply, and what does must not reach code that walks
    // rules recursively (alert parameters, filters).
    if (nestedDeeperThan(obj, MAX_RULE_DEPTH)) {
      this.invalid({ file, line, reason: `JSON nested deeper than ${MAX_RULE_DEPTH} levels` });
      return;
    }
    if ('exported_count' in obj && !('type' in obj)) {
      this.exportSummaries++;
      return;
    }
    if (obj['type'] === 'action' && isObject(obj['attributes'])) {
      this.connectors++;
      return;
    }
    if ('item_id' in obj || ('entries' in obj && 'list_id' in obj)) {
      this.addExceptionItem(file, line, obj);
      return;
    }
    if ('list_id' in obj && !('rule_id' in obj) && !('query' in obj)) {
      this.addExceptionList(file, line, obj);
      return;
    }
    if ('rule_id' in obj || ('type' in obj && 'name' in obj)) {
      const origin: RuleOrigin = { file };
      if (line !== undefined) origin.line = line;
      if (typeof obj['maturity'] === 'string') origin.maturity = obj['maturity'];
      if (typeof obj['query'] === 'string') {
        const q = locateJsonString(text, obj['query'], from, fromLine);
        if (q) origin.query = q;
      }
      this.addRule(obj, origin, {}, deprecationReason(
        typeof obj['file'] === 'string' ? obj['file'] : file, origin.maturity, obj['deprecated'] === true));
      return;
    }
    this.invalid({ file, line, reason: 'unrecognised object: neither a rule, an exception list/item nor an export summary' });
  }

  addRule(raw: Record<string, unknown>, origin: RuleOrigin, extra: Record<string, unknown>, deprecated: string | null): void {
    const type = typeof raw['type'] === 'string' ? raw['type'] : undefined;
    const ruleId = typeof raw['rule_id'] === 'string' ? raw['rule_id'] : undefined;
    if (deprecated && !this.opts.includeDeprecated) {
      this.deprecated++;
      this.skipped.push({ file: origin.file, line: origin.line, reason: deprecated, type, rule_id: ruleId, kind: 'deprecated' });
      return;
    }
    const built = buildRule(raw, origin, extra);
    if (typeof built === 'string') {
      this.invalid({ file: origin.file, line: origin.line, reason: built, type, rule_id: ruleId });
      return;
    }
    const first = this.seen.get(built.rule_id);
    if (first) {
      this.invalid({
        file: origin.file, line: origin.line, type, rule_id: built.rule_id,
        reason: `duplicate rule_id ${built.rule_id} (first loaded from ${first.file}${first.line ? `:${first.line}` : ''})`,
      });
      return;
    }
    this.seen.set(built.rule_id, origin);
    this.rules.push(built);
  }

  listFor(listId: string, namespace: 'single' | 'agnostic'): ExceptionList {
    const key = `${namespace}:${listId}`;
    let list = this.lists.get(key);
    if (!list) {
      list = { list_id: listId, name: listId, namespace_type: namespace, type: 'detection', items: [] };
      // Items may come before their container or without one (hand-written files); the
      // container line, when it comes, fills in name, type and ids.
      this.lists.set(key, list);
    }
    return list;
  }

  addExceptionList(file: string, line: number | undefined, obj: Record<string, unknown>): void {
    const listId = obj['list_id'];
    if (typeof listId !== 'string' || listId === '') {
      this.invalid({ file, line, reason: 'exception list without list_id' });
      return;
    }
    const ns = namespaceOf(obj['namespace_type']);
    if (!ns) {
      this.invalid({ file, line, reason: `exception list ${listId}: namespace_type must be "single" or "agnostic"` });
      return;
    }
    const list = this.listFor(listId, ns);
    const rest: Record<string, unknown> = {};
    for (const k of Object.keys(obj)) {
      if (!['list_id', 'id', 'name', 'namespace_type', 'type', 'description', 'os_types'].includes(k)) setOwn(rest, k, obj[k]);
    }
    if (typeof obj['id'] === 'string') list.id = obj['id'];
    if (typeof obj['name'] === 'string') list.name = obj['name'];
    if (typeof obj['type'] === 'string') list.type = obj['type'];
    if (typeof obj['description'] === 'string') list.description = obj['description'];
    if (isStringArray(obj['os_types'])) list.os_types = obj['os_types'];
    list.extra = rest;
    list.origin = line === undefined ? { file } : { file, line };
  }

  addExceptionItem(file: string, line: number | undefined, obj: Record<string, unknown>): void {
    const itemId = typeof obj['item_id'] === 'string' ? obj['item_id'] : undefined;
    const listId = obj['list_id'];
    const what = `exception item ${itemId ?? '(no item_id)'}`;
    if (typeof listId !== 'string' || listId === '') {
      this.invalid({ file, line, reason: `${what}: no list_id` });
      return;
    }
    const ns = namespaceOf(obj['namespace_type']);
    if (!ns) {
      this.invalid({ file, line, reason: `${what}: namespace_type must be "single" or "agnostic"` });
      return;
    }
    const entries = parseEntries(obj['entries'], false);
    if (typeof entries === 'string') {
      this.invalid({ file, line, reason: `${what}: ${entries}` });
      return;
    }
    if (obj['expire_time'] !== undefined && obj['expire_time'] !== null) {
      const t = obj['expire_time'];
      if (typeof t !== 'string' || Number.isNaN(Date.parse(t))) {
        this.invalid({ file, line, reason: `${what}: expire_time is not a date: ${JSON.stringify(t)}` });
        return;
      }
    }
    const item: ExceptionItem = {
      item_id: itemId ?? (typeof obj['id'] === 'string' ? obj['id'] : `${listId}#${line ?? 0}`),
      list_id: listId,
      name: typeof obj['name'] === 'string' ? obj['name'] : itemId ?? '',
      namespace_type: ns,
      entries,
    };
    if (typeof obj['expire_time'] === 'string') item.expire_time = obj['expire_time'];
    if (isStringArray(obj['os_types'])) item.os_types = obj['os_types'];
    if (typeof obj['type'] === 'string') item.type = obj['type'];
    if (typeof obj['description'] === 'string') item.description = obj['description'];
    const rest: Record<string, unknown> = {};
    for (const k of Object.keys(obj)) {
      if (!['item_id', 'list_id', 'name', 'namespace_type', 'entries', 'expire_time', 'os_types', 'type', 'description'].includes(k)) setOwn(rest, k, obj[k]);
    }
    item.extra = rest;
    item.origin = line === undefined ? { file } : { file, line };
    this.listFor(listId, ns).items.push(item);
  }

  finish(): LoadResult {
    const byType: Record<string, number> = {};
    let eql = 0;
    for (const r of this.rules) {
      countInto(byType, r.type);
      if (!r.unsupported) eql++;
    }
    const exceptionLists = [...this.lists.values()];
    return {
      rules: this.rules,
      exceptionLists,
      skipped: this.skipped,
      counts: {
        files: this.files,
        rules: this.rules.length,
        eql,
        byType,
        deprecated: this.deprecated,
        invalid: this.skipped.filter((s) => s.kind === 'invalid').length,
        exceptionLists: exceptionLists.length,
        exceptionItems: exceptionLists.reduce((n, l) => n + l.items.length, 0),
        connectors: this.connectors,
        exportSummaries: this.exportSummaries,
      },
    };
  }
}

/** Why a rule counts as deprecated, or null. */
function deprecationReason(file: string, maturity: string | undefined, flag: boolean): string | null {
  if (file.split(/[\\/]/).includes('_deprecated')) return 'deprecated rule (rules/_deprecated)';
  if (maturity === 'deprecated') return 'deprecated rule (maturity = "deprecated")';
  if (flag) return 'deprecated rule (deprecated = true)';
  return null;
}

/**
 * Turns a raw rule object into the model, applying Kibana's defaults. Returns the reason when
 * the object cannot be a rule (Kibana's import would reject it as well).
 */
export function buildRule(raw: Record<string, unknown>, origin: RuleOrigin, extraIn: Record<string, unknown> = {}): Rule | string {
  const get = (k: string): unknown => (raw[k] === null ? undefined : raw[k]);
  const str = (k: string): string | undefined | Error => {
    const v = get(k);
    if (v === undefined) return undefined;
    return typeof v === 'string' ? v : new Error(`${k} must be a string, got ${JSON.stringify(v)}`);
  };
  const strList = (k: string): string[] | Error => {
    const v = get(k);
    if (v === undefined) return [];
    return isStringArray(v) ? v : new Error(`${k} must be a list of strings`);
  };

  const ruleId = str('rule_id');
  const name = str('name');
  const type = str('type');
  for (const [k, v] of [['rule_id', ruleId], ['name', name], ['type', type]] as const) {
    if (v instanceof Error) return v.message;
    if (v === undefined || v === '') return `missing required field ${k}`;
  }
  const severity = str('severity');
  if (severity instanceof Error) return severity.message;
  if (severity === undefined) return 'missing required field severity';
  if (!SEVERITIES.has(severity)) return `severity must be low, medium, high or critical, got ${JSON.stringify(severity)}`;
  const risk = get('risk_score');
  if (risk === undefined) return 'missing required field risk_score';
  if (typeof risk !== 'number' || !Number.isInteger(risk) || risk < 0 || risk > 100) {
    return `risk_score must be an integer from 0 to 100, got ${JSON.stringify(risk)}`;
  }
  const maxSignals = get('max_signals') ?? RULE_DEFAULTS.max_signals;
  if (typeof maxSignals !== 'number' || !Number.isInteger(maxSignals) || maxSignals < 1) {
    return `max_signals must be a positive integer, got ${JSON.stringify(maxSignals)}`;
  }
  const version = get('version') ?? RULE_DEFAULTS.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    return `version must be a positive integer, got ${JSON.stringify(version)}`;
  }
  const texts: Record<string, string | undefined> = {};
  for (const k of ['language', 'query', 'from', 'to', 'interval', 'description', 'note', 'setup', 'building_block_type',
    'timestamp_override', 'event_category_override', 'tiebreaker_field', 'license']) {
    const v = str(k);
    if (v instanceof Error) return v.message;
    texts[k] = v;
  }
  const lists: Record<string, string[]> = {};
  for (const k of ['index', 'tags', 'references', 'author']) {
    const v = strList(k);
    if (v instanceof Error) return v.message;
    lists[k] = v;
  }
  const threat = get('threat') ?? [];
  if (!Array.isArray(threat) || !threat.every(isObject)) return 'threat must be a list of tables';
  for (const t of threat) {
    if (!isObject(t['tactic'])) return 'threat entry without a tactic';
  }
  const exceptionsList = get('exceptions_list') ?? [];
  if (!Array.isArray(exceptionsList)) return 'exceptions_list must be a list';
  const refs: ExceptionListRef[] = [];
  for (const ref of exceptionsList) {
    if (!isObject(ref) || typeof ref['list_id'] !== 'string') return 'exceptions_list entries need a list_id';
    const ns = namespaceOf(ref['namespace_type']);
    if (!ns) return `exceptions_list ${ref['list_id']}: namespace_type must be "single" or "agnostic"`;
    refs.push({
      id: typeof ref['id'] === 'string' ? ref['id'] : ref['list_id'],
      list_id: ref['list_id'],
      namespace_type: ns,
      type: typeof ref['type'] === 'string' ? ref['type'] : 'detection',
    });
  }
  for (const k of ['enabled', 'timestamp_override_fallback_disabled']) {
    const v = get(k);
    if (v !== undefined && typeof v !== 'boolean') return `${k} must be true or false`;
  }

  const extra: Record<string, unknown> = { ...extraIn };
  for (const k of Object.keys(raw)) {
    const v = raw[k];
    if (!MODEL_KEYS.has(k) && v !== null && v !== undefined) setOwn(extra, k, v);
  }

  const rule: Rule = {
    rule_id: ruleId as string,
    name: name as string,
    type: type as string,
    from: texts['from'] ?? RULE_DEFAULTS.from,
    to: texts['to'] ?? RULE_DEFAULTS.to,
    interval: texts['interval'] ?? RULE_DEFAULTS.interval,
    max_signals: maxSignals,
    severity,
    risk_score: risk,
    threat: threat as unknown as Threat[],
    tags: lists['tags']!,
    references: lists['references']!,
    exceptions_list: refs,
    version,
    author: lists['author']!,
    extra,
    origin,
  };
  const language = texts['language'] ?? defaultLanguage(rule.type);
  if (language !== undefined) rule.language = language;
  if (get('index') !== undefined) rule.index = lists['index']!;
  for (const k of ['query', 'description', 'note', 'setup', 'building_block_type', 'timestamp_override',
    'event_category_override', 'tiebreaker_field', 'license'] as const) {
    const v = texts[k];
    if (v !== undefined) rule[k] = v;
  }
  const enabled = get('enabled');
  if (typeof enabled === 'boolean') rule.enabled = enabled;
  const fallback = get('timestamp_override_fallback_disabled');
  if (typeof fallback === 'boolean') rule.timestamp_override_fallback_disabled = fallback;

  if (rule.type !== 'eql') rule.unsupported = `${rule.type} rule (not EQL)`;
  else if (rule.language !== 'eql') rule.unsupported = `eql rule with language ${rule.language}`;
  else if (rule.query === undefined || rule.query.trim() === '') return 'eql rule without a query';
  return rule;
}

/** Kibana's language default per rule type. */
function defaultLanguage(type: string): string | undefined {
  switch (type) {
    case 'eql':
      return 'eql';
    case 'esql':
      return 'esql';
    case 'query':
    case 'saved_query':
    case 'threshold':
    case 'threat_match':
    case 'new_terms':
      return 'kuery';
    default:
      return undefined;
  }
}

function namespaceOf(v: unknown): 'single' | 'agnostic' | null {
  if (v === undefined || v === null) return 'single';
  return v === 'single' || v === 'agnostic' ? v : null;
}

const OPERATORS = new Set(['included', 'excluded']);

/**
 * Validates exception entries against Kibana's entry schemas. Nested entries may only hold
 * match, match_any and exists entries (Kibana's `nestedEntryItem`).
 */
export function parseEntries(v: unknown, insideNested: boolean): ExceptionEntry[] | string {
  if (!Array.isArray(v) || v.length === 0) return 'entries must be a non-empty list';
  const out: ExceptionEntry[] = [];
  for (let i = 0; i < v.length; i++) {
    const e = v[i];
    const at = `entry ${i + 1}`;
    if (!isObject(e)) return `${at} is not an object`;
    const field = e['field'];
    if (typeof field !== 'string' || field === '') return `${at}: missing field`;
    const type = e['type'];
    if (type === 'nested') {
      if (insideNested) return `${at}: nested entries cannot contain nested entries`;
      const inner = parseEntries(e['entries'], true);
      if (typeof inner === 'string') return `${at} (nested ${field}): ${inner}`;
      out.push({ type: 'nested', field, entries: inner });
      continue;
    }
    const operator = e['operator'];
    if (typeof operator !== 'string' || !OPERATORS.has(operator)) return `${at}: operator must be "included" or "excluded"`;
    const op = operator as 'included' | 'excluded';
    if (insideNested && type !== 'match' && type !== 'match_any' && type !== 'exists') {
      return `${at}: ${String(type)} entries are not allowed inside nested entries`;
    }
    switch (type) {
      case 'match':
      case 'wildcard': {
        const value = e['value'];
        if (typeof value !== 'string' || value === '') return `${at}: ${type} needs a non-empty string value`;
        out.push({ type, field, operator: op, value });
        break;
      }
      case 'match_any': {
        const value = e['value'];
        if (!isStringArray(value) || value.length === 0) return `${at}: match_any needs a non-empty list of strings`;
        out.push({ type, field, operator: op, value });
        break;
      }
      case 'exists':
        out.push({ type, field, operator: op });
        break;
      case 'list': {
        const list = e['list'];
        if (!isObject(list) || typeof list['id'] !== 'string' || typeof list['type'] !== 'string') {
          return `${at}: list entries need list: {id, type}`;
        }
        out.push({ type, field, operator: op, list: { id: list['id'], type: list['type'] } });
        break;
      }
      default:
        return `${at}: unknown entry type ${JSON.stringify(type)}`;
    }
  }
  return out;
}

/**
 * Finds the `[rule]` table line and where `rule.query`'s text starts. A small line scanner that
 * knows about multi-line strings, so `[process where ...]` lines inside a query or a note are
 * never mistaken for table headers.
 */
export function locateTomlQuery(text: string): { ruleLine?: number; query?: QueryLocation } {
  const lines = text.split('\n');
  const starts: number[] = [];
  let off = 0;
  for (const l of lines) {
    starts.push(off);
    off += l.length + 1;
  }
  let table = '';
  let open: string | null = null;
  let ruleLine: number | undefined;
  let query: QueryLocation | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (open) {
      if (findClose(line, 0, open) >= 0) open = null;
      continue;
    }
    const header = /^\s*\[\[?\s*([^\]\[]+?)\s*\]\]?\s*(#.*)?\r?$/.exec(line);
    if (header) {
      table = header[1]!.replace(/\s*\.\s*/g, '.').replace(/["']/g, '');
      if (table === 'rule' && ruleLine === undefined) ruleLine = i + 1;
      continue;
    }
    const kv = /^(\s*)("?)([A-Za-z0-9_-]+)\2\s*=\s*/.exec(line);
    if (!kv) continue;
    const valueCol = kv[0].length;
    const rest = line.slice(valueCol);
    const isQuery = table === 'rule' && kv[3] === 'query';
    const delim = rest.startsWith("'''") ? "'''" : rest.startsWith('"""') ? '"""' : null;
    if (delim) {
      const bodyCol = valueCol + 3;
      const closeAt = findClose(line, bodyCol, delim);
      if (closeAt < 0) open = delim;
      if (!isQuery) continue;
      // TOML drops a newline that directly follows the opening delimiter.
      const afterOpen = line.slice(bodyCol).replace(/\r$/, '');
      const startsNextLine = closeAt < 0 && afterOpen === '';
      const loc: QueryLocation = startsNextLine
        ? { line: i + 2, column: 1, style: delim === "'''" ? 'literal' : 'basic' }
        : { line: i + 1, column: bodyCol + 1, style: delim === "'''" ? 'literal' : 'basic' };
      if (loc.style === 'basic') {
        const bodyStart = startsNextLine ? starts[i + 1] ?? text.length : starts[i]! + bodyCol;
        const end = text.indexOf('"""', bodyStart);
        loc.raw = text.slice(bodyStart, end < 0 ? text.length : end);
      }
      query = loc;
    } else if (isQuery && (rest.startsWith("'") || rest.startsWith('"'))) {
      const loc: QueryLocation = { line: i + 1, column: valueCol + 2, style: rest.startsWith("'") ? 'literal' : 'basic' };
      if (loc.style === 'basic') {
        const m = /^"((?:[^"\\]|\\.)*)"/.exec(rest);
        loc.raw = m ? m[1]! : rest.slice(1);
      }
      query = loc;
    }
  }
  const result: { ruleLine?: number; query?: QueryLocation } = {};
  if (ruleLine !== undefined) result.ruleLine = ruleLine;
  if (query) result.query = query;
  return result;
}

/** Index of the closing multi-line delimiter in `line` at or after `from`, or -1. */
function findClose(line: string, from: number, delim: string): number {
  for (let i = from; i < line.length; i++) {
    if (delim === '"""' && line[i] === '\\') {
      i++;
      continue;
    }
    if (line.startsWith(delim, i)) return i;
  }
  return -1;
}

/**
 * Locates a JSON-encoded string in the file text (from `from` on) and returns where its body
 * starts. Tries the encoding of JSON.stringify and that of Python's json.dumps (non-ASCII as
 * \uXXXX), the two producers of the exports we read.
 */
function locateJsonString(text: string, value: string, from: number, fromLine: number): QueryLocation | undefined {
  const encodings = [JSON.stringify(value)];
  const ascii = encodings[0]!.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (ascii !== encodings[0]) encodings.push(ascii);
  for (const enc of encodings) {
    const at = text.indexOf(enc, from);
    if (at >= 0) {
      // Count lines from `from` (whose line is known) rather than from the file start: NDJSON
      // exports have thousands of lines.
      const pos = textPosition(text.slice(from, at + 1), at + 1 - from);
      const column = pos.line === 1 ? pos.column + from - lineStartOf(text, from) : pos.column;
      return { line: fromLine + pos.line - 1, column, style: 'json', raw: enc.slice(1, -1) };
    }
  }
  return undefined;
}

function lineStartOf(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

function jsonErrorPosition(text: string, e: unknown): { line?: number; column?: number } {
  const m = /position (\d+)/.exec(errorText(e));
  if (!m) return {};
  return textPosition(text, Number(m[1]));
}

/**
 * Nesting allowed in a rule file (TOML tables, arrays, inline tables; JSON objects and arrays).
 * smol-toml bounds inline nesting itself, but a table header of dotted keys (`[a.b.c…]`) nests one
 * level per key with no bound, and JSON.parse takes any depth; Elastic's rule files nest about 6
 * levels, Kibana exports' filters a few more.
 */
export const MAX_RULE_DEPTH = 100;

/** A rule file's TOML nested deeper than MAX_RULE_DEPTH; `path` is where the limit was crossed. */
class TomlDepthError extends Error {
  constructor(readonly path: string[]) {
    super(`TOML nested deeper than ${MAX_RULE_DEPTH} levels (tables, arrays, inline tables), at ${path.slice(0, 3).map((k) => JSON.stringify(k)).join('.')}${path.length > 3 ? '.…' : ''}`);
  }
}

/**
 * Deep copy that turns TOML dates into ISO strings and gives smol-toml's null-prototype tables
 * the ordinary prototype. Keys are copied as own properties: `[__proto__]` is a table like any
 * other. Throws TomlDepthError beyond MAX_RULE_DEPTH (the recursion is bounded by it).
 */
function plain(v: unknown, path: string[] = []): unknown {
  if (v instanceof Date) return v.toISOString();
  if (v === null || typeof v !== 'object') return v;
  if (path.length >= MAX_RULE_DEPTH) throw new TomlDepthError(path);
  if (Array.isArray(v)) return v.map((x, i) => plain(x, [...path, String(i)]));
  const src = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(src)) setOwn(out, k, plain(src[k], [...path, k]));
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  switch ((e as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ELOOP':
      return 'symbolic link loop';
    default:
      return e.message;
  }
}

/**
 * One-line summary of what was not run, e.g.
 * "skipped 454 query, 209 esql rules (not EQL); 57 deprecated; 1 invalid".
 */
export function summarizeSkipped(result: Pick<LoadResult, 'rules' | 'skipped'>): string {
  const byType = new Map<string, number>();
  for (const r of result.rules) if (r.unsupported) byType.set(r.type, (byType.get(r.type) ?? 0) + 1);
  const parts: string[] = [];
  if (byType.size > 0) {
    const sorted = [...byType].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    parts.push(`skipped ${sorted.map(([t, n]) => `${n} ${t}`).join(', ')} rules (not EQL)`);
  }
  const deprecated = result.skipped.filter((s) => s.kind === 'deprecated').length;
  const invalid = result.skipped.filter((s) => s.kind === 'invalid').length;
  if (deprecated > 0) parts.push(`${parts.length ? '' : 'skipped '}${deprecated} deprecated`);
  if (invalid > 0) parts.push(`${parts.length ? '' : 'skipped '}${invalid} invalid`);
  return parts.join('; ');
}
