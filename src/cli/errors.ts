// Shared CLI plumbing: user-facing errors without stack traces, and skipped-item reporting
// (each one named with its position, the first few in full, always a total at the end).
import { formatPosition } from '../events/inputs.js';
import type { SkippedItem } from '../events/types.js';
import { escapeControl } from '../util/terminal.js';

/**
 * An error meant for the user: printed as `error: message` (the prefix of every command's errors,
 * and of commander's usage errors), then exit with `code`.
 */
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
 * token that names a particular item (a number, an id, a quoted value), without the dangling
 * words that introduced it ("invalid JSON at line 2 column 3" → "invalid JSON").
 */
export function reasonKind(reason: string): string {
  // "event 7c82ce45:3 has no @timestamp; skipped" is about the event's time, not its id.
  const general = reason.replace(/^event \S+ /, '');
  // Millions of items may be skipped for the same reason (a gzip of `{}` lines): computed once.
  const known = kindCache.get(general);
  if (known !== undefined) return known;
  const kind = computeKind(general);
  if (kindCache.size < 10_000) kindCache.set(general, kind);
  return kind;
}

const kindCache = new Map<string, string>();

function computeKind(general: string): string {
  // "record skipped: record expands to more than …": the kind is what follows the prefix.
  const head = general.replace(/^record skipped: /, '').split(/[:;]/)[0]!.replace(/,? found .*$/, '');
  const words: string[] = [];
  const all = head.split(' ');
  for (let i = 0; i < all.length; i++) {
    const w = all[i]!;
    // A limit is part of the kind: "item longer than 64 MB", "JSON nested deeper than 1000 levels".
    if (/^\d+$/.test(w) && all[i - 1] === 'than') {
      words.push(w);
      if (i + 1 < all.length && /^[A-Za-z]+$/.test(all[i + 1]!)) words.push(all[++i]!);
      continue;
    }
    if (/[\d"`]/.test(w) || /^'|'$/.test(w)) break;
    words.push(w);
  }
  while (words.length > 1 && DANGLING.has(words[words.length - 1]!.toLowerCase())) words.pop();
  const kind = words.join(' ').replace(/[,;]$/, '') || head;
  // A kind that starts with a number ("UTF-32 … is not supported") is the whole head: cut it at a
  // word, not in one ("… is n").
  if (kind.length <= 80) return kind;
  const cut = kind.lastIndexOf(' ', 79);
  return `${kind.slice(0, cut > 20 ? cut : 79)}…`;
}

const DANGLING = new Set(['at', 'line', 'column', 'offset', 'found', 'in', 'of', 'is', 'for', 'record', 'chunk']);

/** The value a reason names ("… found \"1\"" → "\"1\""), shown next to its position in the summary. */
function offendingValue(reason: string): string | undefined {
  const m = /\bfound (.+)$/.exec(reason.split(': ')[0]!);
  return m ? m[1]!.slice(0, 40) : undefined;
}

/** Positions listed per reason in the summary line. */
const POSITIONS_SHOWN = 3;

export class SkipReporter {
  private shown = 0;
  readonly byReason = new Map<string, { count: number; where: string[] }>();
  total = 0;

  constructor(
    private readonly out: NodeJS.WritableStream = process.stderr,
    private readonly maxShown = 20,
  ) {}

  readonly add = (item: SkippedItem): void => {
    this.total++;
    const kind = reasonKind(item.reason);
    let g = this.byReason.get(kind);
    if (!g) this.byReason.set(kind, (g = { count: 0, where: [] }));
    g.count++;
    if (g.where.length < POSITIONS_SHOWN) {
      const value = offendingValue(item.reason);
      g.where.push(formatPosition(item.position) + (value ? ` ${value}` : ''));
    }
    if (this.shown < this.maxShown) {
      this.shown++;
      this.out.write(`eqlite: skipped ${escapeControl(`${formatPosition(item.position)}: ${item.reason}`)}\n`);
    } else if (this.shown === this.maxShown) {
      this.shown++;
      this.out.write('eqlite: (further skipped items are counted, not shown)\n');
    }
  };

  /** `skipped 2 item(s): 1 invalid JSON (app.ndjson:2); 1 expected a JSON object or array (app.ndjson:4 "1")`. */
  summary(): string | null {
    if (this.total === 0) return null;
    const kinds = [...this.byReason]
      .sort((a, b) => b[1].count - a[1].count)
      .map(([k, g]) => `${g.count} ${k} (${g.where.join(', ')}${g.count > g.where.length ? ', …' : ''})`);
    return `skipped ${this.total} item(s): ${kinds.join('; ')}`;
  }
}
