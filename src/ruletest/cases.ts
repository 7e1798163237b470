// Test cases of detection rules ("detection as code"): where they live and what they say.
//
// A rule's tests live next to it, in a folder named like the rule file without `.toml` plus
// `.test` (`rules/windows/foo.toml` → `rules/windows/foo.test/`), or in a folder given with
// `--tests`. Every `*.toml` file in such a folder (not below it) holds cases:
//
//   rule = "b64b183e-…"          # optional: the rule_id the file's cases are for (needed with --tests)
//
//   [[case]]
//   name = "cscript loads wmiutils.dll, WmiPrvSE starts rundll32 2 s later"
//   events = ["positive.ndjson"]   # files (NDJSON, JSON, ES hits, .gz, .evtx) relative to this file
//   matches = [["positive.ndjson:1", "positive.ndjson:2"]]
//
// The expected outcome is exactly one of
//   expect = "none"              no alert;
//   alerts = N                   N alerts (one per matching event, sequence or sample);
//   matches = [[ref, …], …]      the alerts' events, in sequence order; alerts in any order.
// An event ref is the event's `_id` when the input gives one, else `<file>:<line>` (JSON inputs)
// or `<file>:r<record id>` (EVTX), with the file relative to the case file.
// Optional per case: `rule` (overrides the file's), `index` (index of events that carry none),
// `description`. Unknown keys are errors, so a typo never turns a test into one that cannot fail.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { readFileCapped } from '../util/files.js';

export type Expectation = { kind: 'none' } | { kind: 'count'; alerts: number } | { kind: 'matches'; matches: string[][] } | { kind: 'missing' };

export interface TestCase {
  name: string;
  /** The case file and the `[[case]]` number (0-based) in it. */
  file: string;
  index: number;
  /** Line of the case's `[[case]]` header. */
  line: number;
  /** rule_id the case is for, when the file or case names one. */
  rule?: string;
  /** Event files, resolved (absolute). */
  events: string[];
  /** Index for events that carry none. */
  eventIndex?: string;
  description?: string;
  expect: Expectation;
}

export interface CaseFileProblem {
  file: string;
  line?: number;
  reason: string;
}

export interface CaseFile {
  file: string;
  rule?: string;
  cases: TestCase[];
  problems: CaseFileProblem[];
}

const CASE_KEYS = new Set(['name', 'events', 'expect', 'alerts', 'matches', 'rule', 'index', 'description']);
const FILE_KEYS = new Set(['rule', 'case']);

/** The tests folder of a rule file: `<file without .toml>.test`, when it exists. */
export function testsDirFor(ruleFile: string): string | null {
  if (!/\.toml$/i.test(ruleFile)) return null;
  const dir = ruleFile.replace(/\.toml$/i, '.test');
  return existsSync(dir) && statSync(dir).isDirectory() ? dir : null;
}

/** The case files of a tests folder, in name order. */
export function caseFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.toLowerCase().endsWith('.toml') && !n.startsWith('.'))
    .sort()
    .map((n) => path.join(dir, n));
}

