// The service's rules: rule files (`--rules`, hot-reloaded when they change), rules imported
// through Kibana's `POST /api/detection_engine/rules/_import` (kept in state.sqlite), and each
// rule's enabled state (API). Every change makes a new generation: the prepared rules, the
// router that decides which rules an event can matter to, and a stream copy of the rules
// (compiled without a size limit, for real-time runs).
import { loadIndexMappings, type IndexMappings } from '../engine/mapping.js';
import { watch, type FSWatcher } from 'node:fs';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { ruleUuid } from '../detect/alerts.js';
import { prepareRule, RuleRouter, type PreparedRule, type PrepareOptions } from '../detect/router.js';
import { loadValueLists } from '../rules/exceptions.js';
import { numberTextReader, serveNumberFields, type NumberTextReader } from '../events/number-time.js';
import { currentRelease, loadRuleSet } from '../rules/home.js';
import { describeSelection, hasSelection, selectRules, type RuleSelection } from '../rules/select.js';
import { defaultRulesDir, loadRules, type LoadResult } from '../rules/load.js';
import type { ExceptionList, Rule } from '../rules/types.js';
import type { StateDb } from './state.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS imported_rules (
  rule_id TEXT PRIMARY KEY,
  body TEXT NOT NULL,
  imported_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS imported_exception_lists (
  list_id TEXT NOT NULL,
  namespace_type TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (list_id, namespace_type)
);
CREATE TABLE IF NOT EXISTS rule_enabled (
  rule_id TEXT PRIMARY KEY,
  enabled INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rule_generation (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  gen INTEGER NOT NULL
);
`;

/** A rule as the service knows it (runnable or not). */
export interface ServedRule {
  rule: Rule;
  uuid: string;
  /** `store`: known only from its alerts (`eqlite ui` over a hunt --db store). */
  source: 'file' | 'import' | 'store';
  enabled: boolean;
  /** Why the rule cannot run (non-EQL type, query that does not compile), or null. */
  skip: string | null;
  /** Warnings from preparing it (missing exception lists, ignored items). */
  problems: string[];
}

/** One row of the rule state (imported rules and lists, enabled flags), as nodes of a cluster share it. */
export type RuleStateRow =
  | { table: 'imported_rules'; key: string; row: { rule_id: string; body: string; imported_at: number } }
  | { table: 'imported_exception_lists'; key: string; row: { list_id: string; namespace_type: string; body: string } }
  | { table: 'rule_enabled'; key: string; row: { rule_id: string; enabled: number; updated_at: number } };

/** One generation of runnable rules. */
export interface RuleGeneration {
  /**
   * Its number: every change of the rules makes a new, larger one, across restarts too (kept in
   * state.sqlite). Stored events carry the generation ingest routed them with (`routed` = -gen:
   * no rule of that generation can use the event), and readers skip an event only when its
   * generation is theirs; a number used twice for different rules would hide events from them.
   */
  gen: number;
  /** Enabled, runnable rules, in a fixed order (engine and router indexes refer to it). */
  prepared: PreparedRule[];
  /** The same rules compiled without a size limit (real-time runs). */
  stream: PreparedRule[];
  router: RuleRouter;
  /** Whether some rule's index patterns match an index (events of other indices need no parsing). */
  wants(index: string): boolean;
  /** The fields the router's dispatch reads (picked from a document's bytes before parsing it). */
  dispatchFields: readonly string[];
  /**
   * Reads the texts of a document's numbers in the rules' timestamp_override fields that serve
   * does not set itself (serveNumberFields), as their date field reads them; null: no such field.
   */
  numberTexts: NumberTextReader | null;
  all: ServedRule[];
  exceptionLists: ExceptionList[];
}

export interface RuleSetOptions {
  paths: string[];
  /** Which file rules run (the selection options of hunt); imported rules always run. */
  selection?: RuleSelection;
  valueLists: string[];
  /** Index mapping file: every rule is verified and typed against it (detect/router.ts). */
  mapping?: string | null;
  state: StateDb;
  log: Logger;
  /** Called with each new generation (after a reload, an import, enabling or disabling). */
  onChange?: (g: RuleGeneration) => void;
  /** Cluster mode: the rule state rows this node just changed (the cluster shares them). */
  onPersist?: (rows: RuleStateRow[]) => void;
}

export class RuleSet {
  current!: RuleGeneration;
  loadErrors: string[] = [];
  private watchers: FSWatcher[] = [];
  private reloadTimer: NodeJS.Timeout | null = null;
  private valueLists = new Map<string, Set<string>>();
  private mapping: IndexMappings | undefined;

  /** The index mappings of `--mapping` as last read (undefined without one). */
  get indexMappings(): IndexMappings | undefined {
    return this.mapping;
  }

  constructor(private readonly opts: RuleSetOptions) {
    opts.state.exec(SCHEMA);
    this.reload();
  }

  /** What is watched: the given paths, else the installed rule release, else the bundled rules. */
  get paths(): string[] {
    if (this.opts.paths.length > 0) return this.opts.paths;
    return [currentRelease()?.dir ?? defaultRulesDir()];
  }

  /** Which rules are loaded (as hunt says it: given paths, installed release, bundled seed rule). */
  description = '';

  /** Watches the rule paths; a change reloads the rules after 300 ms of quiet. */
  watch(): void {
    for (const p of this.paths) {
      try {
        const w = watch(p, { recursive: true, persistent: false }, () => this.scheduleReload());
        w.on('error', () => undefined);
        this.watchers.push(w);
      } catch (e) {
        this.opts.log.warn({ path: p, err: (e as Error).message }, 'rules: cannot watch for changes; edits need a restart');
      }
    }
  }

  private scheduleReload(): void {
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      this.opts.log.info({ paths: this.paths }, 'rules: files changed, reloading');
      this.reload();
    }, 300);
    this.reloadTimer.unref();
  }

  close(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
  }

  /** Reads the files and the imported rules again and builds a new generation. */
  reload(): RuleGeneration {
    // The same default as hunt: the given paths, else the installed release's production EQL
    // rules (`eqlite rules update`), else the bundled seed rule.
    const files = loadRuleSet(this.opts.paths.length > 0 ? this.opts.paths : undefined);
    this.description = files.set.description;
    this.loadErrors = files.skipped.filter((s) => s.kind === 'invalid').map((s) => `${s.file}${s.line ? `:${s.line}` : ''}: ${s.reason}`);
    for (const e of this.loadErrors) this.opts.log.warn({ problem: e }, 'rules: a rule file could not be loaded');
    try {
      this.valueLists = loadValueLists(this.opts.valueLists);
    } catch (e) {
      this.opts.log.error({ err: (e as Error).message }, 'rules: a value list could not be read');
    }
    // Read at every load, as the value lists; a file that became unreadable keeps the last mapping.
    if (this.opts.mapping) {
      try {
        this.mapping = loadIndexMappings(this.opts.mapping);
      } catch (e) {
        this.opts.log.error({ file: this.opts.mapping, err: (e as Error).message }, 'rules: the mapping could not be read');
      }
    }
    const imported = this.importedRules();
    const byId = new Map<string, { rule: Rule; source: 'file' | 'import' }>();
    const selected = this.opts.selection && hasSelection(this.opts.selection) ? selectRules(files.rules, this.opts.selection).selected : files.rules;
    if (selected.length < files.rules.length) this.description += `; ${selected.length} of ${files.rules.length} selected (${describeSelection(this.opts.selection!)})`;
    for (const r of selected) byId.set(r.rule_id, { rule: r, source: 'file' });
    // An imported rule replaces a file rule with the same rule_id (the import was an overwrite).
    for (const r of imported.rules) byId.set(r.rule_id, { rule: r, source: 'import' });
    const lists = mergeLists(files.exceptionLists, imported.exceptionLists);
    return this.build([...byId.values()], lists);
  }

  private build(rules: { rule: Rule; source: 'file' | 'import' }[], lists: ExceptionList[]): RuleGeneration {
    const enabledRows = this.opts.state.prepare('SELECT rule_id, enabled FROM rule_enabled').all() as { rule_id: string; enabled: number }[];
    const enabledOverride = new Map(enabledRows.map((r) => [r.rule_id, r.enabled === 1]));
    const now = Date.now();
    const base: PrepareOptions = { timestampField: '@timestamp', exceptionLists: lists, valueLists: this.valueLists, now, replay: true, mapping: this.mapping };
    const all: ServedRule[] = [];
    const prepared: PreparedRule[] = [];
    const stream: PreparedRule[] = [];
    for (const { rule, source } of rules) {
      const enabled = enabledOverride.get(rule.rule_id) ?? rule.enabled ?? true;
      const p = prepareRule(rule, base);
      const served: ServedRule = { rule, uuid: ruleUuid(rule), source, enabled, skip: null, problems: [] };
      all.push(served);
      if ('skip' in p) {
        served.skip = p.skip;
        continue;
      }
      if (p.mapped === false) served.problems.push('no index of the mapping is selected by its index patterns; ECS field types are used');
      for (const m of p.missingLists) served.problems.push(`exception list ${m.list_id} (${m.namespace_type}) not found; its exceptions are not applied`);
      for (const x of p.exceptionProblems) served.problems.push(`exception item ${x.item_id} of ${x.list_id} ignored: ${x.reason}`);
      if (!enabled) continue;
      const s = prepareRule(rule, { ...base, maxSignals: Infinity });
      if ('skip' in s) continue;
      prepared.push(p);
      stream.push(s);
    }
    const wanted = new Map<string, boolean>();
    const wants = (index: string): boolean => {
      let w = wanted.get(index);
      if (w === undefined) {
        w = prepared.some((p) => p.matchIndex(index));
        // Bounded: a shipper writing to ever new indices (dates in names) must not grow it forever.
        if (wanted.size >= 10_000) wanted.clear();
        wanted.set(index, w);
      }
      return w;
    };
    const router = new RuleRouter(prepared);
    this.current = { gen: this.nextGeneration(), prepared, stream, router, wants, dispatchFields: router.dispatchFields(), numberTexts: numberTextReader(serveNumberFields(prepared.map((p) => p.rule.timestamp_override))), all, exceptionLists: lists };
    this.opts.onChange?.(this.current);
    return this.current;
  }

  /**
   * The next generation number, durable before it is used (state.sqlite is fsynced on commit):
   * after a crash, the numbers events were stored with are never handed out again.
   */
  private nextGeneration(): number {
    const row = this.opts.state
      .prepare('INSERT INTO rule_generation (id, gen) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET gen = gen + 1 RETURNING gen')
      .get() as { gen: number };
    return row.gen;
  }

  /** Enables or disables a rule; returns false when no such rule exists. */
  setEnabled(ruleId: string, enabled: boolean): boolean {
    if (!this.current.all.some((r) => r.rule.rule_id === ruleId)) return false;
    const row = { rule_id: ruleId, enabled: enabled ? 1 : 0, updated_at: Date.now() };
    this.writeRow({ table: 'rule_enabled', key: ruleId, row });
    this.opts.onPersist?.([{ table: 'rule_enabled', key: ruleId, row }]);
    this.reload();
    return true;
  }

  private writeRow(r: RuleStateRow): void {
    const st = this.opts.state;
    if (r.table === 'rule_enabled') st.prepare('INSERT OR REPLACE INTO rule_enabled (rule_id, enabled, updated_at) VALUES (?, ?, ?)').run(r.row.rule_id, r.row.enabled, r.row.updated_at);
    else if (r.table === 'imported_rules') st.prepare('INSERT OR REPLACE INTO imported_rules (rule_id, body, imported_at) VALUES (?, ?, ?)').run(r.row.rule_id, r.row.body, r.row.imported_at);
    else st.prepare('INSERT OR REPLACE INTO imported_exception_lists (list_id, namespace_type, body) VALUES (?, ?, ?)').run(r.row.list_id, r.row.namespace_type, r.row.body);
  }

  /** Rows another node of the cluster changed: stored here too; the rules are rebuilt when something differs. */
  applyRemote(rows: readonly RuleStateRow[]): boolean {
    const st = this.opts.state;
    let changed = false;
    st.transaction(() => {
      for (const r of rows) {
        const cur =
          r.table === 'rule_enabled'
            ? (st.prepare('SELECT enabled AS v FROM rule_enabled WHERE rule_id = ?').get(r.row.rule_id) as { v: unknown } | undefined)
            : r.table === 'imported_rules'
              ? (st.prepare('SELECT body AS v FROM imported_rules WHERE rule_id = ?').get(r.row.rule_id) as { v: unknown } | undefined)
              : (st.prepare('SELECT body AS v FROM imported_exception_lists WHERE list_id = ? AND namespace_type = ?').get(r.row.list_id, r.row.namespace_type) as { v: unknown } | undefined);
        const next = r.table === 'rule_enabled' ? r.row.enabled : r.row.body;
        if (cur && cur.v === next) continue;
        this.writeRow(r);
        changed = true;
      }
    })();
    if (changed) this.reload();
    return changed;
  }

  find(ruleIdOrUuid: string): ServedRule | undefined {
    return this.current.all.find((r) => r.rule.rule_id === ruleIdOrUuid || r.uuid === ruleIdOrUuid);
  }

  private importedRules(): LoadResult {
    const rows = this.opts.state.prepare('SELECT body FROM imported_rules ORDER BY rule_id').all() as { body: string }[];
    const lists = this.opts.state.prepare('SELECT body FROM imported_exception_lists').all() as { body: string }[];
    if (rows.length === 0 && lists.length === 0) return { rules: [], exceptionLists: [], skipped: [], counts: {} as LoadResult['counts'] };
    return parseExport([...rows.map((r) => r.body), ...lists.flatMap((l) => (JSON.parse(l.body) as unknown[]).map((x) => JSON.stringify(x)))].join('\n'), 'imported');
  }

  /**
   * Kibana's rule import: an NDJSON export (rules, exception lists and items, connectors, the
   * summary line). Existing rule_ids are refused unless `overwrite`; exception lists likewise
   * unless `overwriteExceptions`. Returns Kibana's import response.
   */
  import(ndjson: string, overwrite: boolean, overwriteExceptions: boolean): Record<string, unknown> {
    const parsed = parseExport(ndjson, 'import.ndjson');
    const errors: { rule_id?: string; error: { status_code: number; message: string } }[] = [];
    const exceptionErrors: { list_id?: string; error: { status_code: number; message: string } }[] = [];
    for (const s of parsed.skipped) {
      if (s.kind === 'invalid') errors.push({ ...(s.rule_id ? { rule_id: s.rule_id } : {}), error: { status_code: 400, message: `line ${s.line ?? '?'}: ${s.reason}` } });
    }
    const state = this.opts.state;
    let success = 0;
    let exceptionsSuccess = 0;
    const lines = ndjson.split('\n');
    const persisted: RuleStateRow[] = [];
    state.transaction(() => {
      for (const l of parsed.exceptionLists) {
        const exists = state.prepare('SELECT 1 FROM imported_exception_lists WHERE list_id = ? AND namespace_type = ?').get(l.list_id, l.namespace_type);
        if (exists && !overwriteExceptions) {
          exceptionErrors.push({ list_id: l.list_id, error: { status_code: 409, message: `Found that list_id: "${l.list_id}" already exists. Import of list_id: "${l.list_id}" skipped.` } });
          continue;
        }
        // Keep the export's own objects (container + items) so they load exactly as exported.
        const objs = lines
          .filter((x) => x.trim() !== '')
          .map((x) => {
            try {
              return JSON.parse(x) as Record<string, unknown>;
            } catch {
              return null;
            }
          })
          .filter((o): o is Record<string, unknown> => o !== null && o.list_id === l.list_id && !('rule_id' in o));
        const row = { list_id: l.list_id, namespace_type: l.namespace_type, body: JSON.stringify(objs) };
        this.writeRow({ table: 'imported_exception_lists', key: `${l.namespace_type}:${l.list_id}`, row });
        persisted.push({ table: 'imported_exception_lists', key: `${l.namespace_type}:${l.list_id}`, row });
        exceptionsSuccess++;
      }
      for (const r of parsed.rules) {
        const exists = this.current.all.some((x) => x.rule.rule_id === r.rule_id);
        if (exists && !overwrite) {
          errors.push({ rule_id: r.rule_id, error: { status_code: 409, message: `rule_id: "${r.rule_id}" already exists` } });
          continue;
        }
        const raw = lines.find((x) => x.includes(JSON.stringify(r.rule_id)) && x.includes('"rule_id"'));
        if (!raw) continue;
        const row = { rule_id: r.rule_id, body: raw.trim(), imported_at: Date.now() };
        this.writeRow({ table: 'imported_rules', key: r.rule_id, row });
        persisted.push({ table: 'imported_rules', key: r.rule_id, row });
        success++;
      }
    })();
    if (persisted.length > 0) this.opts.onPersist?.(persisted);
    this.reload();
    return {
      success: errors.length === 0 && exceptionErrors.length === 0,
      success_count: success,
      rules_count: parsed.rules.length,
      errors,
      exceptions_success: exceptionErrors.length === 0,
      exceptions_success_count: exceptionsSuccess,
      exceptions_errors: exceptionErrors,
      action_connectors_success: true,
      action_connectors_success_count: 0,
      action_connectors_errors: [],
      action_connectors_warnings: [],
    };
  }
}

/** Parses an NDJSON export with the rule loader (it reads files, so the text goes through one). */
export function parseExport(ndjson: string, name: string): LoadResult {
  const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-import-'));
  try {
    const f = path.join(dir, name.endsWith('.ndjson') ? name : `${name}.ndjson`);
    writeFileSync(f, ndjson);
    const r = loadRules([f]);
    for (const s of r.skipped) s.file = name;
    for (const rule of r.rules) rule.origin.file = name;
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function mergeLists(a: ExceptionList[], b: ExceptionList[]): ExceptionList[] {
  const out = new Map<string, ExceptionList>();
  for (const l of [...a, ...b]) out.set(`${l.namespace_type}:${l.list_id}`, l);
  return [...out.values()];
}
