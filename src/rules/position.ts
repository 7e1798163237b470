// Maps an offset inside a rule's query text back to a line:column of the rule file. TOML literal
// strings ('''...''') hold the query verbatim, so only a shift is needed; TOML basic strings and
// JSON strings contain escapes (`\n`, `\"`, `\\`, `\uXXXX`, TOML line-ending backslashes), so the
// encoded body is walked character by character.

import type { QueryLocation } from './types.js';

export interface FilePosition {
  line: number;
  column: number;
}

/** 1-based line and column of `offset` inside `text`. */
export function textPosition(text: string, offset: number): FilePosition {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(Math.max(offset, 0), text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/**
 * File position of `offset` (UTF-16 offset into the decoded query). Without a location the
 * position is relative to the query itself (line 1 = first query line).
 */
export function queryPosition(loc: QueryLocation | undefined, query: string, offset: number): FilePosition {
  if (!loc) return textPosition(query, offset);
  if (loc.style === 'literal' || loc.raw === undefined) {
    const rel = textPosition(query, offset);
    return rel.line === 1
      ? { line: loc.line, column: loc.column + rel.column - 1 }
      : { line: loc.line + rel.line - 1, column: rel.column };
  }
  const raw = loc.raw;
  let line = loc.line;
  let column = loc.column;
  let decoded = 0;
  let i = 0;
  while (decoded < offset && i < raw.length) {
    const c = raw[i];
    if (c === '\\' && i + 1 < raw.length) {
      const next = raw[i + 1]!;
      if (loc.style === 'basic' && (next === '\n' || next === '\r' || next === ' ' || next === '\t')) {
        // TOML line-ending backslash: the backslash, the newline and all following whitespace
        // produce nothing in the decoded string.
        i++;
        column++;
        while (i < raw.length && /[ \t\r\n]/.test(raw[i]!)) {
          if (raw[i] === '\n') {
            line++;
            column = 1;
          } else column++;
          i++;
        }
        continue;
      }
      const len = next === 'u' ? 6 : next === 'U' ? 10 : 2;
      // \U escapes above the BMP decode to a surrogate pair (two UTF-16 units).
      const units = next === 'U' && parseInt(raw.slice(i + 2, i + 10), 16) > 0xffff ? 2 : 1;
      i += len;
      column += len;
      decoded += units;
      continue;
    }
    if (c === '\n') {
      line++;
      column = 1;
    } else column++;
    i++;
    decoded++;
  }
  return { line, column };
}
