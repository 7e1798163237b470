// `eqlite hunt [--rules PATH]… INPUT…`: runs EQL detection rules over log files and writes
// Kibana-shaped alerts (table, NDJSON or JSON on stdout; NDJSON file with --out; SQLite with --db).
// Progress (TTY only) and the end-of-run summary go to stderr, so stdout stays machine-readable.
import { MAPPING_OPTION_HELP, readMappingOption } from './mapping-option.js';
import type { IndexMappings } from '../engine/mapping.js';
import { hostIpOption, threadsOption, type HostIpMode } from './threads.js';
import { shapeWarnings, TimelessCounter } from './diagnose.js';
import { existsSync } from 'node:fs';
import { formatBytes, memoryOption, parseMemory } from './memory.js';
import { Command, InvalidArgumentError, Option } from 'commander';
import type CliProgress from 'cli-progress';
import { createRequire } from 'node:module';
import { hunt, HuntError, TimeExpressionError, type HuntStats } from '../detect/hunt.js';
import type { Alert } from '../detect/alerts.js';
import { InputError } from '../events/sources.js';
import { mappedOnRead } from '../events/inputs.js';
import { loadValueLists } from '../rules/exceptions.js';
import { defaultRulesDir, skippedPlace, type LoadResult } from '../rules/load.js';
import { UserError } from './errors.js';
import { addSelectionOptions, loadSelectedRules, type SelectionCliOptions } from './rule-selection.js';
import { openAlertStore, StoreError, type AlertStore } from '../store/sqlite.js';
import { LineStream, NdjsonFile, OutputError } from './sinks.js';
import { getField } from '../engine/fields.js';
import { escapeControl, escapeJsonControls, escapeLines } from '../util/terminal.js';
import { CACHE_HOME_ENV, cacheDir } from '../util/cache-dir.js';
import { handleInterrupts, interruptExitCode, interruptName } from './interrupt.js';
import { markStartup } from '../util/startup-trace.js';
import { DEFAULT_HEAP_BUDGET } from '../util/heap-growth.js';
import { CHILD_ENV, inputBytes, listenToParent, rerunInChild, youngGenerationDecision, type YoungDecision } from './young-rerun.js';
import { queryProblemPlace } from '../rules/query-place.js';

// The progress bar's module is loaded only when a bar is shown (stderr a terminal).
const require = createRequire(import.meta.url);
const cliProgressModule = (): typeof CliProgress => require('cli-progress') as typeof CliProgress;

export type HuntFormat = 'table' | 'ndjson' | 'json' | 'none';

export interface HuntCliOptions extends SelectionCliOptions {
  rules?: string[];
  out?: string;
  db?: string;
  from?: string;
  to?: string;
  schedule?: boolean;
  singleWindow?: boolean;
  format?: HuntFormat;
  index?: string;
  timestampField?: string;
  maxSignals?: number;
  reorderWindow?: number;
  memory?: number;
  threads?: number;
  hostIp?: HostIpMode;
  valueList?: string[];
  mapping?: string;
  progress?: boolean;
  /** false (`--no-cache`): no rule-set snapshot or outline cache is read or written. */
  cache?: boolean;
}

function parseFormat(v: string): HuntFormat {
  if (v === 'table' || v === 'ndjson' || v === 'json' || v === 'none') return v;
  throw new InvalidArgumentError('expected table, ndjson, json or none');
}

