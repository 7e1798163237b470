// Queries over the alert store for the alerts API and the web UI: filters, free-text search,
// sorting with keyset ("search_after") paging, a histogram by severity and facet values. Built to
// stay fast at millions of alerts: every default view walks an index in order and stops after a
// page; counts and aggregations read covering indexes, not the JSON documents.
//
// Free-text search uses an FTS5 index kept beside the alerts (alerts_fts, contentless, keyed by
// the alert's rowid). Writers (hunt --db, the service's detection) do not maintain it: the reader
// catches it up from the last indexed rowid (alerts are never rewritten in place, only added), so
// stores written before it existed, or by another process, become searchable as well.
import type Database from 'better-sqlite3';
import { parseInstant } from '../events/time.js';
import { badRequest } from './http.js';

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

/**
 * The search index's layout (alerts_fts); a store indexed with another is indexed again.
 * 2: shells hold their building blocks' text; 3: with a copy of FTS_COLUMNS.
 */
const FTS_VERSION = 3;

/** The alerts' columns copied into the search index (they never change: alerts are create-only). */
const FTS_COLUMNS = ['building_block', 'severity', '"@timestamp"', 'host_name', 'user_name', 'rule_id'];
export const STATUSES = ['open', 'acknowledged', 'closed'] as const;

/** What an analyst searches for in an alert: the reason (it names the rule, host, user and process), the rule, host and user, and the event's processes, command lines, files, libraries, addresses. */
const SEARCHED_FIELDS = ['process.name', 'process.executable', 'process.command_line', 'process.parent.name', 'process.parent.executable', 'process.parent.command_line', 'file.path', 'dll.path', 'user.domain', 'host.id', 'destination.ip', 'source.ip', 'dns.question.name', 'registry.path', 'url.full'];

function docField(doc: Record<string, unknown>, dotted: string): unknown {
  if (dotted in doc) return doc[dotted];
  let cur: unknown = doc;
  for (const p of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function searchText(r: Record<string, unknown>): string {
  const parts = [r.reason, r.rule_name, r.rule_id, r.host_name, r.user_name, r.id];
  try {
    const doc = JSON.parse(String(r.doc)) as Record<string, unknown>;
    for (const f of SEARCHED_FIELDS) {
      const v = docField(doc, f);
      if (Array.isArray(v)) parts.push(...v.filter((x) => typeof x !== 'object'));
      else if (v !== undefined && v !== null && typeof v !== 'object') parts.push(v);
    }
  } catch {
    // A document that does not parse is still found by its columns.
  }
  return parts.filter((p) => p !== null && p !== undefined && p !== '').join(' ').slice(0, 64 * 1024);
}

/** The alert list's filters (all optional; lists are ORed within, filters ANDed). */
export interface AlertFilter {
  status?: string[];
  severity?: string[];
  /** rule_id or rule name */
  rule?: string[];
  host?: string[];
  user?: string[];
  from?: string;
  to?: string;
  /** Free text (FTS5 over reason, rule, host, user, process, command lines, paths). */
  q?: string;
  /** Only the alerts of one sequence (its shell and building blocks). */
  group?: string;
  /** Include building blocks (default: only when `group` is given). */
  buildingBlocks?: boolean;
}

/** Reads a filter from named parameters (a query string or a JSON body). */
export function parseFilter(get: (name: string) => unknown): AlertFilter {
  const list = (name: string): string[] | undefined => {
    const v = get(name);
    if (v === undefined || v === null || v === '') return undefined;
    const items = (Array.isArray(v) ? v.map(String) : String(v).split(',')).map((x) => x.trim()).filter((x) => x !== '');
    return items.length > 0 ? items : undefined;
  };
  const time = (name: string): string | undefined => {
    const v = get(name);
    if (v === undefined || v === null || v === '') return undefined;
    const t = parseInstant(v);
    if (!t) throw badRequest(`${name} must be an ISO 8601 time or epoch milliseconds`, 'illegal_argument_exception');
    return new Date(t.ms).toISOString();
  };
  const f: AlertFilter = {};
  const status = list('status');
  for (const s of status ?? []) if (!(STATUSES as readonly string[]).includes(s)) throw badRequest(`status must be open, acknowledged or closed, found [${s}]`, 'illegal_argument_exception');
  const severity = list('severity');
  for (const s of severity ?? []) if (!(SEVERITIES as readonly string[]).includes(s)) throw badRequest(`severity must be low, medium, high or critical, found [${s}]`, 'illegal_argument_exception');
  if (status) f.status = status;
  if (severity) f.severity = severity;
  for (const k of ['rule', 'host', 'user'] as const) {
    const v = list(k);
    if (v) f[k] = v;
  }
  const from = time('from');
  const to = time('to');
  if (from) f.from = from;
  if (to) f.to = to;
  const q = get('q');
  if (typeof q === 'string' && q.trim() !== '') {
    if (q.length > 1000) throw badRequest('q is longer than 1000 characters', 'illegal_argument_exception');
    f.q = q.trim();
  }
  const group = get('group');
  if (typeof group === 'string' && group !== '') f.group = group;
  const bb = get('building_blocks');
  if (bb !== undefined && bb !== null) f.buildingBlocks = bb === true || bb === 'true';
  return f;
}

/**
 * A free-text query as FTS5 syntax: each term must occur, as a phrase of its words (`host-6` is
 * "host" followed by "6", `cscript.exe` is "cscript" "exe"); terms are separated by spaces or
 * written in double quotes (`"rule number 3"`); the last one matches as a prefix, as one types.
 */
export function ftsQuery(q: string): string | null {
  const phrases = (q.match(/"[^"]*"|[^\s"]+/g) ?? [])
    .map((term) => term.match(/[\p{L}\p{N}_]+/gu)?.join(' '))
    .filter((p): p is string => p !== undefined && p !== '')
    .slice(0, 32);
  if (phrases.length === 0) return null;
  return phrases.map((p, i) => `"${p}"${i === phrases.length - 1 ? '*' : ''}`).join(' ');
}

