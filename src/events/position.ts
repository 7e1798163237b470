// How an input position reads in messages. Its own module: the engine names positions in its
// reports without loading the input readers.
import type { SkippedItem } from './types.js';

/** `file:line`, `file chunk N record R offset O` or just the file, for messages. */
export function formatPosition(p: SkippedItem['position']): string {
  if (p.line !== undefined) return `${p.file}:${p.line}`;
  const parts = [p.file];
  if (p.chunk !== undefined) parts.push(`chunk ${p.chunk}`);
  if (p.record !== undefined) parts.push(`record ${p.record}`);
  if (p.offset !== undefined) parts.push(`offset ${p.offset}`);
  return parts.join(' ');
}
