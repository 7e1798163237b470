// A vitest reporter that ends `npm test` with one line saying which tests were skipped and why,
// then a plain "N passed, N failed, N skipped" closing line. A bare "skipped" count tells a user
// nothing: on a clean clone most skips are tests that read the third-party corpora in ../shared,
// but some are skipped for other reasons (a README example that needs a running server, a missing
// nats-server), and each is named as what it is.
//
// Where the reason comes from, first match wins:
//   1. the test's own note: `ctx.skip('why')` inside the test (test/readme-examples.test.ts);
//   2. a "(needs …)" at the end of the test's or an enclosing suite's name, or a suite named after
//      a missing tool ("nats-server is not installed …", see test/nats-helpers.ts);
//   3. ../shared is absent and the test file reads from it;
//   4. otherwise: a filter (-t, .only) or the test's own condition.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Reporter, RunnerTestFile } from 'vitest/node';

interface TaskLike {
  type: string;
  mode: string;
  name: string;
  result?: { state?: string; note?: string };
  tasks?: TaskLike[];
}

export interface Skip {
  file: string;
  reason: string;
}

/** The reason of tests that read the third-party corpora, on a clone without them. */
export const NO_SHARED = 'needs ../shared (third-party corpora), which is not present';

const NEEDS = /\((needs [^()]+)\)\s*$/;
const NOT_INSTALLED = /^([\w.-]+ is not installed)\b/;

/** The reason named by a test's or a suite's own name, if any. */
function reasonInName(name: string): string | null {
  const needs = NEEDS.exec(name);
  if (needs) return needs[1]!;
  const tool = NOT_INSTALLED.exec(name);
  return tool ? tool[1]! : null;
}

/** Walks a file's tasks, collecting passes, failures and the reason of every skip. */
function walk(tasks: TaskLike[], file: string, fileReadsShared: boolean, sharedAbsent: boolean, suites: string[], acc: { passed: number; failed: number; skips: Skip[] }): void {
  for (const t of tasks) {
    if (t.type === 'suite' && t.tasks) {
      walk(t.tasks, file, fileReadsShared, sharedAbsent, [...suites, t.name], acc);
      continue;
    }
    if (t.type !== 'test') continue;
    const state = t.result?.state;
    if (t.mode === 'skip' || t.mode === 'todo' || state === 'skip') {
      let reason = t.result?.note ?? null;
      for (const n of [t.name, ...suites.slice().reverse()]) reason ??= reasonInName(n);
      // "(needs ../shared)" in a name, or a file that reads ../shared: one wording for one reason.
      if (reason?.startsWith('needs ../shared') || (reason === null && fileReadsShared)) reason = sharedAbsent ? NO_SHARED : null;
      acc.skips.push({ file, reason: reason ?? 'skipped by a filter (-t, .only) or by the test\'s own condition' });
    } else if (state === 'pass') acc.passed++;
    else if (state === 'fail') acc.failed++;
  }
}

/** `skipped 3 test(s): 2 needs ../shared … (test/a.test.ts, test/b.test.ts); 1 needs a running server (test/c.test.ts)`. */
export function skipLine(skips: Skip[]): string | null {
  if (skips.length === 0) return null;
  const byReason = new Map<string, { count: number; files: Set<string> }>();
  for (const s of skips) {
    let g = byReason.get(s.reason);
    if (!g) byReason.set(s.reason, (g = { count: 0, files: new Set() }));
    g.count++;
    g.files.add(s.file);
  }
  const parts = [...byReason]
    .sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]))
    .map(([reason, g]) => `${g.count} ${reason} (${[...g.files].sort().join(', ')})`);
  return `skipped ${skips.length} test(s): ${parts.join('; ')}`;
}

export default class SkipSummaryReporter implements Reporter {
  onFinished(files: RunnerTestFile[] = []): void {
    const sharedAbsent = !existsSync(path.resolve(process.cwd(), '..', 'shared'));
    const acc = { passed: 0, failed: 0, skips: [] as Skip[] };
    for (const f of files) {
      let readsShared = false;
      try {
        // `path.join(root, '..', 'shared', …)`, `'../../shared/corpus/…'`, `new URL('../../shared/', …)`
        readsShared = /['"`]shared['"`]|\.\.\/shared\b/.test(readFileSync(f.filepath, 'utf8'));
      } catch {
        // the file went away: no source to look at
      }
      walk((f.tasks ?? []) as unknown as TaskLike[], path.relative(process.cwd(), f.filepath), readsShared, sharedAbsent, [], acc);
    }
    const out: string[] = [];
    const line = skipLine(acc.skips);
    if (line) out.push(line);
    out.push(`${acc.passed} passed, ${acc.failed} failed, ${acc.skips.length} skipped`);
    process.stdout.write(out.join('\n') + '\n');
  }
}