interface Where {
  from: string;
  sql: string;
  args: unknown[];
  /**
   * A rule, host or user filter whose index cannot give the list's order (several values, or
   * several statuses: their indexes hold status before time): the page sorts the filter's rows.
   */
  sortRows: boolean;
}

const FROM_ALERTS = 'alerts a';

/**
 * Up to this many search matches are read from the search index and sorted; more are dense
 * enough in the store that walking a list index in order finds a page sooner.
 */
const FEW_MATCHES = 2000;

/** A rule, host or user filter: one of their indexes is the selective one. */
function filterNarrows(f: AlertFilter): boolean {
  return (f.rule?.length ?? 0) + (f.host?.length ?? 0) + (f.user?.length ?? 0) > 0;
}

/** The severity column as a filter term: not an index choice when a more selective filter is there. */
function severityColumn(f: AlertFilter): string {
  return filterNarrows(f) ? '+a.severity' : 'a.severity';
}
const STATUS_EXPR = "COALESCE(a.workflow_status, 'open')";

const SORTS: Record<string, { expr: string; nullable: boolean }> = {
  '@timestamp': { expr: 'a."@timestamp"', nullable: false },
  timestamp: { expr: 'a."@timestamp"', nullable: false },
  original_time: { expr: "COALESCE(a.original_time, '')", nullable: false },
  // (The same expressions as the store's indexes alerts_severity_rank and alerts_risk.)
  severity: { expr: "(CASE a.severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END)", nullable: false },
  risk_score: { expr: 'COALESCE(a.risk_score, -1)', nullable: false },
  rule: { expr: 'a.rule_name', nullable: false },
  host: { expr: "COALESCE(a.host_name, '')", nullable: false },
  user: { expr: "COALESCE(a.user_name, '')", nullable: false },
  status: { expr: "COALESCE(a.workflow_status, 'open')", nullable: false },
};
export const SORT_FIELDS = Object.keys(SORTS);

export interface SortKey {
  field: string;
  expr: string;
  desc: boolean;
}

/** `field:dir,…` (default newest first); the alert id always breaks ties, in the last key's direction. */
export function parseSort(spec: string | undefined): SortKey[] {
  const keys: SortKey[] = [];
  for (const part of (spec ?? '@timestamp:desc').split(',').map((x) => x.trim()).filter(Boolean)) {
    const [field, dir = 'asc'] = part.split(':');
    const s = SORTS[field!];
    if (!s || (dir !== 'asc' && dir !== 'desc')) throw badRequest(`cannot sort by [${part}]: use one of ${SORT_FIELDS.join(', ')} with :asc or :desc`, 'illegal_argument_exception');
    keys.push({ field: field!, expr: s.expr, desc: dir === 'desc' });
  }
  if (keys.length === 0) keys.push({ field: '@timestamp', expr: SORTS['@timestamp']!.expr, desc: true });
  // Ties are broken by time, then id, in the last key's direction: the order of the list indexes
  // (…, "@timestamp", id), so a page walks one and stops instead of sorting a quarter of the store.
  const last = keys[keys.length - 1]!;
  if (last.field !== '@timestamp' && last.field !== 'timestamp' && !keys.some((k) => k.expr === SORTS['@timestamp']!.expr)) keys.push({ field: '@timestamp', expr: SORTS['@timestamp']!.expr, desc: last.desc });
  keys.push({ field: 'id', expr: 'a.id', desc: last.desc });
  return keys;
}

