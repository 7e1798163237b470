// `eqlite test --update`: records the current alerts as the expectation of failing cases and of
// cases that have none, editing the case files in place. Only the expectation keys (`expect`,
// `alerts`, `matches`) of those cases are rewritten; comments, order and every other line stay.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/files.js';
import { caseHeaderLines, readCaseFile, type Expectation } from './cases.js';
import type { ActualAlert } from './run.js';

/** The TOML for an expectation of these alerts, in the form the case used (count or matches). */
export function expectationToml(actual: ActualAlert[], previous: Expectation): string {
  if (actual.length === 0) return 'expect = "none"';
  if (previous.kind === 'count') return `alerts = ${actual.length}`;
  const items = actual.map((a) => `[${a.refs.map((r) => JSON.stringify(r)).join(', ')}]`);
  const one = `matches = [${items.join(', ')}]`;
  if (one.length <= 100) return one;
  return ['matches = [', ...items.map((i) => `  ${i},`), ']'].join('\n');
}

const EXPECT_KEY = /^\s*(expect|alerts|matches)\s*=/;
const EVENTS_KEY = /^\s*(events|name)\s*=/;

/** Index (in `lines`) of the last line of the value of the key on line `i`. */
function valueEnd(lines: string[], i: number): number {
  let depth = 0;
  let started = false;
  let quote: string | null = null;
  for (let li = i; li < lines.length; li++) {
    const l = lines[li]!;
    let c = li === i ? l.indexOf('=') + 1 : 0;
    for (; c < l.length; c++) {
      const ch = l[c]!;
      if (quote) {
        if (quote === '"' && ch === '\\') c++;
        else if (ch === quote) quote = null;
        continue;
      }
      if (ch === '#') break;
      if (ch === '"' || ch === "'") {
        quote = ch;
        started = true;
      } else if (ch === '[') {
        depth++;
        started = true;
      } else if (ch === ']') depth--;
      else if (ch.trim() !== '') started = true;
    }
    if (started && depth <= 0) return li;
  }
  return lines.length - 1;
}

/**
 * Replaces the expectation of the given cases (by index in the file) with `toml`. Throws when the
 * file would no longer read as the same cases (it is then left unchanged).
 */
export function updateCaseFile(file: string, updates: Map<number, string>): void {
  const original = readFileSync(file, 'utf8');
  const lines = original.split('\n');
  const headers = caseHeaderLines(original).map((n) => n - 1);
  const order = [...updates.keys()].sort((a, b) => b - a);
  for (const idx of order) {
    const start = headers[idx];
    if (start === undefined) throw new Error(`${file}: case ${idx + 1} not found`);
    const end = headers[idx + 1] ?? lines.length;
    const ranges: [number, number][] = [];
    let anchor = -1;
    for (let i = start + 1; i < end; i++) {
      if (EXPECT_KEY.test(lines[i]!)) {
        const e = valueEnd(lines, i);
        ranges.push([i, e]);
        i = e;
      } else if (EVENTS_KEY.test(lines[i]!)) {
        anchor = valueEnd(lines, i);
        i = anchor;
      }
    }
    const text = updates.get(idx)!.split('\n');
    if (ranges.length > 0) {
      for (let r = ranges.length - 1; r >= 1; r--) lines.splice(ranges[r]![0], ranges[r]![1] - ranges[r]![0] + 1);
      lines.splice(ranges[0]![0], ranges[0]![1] - ranges[0]![0] + 1, ...text);
    } else {
      lines.splice((anchor >= 0 ? anchor : start) + 1, 0, ...text);
    }
  }
  const updated = lines.join('\n');
  // Replaced whole (a full disk must not leave the user's test cases cut short).
  writeFileAtomic(file, updated);
  const check = readCaseFile(file);
  if (check.problems.length > 0 || check.cases.length !== caseHeaderLines(original).length) {
    writeFileAtomic(file, original);
    throw new Error(`${file}: could not record the results without breaking the file (${check.problems[0]?.reason ?? 'cases changed'}); left unchanged`);
  }
}