function parseNonNegative(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

function parsePositive(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

const MAX_WARNINGS_SHOWN = 50;

const collectList = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

export interface HuntIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/**
 * Runs a hunt from CLI options; returns the exit code (0 ok, 2 usage/input/output error; 130 or
 * 143 when `signal` stopped it, after writing what was done and the summary).
 */
export async function runHunt(
  inputs: string[],
  o: HuntCliOptions,
  io: HuntIo = { stdout: process.stdout, stderr: process.stderr },
  signal?: AbortSignal,
): Promise<number> {
  // Everything shown on stderr may quote data (host and rule names, file names): escaped.
  const err = (s: string) => io.stderr.write(escapeLines(s) + '\n');
  const started = Date.now();
  let budget: number;
  try {
    budget = heapBudget();
  } catch (e) {
    err(`error: ${(e as Error).message}`);
    return 2;
  }
  if (inputs.length === 0) {
    err('error: no inputs given (files or directories of NDJSON, JSON, ES hits or EVTX; "-" for stdin)');
    return 2;
  }
  // The rules are checked before any input is read: a typo in --rules must not cost a long read.
  const rulePaths = o.rules && o.rules.length > 0 ? o.rules : undefined;
  for (const p of rulePaths ?? []) {
    if (!existsSync(p)) {
      err(`error: cannot read rules ${p}: no such file or directory`);
      return 2;
    }
  }
  let loaded: LoadResult;
  let notes: string[];
  try {
    markStartup('hunt started');
    const selected = loadSelectedRules(rulePaths, o, { cache: o.cache });
    markStartup('rules loaded');
    // Warnings about the selection now; which rule set ran, with the summary.
    for (const n of selected.notes) if (n.startsWith('warning:')) err(n);
    notes = selected.notes.filter((n) => !n.startsWith('warning:'));
    loaded = selected;
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    err(`error: ${e.message}`);
    return 2;
  }
  if (!loaded.rules.some((r) => r.type === 'eql')) {
    const invalid = loaded.skipped.filter((s) => s.kind === 'invalid');
    // One line per file and reason: an event file given with --rules would repeat one reason per line.
    const groups = new Map<string, { first: (typeof invalid)[number]; n: number }>();
    for (const s of invalid) {
      const g = groups.get(`${s.file}\0${s.reason}`);
      if (g) g.n++;
      else groups.set(`${s.file}\0${s.reason}`, { first: s, n: 1 });
    }
    for (const { first, n } of [...groups.values()].slice(0, 10)) err(`${skippedPlace(first)}: ${first.reason}${n > 1 ? ` (and ${n - 1} more line(s) of this file alike)` : ''}`);
    if (invalid.some((s) => s.reason.startsWith('unrecognised object'))) err('hint: events are given as inputs (eqlite hunt FILE…), rules with --rules');
    const found = loaded.rules.length > 0 ? ` (${loaded.rules.length} rule(s) of other types)` : '';
    err(`error: no EQL rule in ${(rulePaths ?? [defaultRulesDir()]).join(', ')}${found}; give rule files or directories with --rules (detection-rules TOML, Kibana export NDJSON, JSON)`);
    return 2;
  }
  let valueLists: Map<string, Set<string>> | undefined;
  let mapping: IndexMappings | undefined;
  try {
    if (o.valueList && o.valueList.length > 0) valueLists = loadValueLists(o.valueList);
    if (o.mapping !== undefined) mapping = readMappingOption(o.mapping);
  } catch (e) {
    err(`error: ${(e as Error).message}`);
    return 2;
  }
  // Default output: a table for people, NDJSON for pipes; nothing when alerts go to a file/db.
  const format: HuntFormat = o.format ?? (o.out || o.db ? (io.stdout.isTTY ? 'table' : 'none') : io.stdout.isTTY ? 'table' : 'ndjson');

  // Outputs are opened before any input is read: a missing directory must not cost a long hunt.
  // Alerts go to FILE.partial, renamed to FILE at the end (see sinks.ts).
  let outFile: NdjsonFile | null = null;
  let store: AlertStore | null = null;
  try {
    if (o.out) outFile = NdjsonFile.open(o.out);
  } catch (e) {
    if (!(e instanceof OutputError)) throw e;
    err(`error: ${e.message}`);
    return 2;
  }
  try {
    if (o.db) store = openAlertStore(o.db, { onWait: (m) => err(`warning: ${m}`) });
  } catch (e) {
    err(`error: cannot open database ${o.db}: ${(e as Error).message}`);
    outFile?.abandon();
    return 2;
  }
  const stdout = new LineStream(io.stdout);
  // A closed stdout (`| head`) ends the hunt when nothing else receives the alerts.
  const stdoutOnly = !outFile && !store;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  signal?.addEventListener('abort', onSignal);

  const useBar = o.progress !== false && io.stderr.isTTY === true;
  const bar = useBar
    ? new (cliProgressModule().SingleBar)(
        {
          format: 'hunt [{bar}] {percentage}% | {mb}/{totalMb} MB | {events} events | {rate} ev/s | ETA {eta_formatted}',
          stream: io.stderr as NodeJS.WritableStream,
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 50,
        },
        cliProgressModule().Presets.shades_classic,
      )
    : null;
  let barStarted = false;
  const pendingDb: Alert[] = [];
  // Alerts --db did not hold before (it is create-only by id): a rerun says how many are new.
  let dbAdded = 0;
  const countAdded = (n: number) => (dbAdded += n);
  // The table is sorted by time, so its rows wait for the end — as short, capped strings, never
  // whole alerts. A JSON array is streamed like NDJSON (one element held back for its comma).
  const tableRows: string[][] = [];
  const sequenceSteps = new Map<string, { first: unknown; reason: unknown }>();
  const json = new JsonArrayWriter(stdout);
  const onAlert = (a: Alert) => {
    const line = JSON.stringify(a);
    if (outFile) outFile.write(line);
    if (format === 'ndjson' || format === 'json') {
      if (format === 'ndjson') stdout.write(escapeJsonControls(line));
      else json.add(a);
      if (stdout.closed && stdoutOnly) stop.abort();
    } else if (format === 'table') {
      // A shell's own reason holds only what all steps share, and its original_time is when the
      // rule ran (Kibana takes it from the first building block's @timestamp); the table shows
      // the last step's reason, which names the process that completed the sequence, and the
      // first step's time. Steps are the alerts with a group index (as Kibana tells them apart).
      if (a['kibana.alert.group.index'] !== undefined) {
        const g = String(a['kibana.alert.group.id']);
        const seen = sequenceSteps.get(g);
        sequenceSteps.set(g, { first: seen ? seen.first : a['kibana.alert.original_time'], reason: a['kibana.alert.reason'] });
      } else {
        const step = sequenceSteps.get(String(a['kibana.alert.uuid']));
        tableRows.push(alertTableRow(step === undefined ? a : { ...a, 'kibana.alert.original_time': step.first, 'kibana.alert.reason': `sequence: ${String(step.reason)}` }));
        sequenceSteps.delete(String(a['kibana.alert.uuid']));
      }
    }
    if (store) {
      pendingDb.push(a);
      if (pendingDb.length >= 1000) flushSinks();
    }
  };
  // Alerts reach --out and --db together, at most 1,000 alerts or about a second after they were
  // found: a hunt over a quiet stdin, or one that is interrupted or killed, has stored what it found.
  const flushSinks = () => {
    outFile?.flush();
    if (store && pendingDb.length > 0) dbAdded += store.write(pendingDb.splice(0));
  };
  let sinkError: unknown = null;
  const flusher = setInterval(() => {
    try {
      flushSinks();
    } catch (e) {
      sinkError ??= e;
      stop.abort();
    }
  }, 1000);
  flusher.unref();
  const warnings: string[] = [];
  let warningCount = 0;
  let stats: HuntStats;
  const timeless = new TimelessCounter();
  try {
    const result = await hunt({
      rules: loaded.rules,
      exceptionLists: loaded.exceptionLists,
      valueLists,
      mapping,
      inputs,
      index: o.index,
      timestampField: o.timestampField,
      from: o.from,
      to: o.to,
      schedule: o.schedule,
      singleWindow: o.singleWindow,
      maxSignals: o.maxSignals,
      reorderWindow: o.reorderWindow,
      memory: o.memory,
      threads: o.threads,
      heapBudget: budget,
      hostIp: o.hostIp,
      outlines: o.cache === false ? undefined : cacheDir(),
      collect: false,
      onAlert,
      backpressure: () => stdout.drain(),
      signal: stop.signal,
      onSkip: timeless.add,
      onWarning: (m) => {
        // A noisy rule replayed over weeks can hit max_signals in thousands of windows: show the
        // first warnings, count the rest in the summary.
        if (++warningCount > MAX_WARNINGS_SHOWN) return;
        if (bar) warnings.push(m);
        else err(`warning: ${m}`);
      },
      onProgress: (p) => {
        if (!bar) return;
        const secs = Math.max(0.001, (Date.now() - started) / 1000);
        const payload = {
          mb: (p.bytes / 1e6).toFixed(1),
          totalMb: (p.totalBytes / 1e6).toFixed(1),
          events: p.events,
          rate: Math.round(p.events / secs),
        };
        if (!barStarted) {
          bar.start(Math.max(1, p.totalBytes), p.bytes, payload);
          barStarted = true;
        } else bar.update(p.bytes, payload);
      },
    });
    if (sinkError) throw sinkError;
    stats = result.stats;
  } catch (e) {
    clearInterval(flusher);
    if (barStarted) bar!.stop();
    signal?.removeEventListener('abort', onSignal);
    if (e instanceof InputError || e instanceof HuntError || e instanceof TimeExpressionError || e instanceof OutputError || e instanceof StoreError) {
      // What was written stays: whole lines in --out, whole transactions in --db.
      err(`error: ${e.message}`);
      // The alerts already printed as a JSON array stay a valid array.
      if (format === 'json' && !(e instanceof OutputError)) json.end(false);
      const stored = e instanceof StoreError ? closeStore(store, [], countAdded) : closeStore(store, pendingDb, countAdded);
      if (stored) err(`error: ${stored.message}`);
      if (outFile && !(e instanceof OutputError) && outFile.written === 0) {
        // Nothing was written (a missing input, a bad --from): the previous FILE stays as it was.
        outFile.abandon();
      } else if (outFile) {
        const kept = outFile.close();
        if (!(e instanceof OutputError)) err(kept ? `error: ${kept.message}` : `${outFile.lines} alert(s) written to ${o.out} before the error`);
        else err(`${outFile.lines} whole alert line(s) kept in ${o.out}`);
      }
      return 2;
    }
    throw e;
  }
  clearInterval(flusher);
  signal?.removeEventListener('abort', onSignal);
  if (barStarted) bar!.stop();
  for (const m of warnings) err(`warning: ${m}`);
  if (warningCount > MAX_WARNINGS_SHOWN) err(`warning: … ${warningCount - MAX_WARNINGS_SHOWN} more warnings not shown`);
  let failed = false;
  const stored = closeStore(store, pendingDb, countAdded);
  if (stored) {
    err(`error: ${stored.message}`);
    failed = true;
  }
  const written = outFile?.close();
  if (written) {
    err(`error: ${written.message}`);
    failed = true;
  }
  try {
    if (format === 'json') json.end();
    if (format === 'table') await writeTable(tableRows, stdout);
    await stdout.end();
  } catch (e) {
    if (!(e instanceof OutputError)) throw e;
    err(`error: ${e.message}`);
    failed = true;
  }
  // `| head` closed stdout with nothing else receiving alerts: stop quietly, as `head` expects.
  if (stdout.closed && stdoutOnly) return 0;
  err(formatHuntSummary(stats, loaded, (Date.now() - started) / 1000, { out: o.out, db: o.db, dbAdded }));
  for (const w of shapeWarnings(stats.inputShapes ?? [], timeless, o.timestampField ?? '@timestamp')) err(`warning: ${w}`);
  const disjoint = rangeMisses(stats.range, o);
  if (disjoint) err(`warning: ${disjoint}`);
  for (const n of notes) err(n);
  if (stats.interrupted) {
    // Stopped while the out-of-order inputs were sorted: no event has reached the sorted pass yet,
    // so "after 0 events" would belie the reading done; say where it stopped instead.
    const where = stats.events === 0 && stats.sorted ? `while the inputs were being sorted (${stats.sorted.events} events sorted so far)` : `after ${stats.events} events`;
    err(`interrupted (${interruptName(signal)}) ${where}: the alerts of completed rule runs were written; runs still open were not alerted — rerun to complete them` + (o.db ? ` (${o.db} keeps one row per alert: no duplicates)` : ''));
    return interruptExitCode(signal);
  }
  if (failed) return 2;
  if (stats.rulesRun === 0) {
    err('error: no runnable EQL rules were loaded');
    return 2;
  }
  return 0;
}

/**
 * The heap budget (HuntOptions.heapBudget): DEFAULT_HEAP_BUDGET, or EQLITE_HEAP_BUDGET, a size such
 * as 768M (0: V8's own growing factor, as before there was a budget).
 */
function heapBudget(): number {
  const v = process.env.EQLITE_HEAP_BUDGET;
  if (v === undefined || v === '') return DEFAULT_HEAP_BUDGET;
  if (v.trim() === '0') return 0;
  try {
    return parseMemory(v);
  } catch {
    throw new Error(`EQLITE_HEAP_BUDGET: expected a size such as 768M, or 0; got ${JSON.stringify(v)}`);
  }
}

/** Writes the alerts still pending and closes the store; the store's error, if any. */
function closeStore(store: AlertStore | null, pending: Alert[], onAdded: (n: number) => void): StoreError | null {
  if (!store) return null;
  try {
    if (pending.length > 0) onAdded(store.write(pending.splice(0)));
    return null;
  } catch (e) {
    if (e instanceof StoreError) return e;
    throw e;
  } finally {
    store.close();
  }
}

function first(v: unknown): string {
  if (Array.isArray(v)) return v.length > 0 ? String(v[0]) : '';
  return v === undefined || v === null ? '' : String(v);
}

/** Alerts (shells and single-event alerts, as the Kibana Alerts page lists them) as a text table. */
/** Widest cell of each table column (longer cells are cut with …); the reason may be wider. */
const TABLE_WIDTHS = [48, 48, 48, 48, 48, 48, 80];
const TABLE_HEAD = ['original time', 'severity', 'risk', 'rule', 'host', 'user', 'reason'];

/**
 * One alert as a table row: the columns Kibana's Alerts page lists, escaped (cells come from event
 * and rule data: terminal controls show as \u001b…) and capped one past their widest cell (enough
 * to know the cell is cut), so that a hunt of millions of alerts keeps only short strings.
 */
export function alertTableRow(a: Alert): string[] {
  return [
    first(a['kibana.alert.original_time']),
    first(a['kibana.alert.severity']),
    String(a['kibana.alert.risk_score'] ?? ''),
    first(a['kibana.alert.rule.name']),
    first(getField(a, 'host.name')),
    first(getField(a, 'user.name')),
    first(a['kibana.alert.reason']),
  ].map((c, i) => escapeControl(c.length > TABLE_WIDTHS[i]! + 1 ? c.slice(0, TABLE_WIDTHS[i]! + 1) : c));
}

/** The table's lines in time order (rows sorted in place; widths found by a loop, not by spreading every row into Math.max). */
function tableLines(rows: string[][]): string[] {
  if (rows.length === 0) return ['no alerts'];
  rows.sort((x, y) => (x[0]! < y[0]! ? -1 : x[0]! > y[0]! ? 1 : 0));
  const widths = TABLE_HEAD.map((h) => h.length);
  for (const r of rows) for (let i = 0; i < widths.length; i++) if (r[i]!.length > widths[i]!) widths[i] = r[i]!.length;
  for (let i = 0; i < widths.length; i++) widths[i] = Math.min(TABLE_WIDTHS[i]!, widths[i]!);
  const cell = (s: string, w: number) => (s.length > w ? s.slice(0, w - 1) + '…' : s.padEnd(w));
  const line = (r: string[]) => r.map((c, i) => cell(c, widths[i]!)).join('  ').trimEnd();
  const out = [line(TABLE_HEAD), line(widths.map((w) => '-'.repeat(w)))];
  for (const r of rows) out.push(line(r));
  return out;
}

export function formatAlertTable(alerts: Alert[]): string {
  return tableLines(alerts.map(alertTableRow)).join('\n') + '\n';
}

/** Prints the table a line at a time, waiting whenever stdout is full. */
async function writeTable(rows: string[][], out: LineStream): Promise<void> {
  const lines = tableLines(rows);
  rows.length = 0;
  for (const l of lines) {
    out.write(l);
    const full = out.drain();
    if (full) await full;
    if (out.closed) return;
  }
}

/**
 * `--format json`: one JSON array, as JSON.stringify(alerts, null, 2) prints it, written element
 * by element as alerts are found (they were all held until the end: memory grew with the alerts,
 * not with max_signals). The last element waits for the next one to know whether a comma follows.
 */
class JsonArrayWriter {
  private opened = false;
  private pending: string | null = null;
  private ended = false;

  constructor(private readonly out: LineStream) {}

  add(a: Alert): void {
    if (!this.opened) {
      this.out.write('[');
      this.opened = true;
    }
    if (this.pending !== null) this.out.write(this.pending + ',');
    this.pending = '  ' + escapeJsonControls(JSON.stringify(a, null, 2)).replace(/\n/g, '\n  ');
  }

  /** Closes the array; prints `[]` when no alert came, unless `empty` is false (a failed hunt). */
  end(empty = true): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.opened) return empty ? this.out.write('[]') : undefined;
    if (this.pending !== null) this.out.write(this.pending);
    this.out.write(']');
  }
}

