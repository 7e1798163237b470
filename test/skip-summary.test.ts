// The one line `npm test` ends with when tests were skipped: grouped by reason, with their files.
import { describe, expect, it } from 'vitest';
import { skipLine } from './skip-summary-reporter.js';

describe('skip summary line', () => {
  it('groups skipped tests by reason, most frequent first, naming their files', () => {
    const shared = 'needs ../shared (third-party corpora), which is not present';
    expect(
      skipLine([
        { file: 'test/b.test.ts', reason: shared },
        { file: 'test/a.test.ts', reason: shared },
        { file: 'test/readme-examples.test.ts', reason: 'README example needs a running service (its own suites cover it)' },
        { file: 'test/a.test.ts', reason: shared },
      ]),
    ).toBe(
      'skipped 4 test(s): 3 needs ../shared (third-party corpora), which is not present (test/a.test.ts, test/b.test.ts); ' +
        '1 README example needs a running service (its own suites cover it) (test/readme-examples.test.ts)',
    );
    expect(skipLine([])).toBeNull();
  });
});
