// Shared CLI plumbing: user-facing errors without stack traces, and skipped-item reporting
// (each one named with its position, the first few in full, always a total at the end).
import { formatPosition } from '../events/inputs.js';
import type { SkippedItem } from '../events/types.js';

/** An error meant for the user: printed as `eqlite: message`, then exit with `code`. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
}

/**
 * Groups skip reasons for the summary: the text before the first colon, cut before the first
 * token that names a particular item (a number, an id, a quoted value).
 */
export function reasonKind(reason: string): string {
  const head = reason.split(':')[0]!;
  const words: string[] = [];
  for (const w of head.split(' ')) {
    if (/[\d"'`]/.test(w)) break;
    words.push(w);
  }
  return (words.join(' ') || head).slice(0, 60);
}

export class SkipReporter {
  private shown = 0;
  readonly byReason = new Map<string, number>();
  total = 0;

  constructor(
    private readonly out: NodeJS.WritableStream = process.stderr,
    private readonly maxShown = 20,
  ) {}

  readonly add = (item: SkippedItem): void => {
    this.total++;
    const kind = reasonKind(item.reason);
    this.byReason.set(kind, (this.byReason.get(kind) ?? 0) + 1);
    if (this.shown < this.maxShown) {
      this.shown++;
      this.out.write(`eqlite: skipped ${formatPosition(item.position)}: ${item.reason}\n`);
    } else if (this.shown === this.maxShown) {
      this.shown++;
      this.out.write('eqlite: (further skipped items are counted, not shown)\n');
    }
  };

  summary(): string | null {
    if (this.total === 0) return null;
    const kinds = [...this.byReason].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} ${k}`);
    return `skipped ${this.total} item(s): ${kinds.join('; ')}`;
  }
}