function countBy<T>(items: T[], key: (t: T) => string): [string, number][] {
  const m = new Map<string, number>();
  for (const it of items) m.set(key(it), (m.get(key(it)) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

/**
 * --from after the last event, or --to before the first (`--from now-24h` over last year's logs):
 * the replayed range is then empty — it ends before it starts — and no event can alert. Says so,
 * instead of a bare "alerts: 0" under a reversed range.
 */
export function rangeMisses(range: HuntStats['range'], o: { from?: string; to?: string }): string | null {
  if (!range || range.to === null || Date.parse(range.from) <= Date.parse(range.to)) return null;
  if (o.from !== undefined) return `--from ${o.from} (${range.from}) is after the last event (${range.to}): no event lies in the hunt's range`;
  if (o.to !== undefined) return `--to ${o.to} (${range.to}) is before the first event (${range.from}): no event lies in the hunt's range`;
  return null;
}

/** The stderr summary: what was read, what ran, what was skipped and why, what alerted. */
export function formatHuntSummary(stats: HuntStats, loaded: LoadResult, seconds: number, dest: { out?: string; db?: string; dbAdded?: number } = {}): string {
  const L: string[] = [];
  const mb = (stats.bytes / 1e6).toFixed(1);
  L.push(`hunt: ${stats.events} events from ${stats.inputs} input(s) (${mb} MB) in ${seconds.toFixed(1)}s`);
  if (stats.range) L.push(`schedule replay over ${stats.range.from} – ${stats.range.to ?? 'end of data'}`);
  // Without events nothing ran, in either mode (a replay has no range then: it is not 'single').
  else if (stats.rulesRun > 0 && stats.events > 0) L.push('single window: each rule ran once over all events');
  if (stats.sorted) {
    const x = stats.sorted;
    L.push(`inputs were sorted: ${x.reason}`);
    L.push(
      x.runs === 0
        ? `  sorted ${x.events} events in memory (budget ${formatBytes(x.memory)})`
        : `  sorted ${x.events} events through ${x.runs} temporary file(s), ${formatBytes(x.spilledBytes)} written${x.mergePasses > 0 ? ` in ${x.mergePasses + 1} merge passes` : ''} (memory budget ${formatBytes(x.memory)}, --memory)`,
    );
  }
  // Rules
  const skippedByType = countBy(stats.rulesSkipped, (r) => r.type);
  L.push(
    `rules: ${loaded.rules.length} loaded, ${stats.rulesRun} run` +
      (stats.rulesSkipped.length > 0 ? `, ${stats.rulesSkipped.length} skipped (${skippedByType.map(([t, n]) => `${n} ${t}`).join(', ')})` : '') +
      (loaded.skipped.length > 0 ? `; ${loaded.skipped.length} rule file entries not loaded` : ''),
  );
  // Each reason names a rule it skipped (the first), so the rule can be found and fixed.
  for (const [reason, n] of countBy(stats.rulesSkipped, (r) => r.reason).slice(0, 10)) {
    const r = stats.rulesSkipped.find((x) => x.reason === reason)!;
    // A query that does not compile is named at its mistake (file:line:column), as validate does.
    const rule = reason.startsWith('query does not compile') ? loaded.rules.find((x) => x.rule_id === r.rule_id && x.origin.file === r.file && x.origin.line === r.line) : undefined;
    const place = (rule && queryProblemPlace(rule)) ?? `${r.file}${r.line !== undefined ? `:${r.line}` : ''}`;
    L.push(`  skipped ${n}: ${reason} (${n > 1 ? 'e.g. ' : ''}rule "${r.name}" in ${place})`);
  }
  // Deprecated rules are skipped on purpose: a count is enough. Invalid entries are listed.
  const deprecated = loaded.skipped.filter((s) => s.kind === 'deprecated').length;
  if (deprecated > 0) L.push(`  not loaded: ${deprecated} deprecated rules`);
  const invalid = loaded.skipped.filter((s) => s.kind === 'invalid');
  for (const s of invalid.slice(0, 10)) L.push(`  not loaded (invalid): ${skippedPlace(s)}: ${s.reason}`);
  if (invalid.length > 10) L.push(`  … ${invalid.length - 10} more invalid entries`);
  // Events
  let skippedTotal = 0;
  for (const v of stats.skipped.values()) skippedTotal += v.count;
  if (skippedTotal > 0) {
    L.push(`skipped ${skippedTotal} lines/records/events:`);
    for (const [, v] of [...stats.skipped].sort((a, b) => b[1].count - a[1].count).slice(0, 10)) L.push(`  ${v.count} × e.g. ${v.example}`);
  }
  // The host.ip pass, when it ran over Windows events that eqlite mapped (ECS documents carry their own).
  let mappedWindows = 0;
  for (const { shape } of stats.inputShapes ?? []) mappedWindows += mappedOnRead(shape);
  if (stats.hostAddresses && mappedWindows > 0) {
    const h = stats.hostAddresses;
    L.push(
      h.files === 0
        ? 'host.ip: not derived: stdin is read only once (give the files themselves to derive it)'
        : h.hosts > 0
        ? `host.ip: ${h.addresses} address(es) of ${h.hosts} machine(s) found in their own outbound connections (Sysmon 3, Security 5156-5159) and set on their Windows events`
        : 'host.ip: no machine revealed its own address (no outbound Sysmon 3 or Security 5156-5159 events), so the Windows events read have no host.ip',
    );
  }
  if (stats.unrouted > 0) L.push(`${stats.unrouted} events were handed to no rule (no index pattern, category or required field value matched)`);
  const excepted = stats.perRule.reduce((n, r) => n + r.excepted, 0);
  if (excepted > 0) L.push(`${excepted} events withheld by rule exceptions`);
  const filtered = stats.perRule.reduce((n, r) => n + r.filtered, 0);
  if (filtered > 0) L.push(`${filtered} events rejected by rule filters`);
  const outside = stats.perRule.reduce((n, r) => n + r.outsideWindows, 0);
  if (outside > 0) L.push(`${outside} rule-event pairs fell outside every schedule window`);
  // max_signals: how much the per-run cap cut (Kibana keeps a run's most recent max_signals matches).
  const capped = stats.perRule.filter((r) => r.maxSignalsReached > 0);
  if (capped.length > 0) {
    const runs = capped.reduce((n, r) => n + r.maxSignalsReached, 0);
    const dropped = capped.reduce((n, r) => n + r.dropped, 0);
    L.push(`max_signals: ${runs} run(s) of ${capped.length} rule(s) reached it; ${dropped} older match(es) were cut from those runs (an overlapping run may have alerted some of them)`);
    for (const r of capped.sort((a, b) => b.dropped - a.dropped || (a.name < b.name ? -1 : 1)).slice(0, 20)) {
      L.push(`  ${r.dropped} cut in ${r.maxSignalsReached} run(s): ${r.name}`);
    }
    if (capped.length > 20) L.push(`  … ${capped.length - 20} more rules`);
  }
  // Alerts
  const rules = stats.perRule.filter((r) => r.alerts > 0);
  L.push(`alerts: ${stats.alerts}` + (stats.duplicates > 0 ? ` (${stats.duplicates} found again by overlapping windows, not duplicated)` : ''));
  if (stats.alerts > 0) {
    const sev = new Map<string, number>();
    for (const r of rules) sev.set(r.severity, (sev.get(r.severity) ?? 0) + r.alerts);
    const order = ['critical', 'high', 'medium', 'low'];
    L.push(`  by severity: ${[...sev].sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0])).map(([s, n]) => `${s} ${n}`).join(', ')}`);
    L.push('  by rule:');
    for (const r of rules.sort((a, b) => b.alerts - a.alerts || (a.name < b.name ? -1 : 1))) L.push(`    ${r.alerts}  ${r.name} (${r.severity})`);
    if (stats.hosts.size > 0) {
      L.push('  by host:');
      for (const [h, n] of [...stats.hosts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 20)) L.push(`    ${n}  ${h}`);
    }
  }
  if (dest.out) L.push(`alerts written to ${dest.out}`);
  if (dest.db) {
    // The others were stored by an earlier hunt (or another path to the same events): kept as they were.
    const before = dest.dbAdded === undefined ? 0 : stats.alerts - dest.dbAdded;
    L.push(`alerts stored in ${dest.db}` + (dest.dbAdded === undefined ? '' : ` (${dest.dbAdded} new${before > 0 ? `, ${before} stored before` : ''})`));
  }
  return L.join('\n');
}

/** Adds the `hunt` command to the CLI program. */
export function registerHunt(program: Command): Command {
  const cmd = program
    .command('hunt')
    .description('run EQL detection rules over log files and write Kibana-shaped alerts')
    .argument('<inputs...>', 'files or directories: NDJSON, JSON, Elasticsearch hits, EVTX, Windows XML, NXLog JSON (optionally .gz); "-" for stdin')
    .option('-r, --rules <path>', 'rule file or directory (repeatable; default: the installed Elastic rule set, else the bundled rule)', collectList)
    .option('-o, --out <file>', 'write alerts as NDJSON to FILE')
    .option('--db <file>', 'store alerts in a SQLite database (idempotent: reruns do not duplicate)')
    .option('--from <time>', 'hunt from TIME (ISO 8601 or date math, e.g. now-24h): the replayed runs start here')
    .option('--to <time>', 'hunt up to TIME (ISO 8601 or date math)')
    .option('--single-window', 'run each rule once over all the data (or --from/--to) with one max_signals budget, instead of replaying its schedule')
    .option('--schedule', "replay each rule's schedule over the data's time span (the default)")
    .addOption(new Option('--format <format>', 'stdout: table (default on a terminal), ndjson (default in a pipe; none when --out or --db is given), json or none').argParser(parseFormat))
    .option('--index <name>', 'index name for events that carry none (no _index, data_stream or Beats agent fields)')
    .option('--timestamp-field <field>', 'field ordering events (default @timestamp)')
    .addOption(new Option('--max-signals <n>', "override every rule's max_signals").argParser(parsePositive))
    .addOption(new Option('--reorder-window <n>', 'events held to repair out-of-order input (default: adaptive, 256 per input growing to 4000 at the first out-of-order event; 0: no reordering)').argParser(parseNonNegative))
    .addOption(memoryOption())
    .addOption(threadsOption('hunt'))
    .addOption(hostIpOption())
    .option('--value-list <file>', 'value list for "is in list" exceptions (repeatable)', collectList)
    .option('--mapping <file>', MAPPING_OPTION_HELP)
    .option('--no-progress', 'no progress bar')
    .option('--no-cache', 'load and compile every rule from its file, without reading or writing the cache directory ($EQLITE_CACHE_HOME)');
  return addSelectionOptions(cmd)
    .action(async (inputs: string[], o: HuntCliOptions) => {
      // A hunt over large files runs again in a child with a larger young generation for its main
      // isolate (young-rerun.ts); decided before anything else, so that this process does nothing
      // but wait for it.
      if (process.env[CHILD_ENV] !== undefined) {
        markStartup(`young generation: re-run child (pid ${process.pid}), execArgv ${JSON.stringify(process.execArgv)}`);
        listenToParent();
      } else {
        let decision: YoungDecision;
        try {
          decision = youngGenerationDecision(process.env, process.execArgv, (enough) => inputBytes(inputs, enough));
        } catch (e) {
          process.stderr.write(`error: ${(e as Error).message}\n`);
          process.exitCode = 2;
          return;
        }
        if (decision.rerun) await rerunInChild(decision.semiSpaceMb);
      }
      // Ctrl-C or kill: the hunt stops at its next batch, writes what is done and the summary, and
      // exits 130 (SIGINT) or 143 (SIGTERM). A second signal ends the process at once (FILE.partial
      // then holds the whole alert lines written so far).
      const stop = handleInterrupts();
      // --no-cache is EQLITE_CACHE_HOME=off for the whole process: besides the snapshot and the
      // outlines (turned off through `o.cache`), the ECS field types read by the type checks and
      // the router are kept in the cache directory by a module far from here, and worker threads
      // inherit the environment.
      if (o.cache === false) process.env[CACHE_HOME_ENV] = 'off';
      const code = await runHunt(inputs, o, { stdout: process.stdout, stderr: process.stderr }, stop.signal);
      stop.dispose();
      // Interrupted: an abandoned read (a quiet stdin) would keep the process alive.
      if (stop.signal.aborted) process.exit(code);
      if (code !== 0) process.exitCode = code;
    });
}