/** A keyset cursor: the sort values of a row (opaque to clients, base64url JSON). */
export function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

function decodeCursor(s: string, n: number, name: string): unknown[] {
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v;
  } catch {
    // fall through
  }
  throw badRequest(`${name} is not a cursor of this sort order (pass back the "next" or "prev" value of a page with the same sort)`, 'illegal_argument_exception');
}

export interface AlertRow {
  rowid: number;
  id: string;
  rule_id: string;
  rule_name: string;
  severity: string;
  risk_score: number | null;
  ts: string;
  original_time: string | null;
  host_name: string | null;
  user_name: string | null;
  building_block: number;
  group_id: string | null;
  reason: string | null;
  status: string;
}

export const ALERT_COLUMNS = `a.rowid AS rowid, a.id, a.rule_id, a.rule_name, a.severity, a.risk_score, a."@timestamp" AS ts, a.original_time, a.host_name, a.user_name, a.building_block, a.group_id, a.reason, COALESCE(a.workflow_status, 'open') AS status`;

/** An alert row as the API lists it. */
export function alertSummary(r: AlertRow) {
  return {
    id: r.id,
    '@timestamp': r.ts,
    original_time: r.original_time,
    rule: { rule_id: r.rule_id, name: r.rule_name },
    severity: r.severity,
    risk_score: r.risk_score,
    host: r.host_name,
    user: r.user_name,
    reason: r.reason,
    status: r.status,
    building_block: r.building_block === 1,
    group_id: r.group_id,
  };
}

/**
 * How far a list counts its total by default: past it the total is reported as "at least" this
 * many, as Elasticsearch's `track_total_hits` (10,000 by default) and Kibana's "10,000+" do.
 * Counting a million rows for every page would cost more than finding the page.
 */
export const TRACK_TOTAL_HITS = 10_000;

export interface ListOptions {
  sort?: string;
  /** Count the total up to this many (then `total_relation` is "gte"), or exactly (true). */
  trackTotalHits?: number | true;
  perPage: number;
  /** 1-based offset paging (kept for scripts; deep offsets are slow, cursors are not). */
  page?: number;
  searchAfter?: string;
  searchBefore?: string;
}

/** Histogram intervals offered, so buckets fall on round times. */
const INTERVALS = [1000, 5000, 10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000, 3 * 3_600_000, 6 * 3_600_000, 12 * 3_600_000, 86_400_000, 7 * 86_400_000, 30 * 86_400_000];

const FACETS: Record<string, string> = { rule: 'a.rule_id', host: 'a.host_name', user: 'a.user_name', severity: 'a.severity' };
export const FACET_FIELDS = Object.keys(FACETS);

export class AlertQueries {
  private ftsReady = false;

  private readonly fewMatchesLimit: number;

  /** `fewMatches`: how many search matches count as few (tests lower it to drive both ways). */
  constructor(
    private readonly db: Database.Database,
    opts: { fewMatches?: number } = {},
  ) {
    this.fewMatchesLimit = opts.fewMatches ?? FEW_MATCHES;
    // The store's own indexes (src/store/sqlite.ts) serve the filters; the status tables are the
    // service's (alerts.ts). Both exist once ServedAlerts opened the file. Counting and
    // aggregating read whole indexes: keep them in memory (64 MiB).
    db.pragma('cache_size = -65536');
  }