/** Lines of the `[[case]]` headers of a case file, in order. */
export function caseHeaderLines(text: string): number[] {
  const out: number[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) if (/^\s*\[\[\s*case\s*\]\]\s*(#.*)?\r?$/.test(lines[i]!)) out.push(i + 1);
  return out;
}

/**
 * Line (1-based) of the first `key = …` in lines [from, to) of a case file (1-based, `to`
 * excluded), the key bare or quoted, or undefined: so that a problem with a key is reported
 * where the key is written, not at its table's header.
 */
export function keyLine(lines: readonly string[], from: number, to: number, key: string): number | undefined {
  const k = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^\\s*(?:${k}|"${k}"|'${k}')\\s*[=.]`);
  for (let i = from; i < to && i <= lines.length; i++) if (re.test(lines[i - 1]!)) return i;
  return undefined;
}

/** Reads and checks one case file. Problems are returned, never thrown. */
export function readCaseFile(file: string): CaseFile {
  const out: CaseFile = { file, cases: [], problems: [] };
  let text: string;
  try {
    text = readFileCapped(file).toString('utf8');
  } catch (e) {
    out.problems.push({ file, reason: `cannot read: ${(e as Error).message}` });
    return out;
  }
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) out.problems.push({ file, line: e.line, reason: `TOML syntax error: ${e.message.split('\n')[0]!.replace(/^Invalid TOML document:\s*/, '')}` });
    else out.problems.push({ file, reason: `TOML syntax error: ${(e as Error).message}` });
    return out;
  }
  const lines = text.split('\n');
  const headers = caseHeaderLines(text);
  // The top-level keys are written before the first table.
  const topEnd = headers[0] ?? lines.length + 1;
  for (const k of Object.keys(doc)) {
    if (FILE_KEYS.has(k)) continue;
    const problem: CaseFileProblem = { file, reason: `unknown top-level key ${JSON.stringify(k)} (expected rule and [[case]] tables)` };
    const line = keyLine(lines, 1, topEnd, k);
    if (line !== undefined) problem.line = line;
    out.problems.push(problem);
  }
  if (doc['rule'] !== undefined) {
    if (typeof doc['rule'] === 'string') out.rule = doc['rule'];
    else out.problems.push({ file, reason: 'rule must be a rule_id string' });
  }
  const raw = doc['case'];
  if (raw === undefined) {
    out.problems.push({ file, reason: 'no [[case]] tables' });
    return out;
  }
  if (!Array.isArray(raw)) {
    out.problems.push({ file, reason: 'case must be an array of tables: write [[case]]' });
    return out;
  }
  const dir = path.dirname(file);
  const names = new Set<string>();
  raw.forEach((c, i) => {
    const line = headers[i];
    // A problem with a key is placed at the key's line within the case (else at its header).
    const end = headers[i + 1] ?? lines.length + 1;
    const bad = (reason: string, key?: string) => out.problems.push({ file, line: (line !== undefined && key !== undefined ? keyLine(lines, line + 1, end, key) : undefined) ?? line, reason: `case ${i + 1}: ${reason}` });
    if (c === null || typeof c !== 'object' || Array.isArray(c)) return bad('not a table');
    const o = c as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!CASE_KEYS.has(k)) return bad(`unknown key ${JSON.stringify(k)} (expected ${[...CASE_KEYS].join(', ')})`, k);
    if (typeof o['name'] !== 'string' || o['name'].trim() === '') return bad('name must be a non-empty string', 'name');
    const name = o['name'];
    if (names.has(name)) return bad(`duplicate case name ${JSON.stringify(name)}`, 'name');
    names.add(name);
    const ev = o['events'];
    const evList = typeof ev === 'string' ? [ev] : Array.isArray(ev) && ev.every((x) => typeof x === 'string') ? (ev as string[]) : null;
    if (!evList || evList.length === 0) return bad(`"${name}": events must be a file name or a list of them`, 'events');
    const events = evList.map((e) => path.resolve(dir, e));
    for (const [k, e] of events.entries()) if (!existsSync(e)) return bad(`"${name}": events file ${evList[k]} not found (looked for ${e})`, 'events');
    const given = ['expect', 'alerts', 'matches'].filter((k) => o[k] !== undefined);
    if (given.length > 1) {
      // At the last of them written: the one that contradicts those before it.
      const at = (k: string) => (line !== undefined ? (keyLine(lines, line + 1, end, k) ?? 0) : 0);
      return bad(`"${name}": give one of expect, alerts or matches, not ${given.join(' and ')}`, given.reduce((a, b) => (at(b) > at(a) ? b : a)));
    }
    let expect: Expectation = { kind: 'missing' };
    if (o['expect'] !== undefined) {
      if (o['expect'] !== 'none') return bad(`"${name}": expect can only be "none" (use alerts = N or matches = [...] otherwise)`, 'expect');
      expect = { kind: 'none' };
    } else if (o['alerts'] !== undefined) {
      const n = o['alerts'];
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) return bad(`"${name}": alerts must be a whole number`, 'alerts');
      expect = { kind: 'count', alerts: n };
    } else if (o['matches'] !== undefined) {
      const m = o['matches'];
      if (!Array.isArray(m)) return bad(`"${name}": matches must be a list of alerts, each a list of event refs`, 'matches');
      const matches: string[][] = [];
      for (const a of m) {
        if (typeof a === 'string') matches.push([a]);
        else if (Array.isArray(a) && a.length > 0 && a.every((x) => typeof x === 'string')) matches.push(a as string[]);
        else return bad(`"${name}": each entry of matches must be an event ref or a non-empty list of them`, 'matches');
      }
      expect = { kind: 'matches', matches };
    }
    for (const k of ['rule', 'index', 'description']) {
      if (o[k] !== undefined && typeof o[k] !== 'string') return bad(`"${name}": ${k} must be a string`, k);
    }
    const tc: TestCase = { name, file, index: i, line: line ?? 1, events, expect };
    const rule = (o['rule'] as string | undefined) ?? out.rule;
    if (rule !== undefined) tc.rule = rule;
    if (o['index'] !== undefined) tc.eventIndex = o['index'] as string;
    if (o['description'] !== undefined) tc.description = o['description'] as string;
    out.cases.push(tc);
  });
  return out;
}

/** Expected alerts of an expectation as a count (null when it has none). */
export function expectedCount(e: Expectation): number | null {
  switch (e.kind) {
    case 'none':
      return 0;
    case 'count':
      return e.alerts;
    case 'matches':
      return e.matches.length;
    case 'missing':
      return null;
  }
}
