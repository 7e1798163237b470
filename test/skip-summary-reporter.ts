// A vitest reporter that ends `npm test` with which tests were skipped and why, in one line, and a
// plain "N passed, N failed, N skipped" closing line. Tests that need the third-party data in
// ../shared skip themselves when it is absent (a clean clone); this says so instead of leaving a
// bare "skipped" count.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Reporter, RunnerTestFile } from 'vitest/node';

interface TaskLike {
  type: string;
  mode: string;
  result?: { state?: string };
  tasks?: TaskLike[];
}

function count(tasks: TaskLike[], acc: { passed: number; failed: number; skipped: number; skippedHere: number }): void {
  for (const t of tasks) {
    if (t.type === 'suite' && t.tasks) {
      count(t.tasks, acc);
      continue;
    }
    if (t.type !== 'test') continue;
    const state = t.result?.state;
    if (t.mode === 'skip' || t.mode === 'todo' || state === 'skip') {
      acc.skipped++;
      acc.skippedHere++;
    } else if (state === 'pass') acc.passed++;
    else if (state === 'fail') acc.failed++;
  }
}

export default class SkipSummaryReporter implements Reporter {
  onFinished(files: RunnerTestFile[] = []): void {
    const totals = { passed: 0, failed: 0, skipped: 0, skippedHere: 0 };
    const skippedFiles: string[] = [];
    for (const f of files) {
      totals.skippedHere = 0;
      count((f.tasks ?? []) as unknown as TaskLike[], totals);
      if (totals.skippedHere > 0) skippedFiles.push(path.relative(process.cwd(), f.filepath));
    }
    const out: string[] = [];
    if (totals.skipped > 0) {
      const shared = existsSync(path.resolve(process.cwd(), '..', 'shared'));
      const why = shared
        ? 'skipped by a filter (-t) or by the tests themselves'
        : '../shared (third-party corpora) is not present; a checkout next to it runs them';
      out.push(`skipped ${totals.skipped} test(s) in ${skippedFiles.length} file(s): ${why} (${skippedFiles.join(', ')})`);
    }
    out.push(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
    process.stdout.write(out.join('\n') + '\n');
  }
}