  /**
   * Creates the search index if missing (or made by an older eqlite: rebuilt) and indexes the
   * alerts added since the last call, in rowid order, `maxRows` at most.
   *
   * Each alert is one document keyed by its rowid. A sequence's shell holds its own text and its
   * building blocks' (they are its events), so a search finds the sequence straight from the
   * index, as one set of rowids, without joining its matches to their groups; each building block
   * also has its own document, found when a sequence's alerts are listed. Building blocks are
   * written with their shell in one transaction, so the shell is indexed after all of them are
   * stored; one written later (a replica catching up) has its shell indexed again.
   */
  catchUpSearch(maxRows = Infinity): number {
    const db = this.db;
    if (!this.ftsReady) {
      db.transaction(() => {
        db.exec('CREATE TABLE IF NOT EXISTS alerts_fts_state (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
        const version = db.prepare("SELECT v FROM alerts_fts_state WHERE k = 'version'").get() as { v: number } | undefined;
        if (version?.v !== FTS_VERSION) {
          db.exec("DROP TABLE IF EXISTS alerts_fts; DELETE FROM alerts_fts_state WHERE k = 'rowid'");
          db.prepare("INSERT OR REPLACE INTO alerts_fts_state (k, v) VALUES ('version', ?)").run(FTS_VERSION);
        }
        // Contentless (the text is not stored twice), deletable (a shell indexed again), with a
        // copy of the columns that never change and that counts and aggregations read.
        db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS alerts_fts USING fts5(text, ${FTS_COLUMNS.map((c) => `${c} UNINDEXED`).join(', ')}, content='', contentless_delete=1, contentless_unindexed=1, tokenize='unicode61 remove_diacritics 2')`);
      })();
      this.ftsReady = true;
    }
    const max = (db.prepare('SELECT MAX(rowid) AS m FROM alerts').get() as { m: number | null }).m ?? 0;
    const indexed = db.prepare("SELECT v FROM alerts_fts_state WHERE k = 'rowid'").pluck();
    if (max <= ((indexed.get() as number | undefined) ?? 0)) return 0;
    const batch = 5000;
    let done = 0;
    const cols = `rowid, id, rule_name, reason, group_id, doc, ${FTS_COLUMNS.join(', ')}`;
    const rows = db.prepare(`SELECT ${cols} FROM alerts WHERE rowid > ? AND rowid <= ? ORDER BY rowid`);
    const blocksOf = db.prepare(`SELECT ${cols} FROM alerts WHERE group_id = ? AND building_block = 1 ORDER BY rowid`);
    const shellOf = db.prepare('SELECT rowid, building_block FROM alerts WHERE id = ?');
    const ins = db.prepare(`INSERT INTO alerts_fts (rowid, text, ${FTS_COLUMNS.join(', ')}) VALUES (?, ?${', ?'.repeat(FTS_COLUMNS.length)})`);
    const insert = { run: (r: Row, text: string) => ins.run(r.rowid, text, ...FTS_COLUMNS.map((c) => r[c.replaceAll('"', '')])) };
    const remove = db.prepare('DELETE FROM alerts_fts WHERE rowid = ?');
    const save = db.prepare("INSERT OR REPLACE INTO alerts_fts_state (k, v) VALUES ('rowid', ?)");
    type Row = { rowid: number; building_block: number; group_id: string | null; doc: string } & Record<string, unknown>;
    while (done < maxRows) {
      const more = db.transaction(() => {
        // (Read again inside the write transaction: another process may have indexed meanwhile.)
        const from = (indexed.get() as number | undefined) ?? 0;
        if (from >= max) return false;
        const to = Math.min(max, from + batch);
        const texts = new Map<number, string>();
        const textOf = (r: Row) => {
          let t = texts.get(r.rowid);
          if (t === undefined) texts.set(r.rowid, (t = searchText(r)));
          return t;
        };
        const shellText = (shell: Row) => [textOf(shell), ...(blocksOf.all(shell.group_id) as Row[]).map(textOf)].join(' ').slice(0, 256 * 1024);
        const again = new Set<string>();
        // (all(), not iterate(): the connection cannot write while a read is open.)
        for (const r of rows.all(from, to) as Row[]) {
          insert.run(r, r.building_block === 0 && r.group_id !== null ? shellText(r) : textOf(r));
          if (r.building_block === 1 && r.group_id !== null) {
            const shell = shellOf.get(r.group_id) as { rowid: number; building_block: number } | undefined;
            if (shell && shell.building_block === 0 && shell.rowid <= from) again.add(r.group_id);
          }
        }
        for (const group of again) {
          const shell = db.prepare(`SELECT ${cols} FROM alerts WHERE id = ?`).get(group) as Row;
          remove.run(shell.rowid);
          insert.run(shell, shellText(shell));
        }
        save.run(to);
        done += to - from;
        return to < max;
      })();
      if (!more) break;
    }
    return done;
  }

  /**
   * The filter as SQL over `alerts a`. `aggregate`: for counting and aggregating rather than
   * listing — a search with many matches is then answered from the search index's own copy of
   * the columns the filters and aggregations read (the rows of the matches, in rowid order),
   * instead of probing the match set from every entry of a list index.
   */
  private where(f: AlertFilter, aggregate = false): Where {
    let from = FROM_ALERTS;
    const parts: string[] = [];
    const args: unknown[] = [];
    const fts = f.q ? ftsQuery(f.q) : null;
    if (fts !== null) this.catchUpSearch();
    const few = fts !== null && this.fewMatches(fts);
    const fromIndex = aggregate && fts !== null && !few && f.group === undefined;
    const inList = (col: string, values: string[] | undefined) => {
      if (!values || values.length === 0) return;
      parts.push(`${col} IN (${values.map(() => '?').join(',')})`);
      args.push(...values);
    };
    if (f.group) {
      parts.push('a.group_id = ?');
      args.push(f.group);
    }
    const blocks = f.buildingBlocks ?? f.group !== undefined;
    if (!blocks) parts.push('a.building_block = 0');
    if (f.status && f.status.length < STATUSES.length) {
      if (fromIndex) {
        // The search index has no status (it changes): the alerts not open are few and have
        // an index of their own, so the filter is "in" or "not in" them.
        const others = STATUSES.filter((x) => !f.status!.includes(x));
        const open = f.status.includes('open');
        const listed = open ? others : f.status;
        parts.push(`a.rowid ${open ? 'NOT IN' : 'IN'} (SELECT x.rowid FROM alerts x WHERE x.building_block IN (${blocks ? '0, 1' : '0'}) AND COALESCE(x.workflow_status, 'open') IN (${listed.map(() => '?').join(',')}))`);
        args.push(...listed);
      } else {
        // The store's status column (NULL: open), the same expression as in its indexes.
        parts.push(`${STATUS_EXPR} IN (${f.status.map(() => '?').join(',')})`);
        args.push(...f.status);
      }
    }
    // Severity has four values: with a rule, host or user filter, that index is the selective one,
    // and severity is checked on its rows (the unary + keeps SQLite from picking the severity index,
    // which without statistics ties with it and then reads a quarter of the store).
    inList(severityColumn(f), f.severity);
    let ids: string[] = [];
    if (f.rule && f.rule.length > 0) {
      // Names are turned into rule ids first, so that the rule index answers.
      ids = this.ruleIds(f.rule);
      parts.push(`a.rule_id IN (${ids.map(() => '?').join(',')})`);
      args.push(...ids);
    }
    inList('a.host_name', f.host);
    inList('a.user_name', f.user);
    if (f.from) {
      parts.push('a."@timestamp" >= ?');
      args.push(f.from);
    }
    if (f.to) {
      parts.push('a."@timestamp" <= ?');
      args.push(f.to);
    }
    if (f.q) {
      if (fts === null) parts.push('0');
      else {
        // Shells hold their building blocks' text: a sequence matches when any of its events does.
        if (fromIndex) {
          from = 'alerts_fts a';
          parts.push('alerts_fts MATCH ?');
        } else if (few) {
          // Few matches: start from them (CROSS JOIN fixes the order), then sort what is left. Walking
          // a list index in order and probing each row would read the whole index to find them.
          from = `alerts_fts CROSS JOIN ${FROM_ALERTS} ON a.rowid = alerts_fts.rowid`;
          parts.push('alerts_fts MATCH ?');
        } else {
          // Many: they are dense in any order, so a page walks its index and stops soon.
          parts.push('a.rowid IN (SELECT rowid FROM alerts_fts WHERE alerts_fts MATCH ?)');
        }
        args.push(fts);
      }
    }
    const single = (l: string[] | undefined) => l === undefined || l.length <= 1;
    const sortRows = filterNarrows(f) && !(f.status?.length === 1 && ids.length <= 1 && single(f.host) && single(f.user));
    return { from, sql: parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '', args, sortRows };
  }

  /** Whether a search matches few documents (counted in the index alone, up to FEW_MATCHES). */
  private fewMatches(fts: string): boolean {
    const n = this.db.prepare('SELECT COUNT(*) FROM (SELECT rowid FROM alerts_fts WHERE alerts_fts MATCH ? LIMIT ?)').pluck().get(fts, this.fewMatchesLimit + 1) as number;
    return n <= this.fewMatchesLimit;
  }

  private rules = { rowid: 0, byName: new Map<string, Set<string>>(), nameOf: new Map<string, string>() };

  /**
   * The rules' names: each rule id's latest name, and the ids each name was shown under. Built
   * from the rule index (each rule id's newest alert, not a scan of the store), then kept up to
   * date from the alerts added since.
   */
  private ruleCatalog() {
    const db = this.db;
    const max = (db.prepare('SELECT COALESCE(MAX(rowid), 0) AS m FROM alerts').get() as { m: number }).m;
    const r = this.rules;
    if (max === r.rowid) return r;
    const note = (id: string, name: string) => {
      r.nameOf.set(id, name);
      const ids = r.byName.get(name) ?? new Set<string>();
      ids.add(id);
      r.byName.set(name, ids);
    };
    if (r.rowid === 0) {
      // Distinct rule ids by seeking the index from one to the next (a loose index scan).
      const ids = db
        .prepare('WITH RECURSIVE r(id) AS (SELECT MIN(rule_id) FROM alerts UNION ALL SELECT (SELECT MIN(rule_id) FROM alerts WHERE rule_id > r.id) FROM r WHERE r.id IS NOT NULL) SELECT id FROM r WHERE id IS NOT NULL')
        .pluck()
        .all() as string[];
      const latest = db.prepare('SELECT rule_name FROM alerts WHERE rule_id = ? ORDER BY rowid DESC LIMIT 1').pluck();
      for (const id of ids) note(id, latest.get(id) as string);
    } else for (const x of db.prepare('SELECT rule_id, rule_name FROM alerts WHERE rowid > ? ORDER BY rowid').all(r.rowid) as { rule_id: string; rule_name: string }[]) note(x.rule_id, x.rule_name);
    r.rowid = max;
    return r;
  }

  /** Rule ids for values that are rule ids or rule names. */
  private ruleIds(values: string[]): string[] {
    const byName = this.ruleCatalog().byName;
    // A name stands for its rule's ids; anything else is taken as a rule id.
    return [...new Set(values.flatMap((v) => [...(byName.get(v) ?? [v])]))];
  }

  count(f: AlertFilter): number {
    return this.countUpTo(f, true).value;
  }

  private countStatement(f: AlertFilter, cap: number | true): { sql: string; args: unknown[] } {
    const w = this.where(f, true);
    if (cap === true) return { sql: `SELECT COUNT(*) AS n FROM ${w.from} ${w.sql}`, args: w.args };
    // Stops after cap + 1 rows of whichever index the filter uses.
    return { sql: `SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${w.from} ${w.sql} LIMIT ?)`, args: [...w.args, cap + 1] };
  }

  /** The number of matches, counted up to `cap` (Elasticsearch's hits.total: value and relation). */
  countUpTo(f: AlertFilter, cap: number | true): { value: number; relation: 'eq' | 'gte' } {
    const c = this.countStatement(f, cap);
    const n = (this.db.prepare(c.sql).get(...c.args) as { n: number }).n;
    if (cap === true) return { value: n, relation: 'eq' };
    return n > cap ? { value: cap, relation: 'gte' } : { value: n, relation: 'eq' };
  }

  /** The statement of a page: the filter, the cursor's keyset condition, the order, a limit. */
  private pageStatement(f: AlertFilter, o: ListOptions) {
    const keys = parseSort(o.sort);
    const w = this.where(f);
    let backwards = false;
    let cursor: unknown[] | null = null;
    if (o.searchAfter) cursor = decodeCursor(o.searchAfter, keys.length, 'search_after');
    else if (o.searchBefore) {
      cursor = decodeCursor(o.searchBefore, keys.length, 'search_before');
      backwards = true;
    }
    const where = [...(w.sql ? [w.sql.slice(6)] : [])];
    const args = [...w.args];
    if (cursor) {
      // (k1 > v1) OR (k1 = v1 AND k2 > v2) OR …, each with its own direction (reversed when
      // paging backwards): rows strictly after the cursor in the listing order.
      const ors: string[] = [];
      for (let i = 0; i < keys.length; i++) {
        const ands: string[] = [];
        for (let j = 0; j < i; j++) {
          ands.push(`${keys[j]!.expr} = ?`);
          args.push(cursor[j]);
        }
        const after = keys[i]!.desc !== backwards ? '<' : '>';
        ands.push(`${keys[i]!.expr} ${after} ?`);
        args.push(cursor[i]);
        ors.push(`(${ands.join(' AND ')})`);
      }
      where.push(`(${ors.join(' OR ')})`);
      // The same bound on the first key alone, which SQLite can seek the index to (it cannot
      // with the OR): a page deep in the list starts there instead of skipping what comes before.
      where.push(`${keys[0]!.expr} ${keys[0]!.desc !== backwards ? '<=' : '>='} ?`);
      args.push(cursor[0]);
    }
    // The unary + keeps SQLite from walking the time index (checking every row of the store for
    // the host) when the filter's index cannot give the order: it sorts the filter's rows instead.
    const order = keys.map((k) => `${w.sortRows ? '+' : ''}${k.expr} ${k.desc !== backwards ? 'DESC' : 'ASC'}`).join(', ');
    const sortCols = keys.map((k, i) => `${k.expr} AS _k${i}`).join(', ');
    const offset = !cursor && o.page && o.page > 1 ? (o.page - 1) * o.perPage : 0;
    const sql = `SELECT ${ALERT_COLUMNS}, ${sortCols} FROM ${w.from} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ? OFFSET ?`;
    return { sql, args: [...args, o.perPage + 1, offset], keys, cursor, backwards, offset };
  }

  /**
   * SQLite's query plan (EXPLAIN QUERY PLAN details) of a page and of its count: the tests pin
   * which index each filter and order walks, since a plan that scans the table or sorts it is
   * what makes a page slow at a million alerts.
   */
  explain(f: AlertFilter, o: ListOptions, facet?: string): { page: string[]; count: string[]; facet: string[] } {
    const plan = (sql: string, args: unknown[]) => (this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[]).map((r) => r.detail);
    const p = this.pageStatement(f, o);
    const c = this.countStatement(f, o.trackTotalHits ?? TRACK_TOTAL_HITS);
    const g = facet ? this.facetStatement(f, facet) : null;
    return { page: plan(p.sql, p.args), count: plan(c.sql, c.args), facet: g ? plan(g.sql, g.args) : [] };
  }

  /** One page of alerts with its cursors. */
  list(f: AlertFilter, o: ListOptions): { total: number; totalRelation: 'eq' | 'gte'; rows: AlertRow[]; next: string | null; prev: string | null; page?: number } {
    const counted = this.countUpTo(f, o.trackTotalHits ?? TRACK_TOTAL_HITS);
    const { sql, args, keys, cursor, backwards, offset } = this.pageStatement(f, o);
    const rows = this.db.prepare(sql).all(...args) as (AlertRow & Record<string, unknown>)[];
    const more = rows.length > o.perPage;
    if (more) rows.pop();
    if (backwards) rows.reverse();
    const keyOf = (r: Record<string, unknown>) => encodeCursor(keys.map((_, i) => r[`_k${i}`]));
    // Going forwards there is a previous page when we started after a cursor or an offset; going
    // backwards there is a next page (the one we came from).
    const hasNext = backwards ? true : more;
    const hasPrev = backwards ? more : cursor !== null || offset > 0;
    const clean = rows.map((r) => {
      const out = { ...r };
      for (let i = 0; i < keys.length; i++) delete out[`_k${i}`];
      return out as AlertRow;
    });
    return {
      total: counted.value,
      totalRelation: counted.relation,
      rows: clean,
      next: hasNext && rows.length > 0 ? keyOf(rows[rows.length - 1]!) : null,
      prev: hasPrev && rows.length > 0 ? keyOf(rows[0]!) : null,
      ...(cursor ? {} : { page: o.page ?? 1 }),
    };
  }

  /**
   * Alerts over time by severity: buckets of a round interval (about `buckets` of them over the
   * filter's time range, or the alerts' own when the filter has none).
   */
  histogram(f: AlertFilter, buckets = 60, intervalMs?: number) {
    let from = f.from ? Date.parse(f.from) : NaN;
    let to = f.to ? Date.parse(f.to) : NaN;
    if (Number.isNaN(from) || Number.isNaN(to)) {
      let r: { lo: string | null; hi: string | null };
      if (f.q) {
        // A search's matches: their first and last time, read with them.
        const w = this.where(f, true);
        r = this.db.prepare(`SELECT MIN(a."@timestamp") AS lo, MAX(a."@timestamp") AS hi FROM ${w.from} ${w.sql}`).get(...w.args) as typeof r;
      } else {
        // The first and last in time order (walks an index from each end; MIN/MAX with a filter would scan).
        const w = this.where(f);
        const end = (dir: string) => (this.db.prepare(`SELECT a."@timestamp" AS t FROM ${w.from} ${w.sql} ORDER BY a."@timestamp" ${dir} LIMIT 1`).get(...w.args) as { t: string } | undefined)?.t ?? null;
        r = { lo: end('ASC'), hi: end('DESC') };
      }
      if (r.lo === null || r.hi === null) return { interval_ms: intervalMs ?? 3_600_000, from: f.from ?? null, to: f.to ?? null, buckets: [] };
      if (Number.isNaN(to)) to = Date.parse(r.hi);
      // At least a quarter of an hour, so that a few alerts close together are not one wide bar.
      if (Number.isNaN(from)) from = Math.min(Date.parse(r.lo), to - 15 * 60_000);
    }
    const span = Math.max(1, to - from);
    const interval = intervalMs ?? INTERVALS.find((i) => span / i <= buckets) ?? INTERVALS[INTERVALS.length - 1]!;
    const start = Math.floor(from / interval) * interval;
    const n = Math.min(2000, Math.floor((to - start) / interval) + 1);
    const out = Array.from({ length: n }, (_, i) => ({ key: new Date(start + i * interval).toISOString(), low: 0, medium: 0, high: 0, critical: 0 }));
    const bounds = Array.from({ length: n + 1 }, (_, i) => new Date(start + i * interval).toISOString());
    if (f.q) {
      const v = this.where(f, true);
      // Under a search, one statement (its set of matches is built once, not once per count):
      // the matches' severities and times, bucketed by SQLite (times to whole milliseconds).
      const bucket = `CAST((CAST(round(unixepoch(a."@timestamp", 'subsec') * 1000) AS INTEGER) - ?) / ? AS INTEGER)`;
      // Every severity named: then the severity index (severity, status, time) holds all the
      // statement reads, for each severity a stretch of it per status, and no document is read.
      const sevs = f.severity ?? [...SEVERITIES];
      const cond = `${v.sql ? `${v.sql} AND` : 'WHERE'} ${severityColumn(f)} IN (${sevs.map(() => '?').join(',')}) AND a."@timestamp" >= ? AND a."@timestamp" < ?`;
      const sql = `SELECT a.severity AS s, ${bucket} AS b, COUNT(*) AS n FROM ${v.from} ${cond} GROUP BY 1, 2`;
      for (const r of this.db.prepare(sql).all(start, interval, ...v.args, ...sevs, bounds[0], bounds[n]) as { s: string; b: number; n: number }[]) {
        const o = out[r.b];
        if (o && (SEVERITIES as readonly string[]).includes(r.s)) o[r.s as (typeof SEVERITIES)[number]] += r.n;
      }
    } else {
      // One range count per severity and bucket, each walking a stretch of an index (comparing
      // ISO strings, not parsing times).
      const v = this.where(f);
      const cond = `${v.sql ? `${v.sql} AND` : 'WHERE'} ${severityColumn(f)} = ? AND a."@timestamp" >= ? AND a."@timestamp" < ?`;
      const count = this.db.prepare(`SELECT COUNT(*) AS n FROM ${v.from} ${cond}`);
      for (const sev of SEVERITIES) {
        if (f.severity && !f.severity.includes(sev)) continue;
        for (let i = 0; i < n; i++) out[i]![sev] = (count.get(...v.args, sev, bounds[i], bounds[i + 1]) as { n: number }).n;
      }
    }
    return { interval_ms: interval, from: new Date(from).toISOString(), to: new Date(to).toISOString(), buckets: out };
  }

  /** The grouping statement of a facet (rules by id, the rest by value, both with their counts). */
  private facetStatement(f: AlertFilter, field: string): { sql: string; args: unknown[] } {
    const col = FACETS[field];
    if (!col) throw badRequest(`no facet for [${field}]: use one of ${FACET_FIELDS.join(', ')}`, 'illegal_argument_exception');
    const w = this.where(f, true);
    const cond = `${w.sql ? `${w.sql} AND` : 'WHERE'} ${col} IS NOT NULL`;
    // With a rule, host or user filter, its index finds the rows and they are grouped apart (the
    // unary +): walking the faceted column's own index in its order would read the whole store.
    const group = `${filterNarrows(f) ? '+' : ''}${col}`;
    return { sql: `SELECT ${col} AS value, COUNT(*) AS count FROM ${w.from} ${cond} GROUP BY ${group}`, args: w.args };
  }

  /** The most frequent values of a field among the filtered alerts (for filter menus). */
  facets(f: AlertFilter, field: string, size = 50) {
    const st = this.facetStatement(f, field);
    if (field !== 'rule') {
      const sql = `${st.sql} ORDER BY count DESC, value ASC LIMIT ?`;
      return { field, values: this.db.prepare(sql).all(...st.args, size) as { value: string; count: number }[] };
    }
    // Rules are counted by id (the rule index holds it; names are only in the rows) and shown by
    // their latest name (ids shown under one name counted together).
    const nameOf = this.ruleCatalog().nameOf;
    const byName = new Map<string, number>();
    for (const r of this.db.prepare(st.sql).all(...st.args) as { value: string; count: number }[]) {
      const name = nameOf.get(r.value) ?? r.value;
      byName.set(name, (byName.get(name) ?? 0) + r.count);
    }
    const values = [...byName].map(([value, count]) => ({ value, count }));
    values.sort((x, y) => y.count - x.count || (x.value < y.value ? -1 : x.value > y.value ? 1 : 0));
    return { field, values: values.slice(0, size) };
  }

  /** Ids of every alert the filter matches (bulk status by query), at most `limit`. */
  ids(f: AlertFilter, limit: number): string[] {
    const w = this.where(f);
    return (this.db.prepare(`SELECT a.id FROM ${w.from} ${w.sql} LIMIT ?`).all(...w.args, limit) as { id: string }[]).map((r) => r.id);
  }
}
