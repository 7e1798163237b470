// Hand-written scanner for Elasticsearch EQL. One pass over the text, no regular expressions on the hot
// path. Offsets are UTF-16 code unit indexes, the same unit JavaScript strings and spans use.
//
// Token rules follow EqlBase.g4 (Elasticsearch 8.x/9.x): keywords are lower case only (the ANTLR lexer is
// case-sensitive, so `AND` is an identifier), `in~ like~ regex~` are single keywords, `name~` directly
// followed by `(` is an insensitive function name, `![` opens a missing-event term and `?` marks an
// optional field. Dotted field paths are scanned as one token here; as in the grammar's qualifiedName
// (identifier (DOT identifier)*), whitespace and comments may surround the dots and no segment may be
// an unquoted keyword (`foo.sample` is an error; `foo.`sample`` is the field).

import { EqlError } from './errors.js';

export type TokenType =
  | 'ident' // field path or bare word; `value` is the unescaped dotted name
  | 'keyword' // lower-case reserved word, `text` is the keyword (including `in~`, `like~`, `regex~`)
  | 'tildeIdent' // `startsWith~`: `value` is the name without the tilde
  | 'string'
  | 'number'
  | 'op'
  | 'eof';

export interface Token {
  type: TokenType;
  /** Keyword or operator text; for other tokens the source slice. */
  text: string;
  start: number;
  end: number;
  /** Unescaped string, field name, or numeric value. */
  value?: string | number;
  /** Number written with a decimal point or exponent. */
  isFloat?: boolean;
  /** ident: at least one segment was written in backticks (so it is never a keyword). */
  quoted?: boolean;
  /** ident: the path has more than one segment. */
  dotted?: boolean;
  /** string: written as `"""..."""`. */
  raw?: boolean;
}

export const KEYWORDS: ReadonlySet<string> = new Set([
  'and',
  'any',
  'by',
  'false',
  'in',
  'in~',
  'join',
  'like',
  'like~',
  'maxspan',
  'not',
  'null',
  'of',
  'or',
  'regex',
  'regex~',
  'sample',
  'sequence',
  'true',
  'until',
  'where',
  'with',
]);

const CH_TAB = 9;
const CH_LF = 10;
const CH_CR = 13;
const CH_SPACE = 32;
const CH_BANG = 33;
const CH_DQUOTE = 34;
const CH_PERCENT = 37;
const CH_SQUOTE = 39;
const CH_LPAREN = 40;
const CH_RPAREN = 41;
const CH_STAR = 42;
const CH_PLUS = 43;
const CH_COMMA = 44;
const CH_MINUS = 45;
const CH_DOT = 46;
const CH_SLASH = 47;
const CH_0 = 48;
const CH_9 = 57;
const CH_COLON = 58;
const CH_LT = 60;
const CH_EQ = 61;
const CH_GT = 62;
const CH_QUESTION = 63;
const CH_AT = 64;
const CH_LBRACKET = 91;
const CH_BACKSLASH = 92;
const CH_RBRACKET = 93;
const CH_UNDERSCORE = 95;
const CH_BACKTICK = 96;
const CH_LBRACE = 123;
const CH_PIPE = 124;
const CH_RBRACE = 125;
const CH_TILDE = 126;

function isDigit(c: number): boolean {
  return c >= CH_0 && c <= CH_9;
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isIdentStart(c: number): boolean {
  return isLetter(c) || c === CH_UNDERSCORE || c === CH_AT;
}

function isIdentPart(c: number): boolean {
  return isLetter(c) || isDigit(c) || c === CH_UNDERSCORE;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Scans the whole text. Throws EqlError('syntax' | 'unsupported') on the first bad character. */
export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const n = src.length;
  let i = 0;

  const fail = (message: string, start: number, end: number, hint?: string, kind: 'syntax' | 'unsupported' = 'syntax'): never => {
    throw new EqlError(kind, message, src, { start, end }, hint);
  };

  // Backticked segment starting at `p` (on the backtick). Returns [unescaped text, end offset].
  const scanBacktick = (p: number): [string, number] => {
    let out = '';
    let j = p + 1;
    let chunk = j;
    for (;;) {
      if (j >= n) fail('unterminated quoted field name', p, n, 'close the field name with a backtick (`); write `` for a literal backtick');
      if (src.charCodeAt(j) === CH_BACKTICK) {
        if (src.charCodeAt(j + 1) === CH_BACKTICK) {
          out += src.slice(chunk, j + 1);
          j += 2;
          chunk = j;
          continue;
        }
        out += src.slice(chunk, j);
        return [out, j + 1];
      }
      j++;
    }
  };

  // Past whitespace and comments from p (p itself when there are none or a comment is unclosed).
  const afterTrivia = (p: number): number => {
    let j = p;
    for (;;) {
      const c = src.charCodeAt(j);
      if (c === 32 || c === 9 || c === CH_LF || c === CH_CR) j++;
      else if (c === CH_SLASH && src.charCodeAt(j + 1) === CH_SLASH) {
        while (j < n && src.charCodeAt(j) !== CH_LF) j++;
      } else if (c === CH_SLASH && src.charCodeAt(j + 1) === CH_STAR) {
        let depth = 1;
        let k = j + 2;
        while (depth > 0 && k < n) {
          if (src.charCodeAt(k) === CH_SLASH && src.charCodeAt(k + 1) === CH_STAR) (depth++, (k += 2));
          else if (src.charCodeAt(k) === CH_STAR && src.charCodeAt(k + 1) === CH_SLASH) (depth--, (k += 2));
          else k++;
        }
        if (depth > 0) return j;
        j = k;
      } else return j;
    }
  };

  // Where the next segment of a field path starts, when `p` (after a segment) is followed by a
  // dot and a segment; -1 otherwise. `.5` after a name stays a number, as in the grammar.
  const continuation = (p: number): number => {
    const dot = afterTrivia(p);
    if (src.charCodeAt(dot) !== CH_DOT) return -1;
    const seg = afterTrivia(dot + 1);
    const c = src.charCodeAt(seg);
    return isIdentStart(c) || c === CH_BACKTICK ? seg : -1;
  };

  while (i < n) {
    const c = src.charCodeAt(i);

    if (c === CH_SPACE || c === CH_LF || c === CH_TAB || c === CH_CR) {
      i++;
      continue;
    }

    if (c === CH_SLASH) {
      const d = src.charCodeAt(i + 1);
      if (d === CH_SLASH) {
        i += 2;
        while (i < n && src.charCodeAt(i) !== CH_LF) i++;
        continue;
      }
      if (d === CH_STAR) {
        // Bracketed comments nest, as in the ES grammar's recursive BRACKETED_COMMENT rule.
        const open = i;
        let depth = 1;
        i += 2;
        while (depth > 0) {
          if (i >= n) fail('unterminated comment', open, open + 2, 'close the comment with */');
          const e = src.charCodeAt(i);
          if (e === CH_SLASH && src.charCodeAt(i + 1) === CH_STAR) {
            depth++;
            i += 2;
          } else if (e === CH_STAR && src.charCodeAt(i + 1) === CH_SLASH) {
            depth--;
            i += 2;
          } else i++;
        }
        continue;
      }
      tokens.push({ type: 'op', text: '/', start: i, end: i + 1 });
      i++;
      continue;
    }

    // Field paths and words.
    if (isIdentStart(c) || c === CH_BACKTICK) {
      const start = i;
      let name = '';
      let quoted = false;
      let dotted = false;
      for (;;) {
        const s = src.charCodeAt(i);
        if (s === CH_BACKTICK) {
          const [seg, end] = scanBacktick(i);
          name += seg;
          quoted = true;
          i = end;
        } else {
          const segStart = i;
          i++;
          while (i < n && isIdentPart(src.charCodeAt(i))) i++;
          const seg = src.slice(segStart, i);
          // ES's qualifiedName is identifier (DOT identifier)*, and a keyword is no identifier:
          // `file.Ext.sample` needs backticks there (`file.Ext.`sample``).
          if (KEYWORDS.has(seg) && (dotted || continuation(i) >= 0)) {
            fail(`\`${seg}\` is a keyword and cannot be part of a field name`, segStart, i, `write it in backticks: \`${seg}\``);
          }
          name += seg;
        }
        // A dot continues the path when a segment follows; whitespace and comments may surround
        // it, as they are hidden tokens in the grammar (`process . name` is process.name).
        const next = continuation(i);
        if (next >= 0) {
          name += '.';
          dotted = true;
          i = next;
          continue;
        }
        break;
      }
      if (!quoted && !dotted && src.charCodeAt(i) === CH_TILDE) {
        const word = name + '~';
        i++;
        if (word === 'in~' || word === 'like~' || word === 'regex~') {
          tokens.push({ type: 'keyword', text: word, start, end: i });
        } else {
          tokens.push({ type: 'tildeIdent', text: word, value: name, start, end: i });
        }
        continue;
      }
      if (!quoted && !dotted && KEYWORDS.has(name)) {
        tokens.push({ type: 'keyword', text: name, start, end: i });
      } else {
        tokens.push({ type: 'ident', text: src.slice(start, i), value: name, quoted, dotted, start, end: i });
      }
      continue;
    }

    if (isDigit(c) || (c === CH_DOT && isDigit(src.charCodeAt(i + 1)))) {
      const start = i;
      let isFloat = false;
      while (i < n && isDigit(src.charCodeAt(i))) i++;
      if (src.charCodeAt(i) === CH_DOT && !isIdentStart(src.charCodeAt(i + 1))) {
        isFloat = true;
        i++;
        while (i < n && isDigit(src.charCodeAt(i))) i++;
      }
      const e = src.charCodeAt(i);
      if (e === 69 || e === 101) {
        // Only an exponent when digits follow; otherwise `e` starts the next token (e.g. a time unit).
        let j = i + 1;
        const sign = src.charCodeAt(j);
        if (sign === CH_PLUS || sign === CH_MINUS) j++;
        if (isDigit(src.charCodeAt(j))) {
          isFloat = true;
          i = j;
          while (i < n && isDigit(src.charCodeAt(i))) i++;
        }
      }
      const text = src.slice(start, i);
      let value = Number(text);
      // ES keeps integers as long and falls back to double when they overflow a long.
      if (!isFloat && !Number.isSafeInteger(value) && Math.abs(value) > 9223372036854775807) isFloat = true;
      if (!Number.isFinite(value)) fail(`number ${text} is out of range`, start, i);
      tokens.push({ type: 'number', text, value, isFloat, start, end: i });
      continue;
    }

    if (c === CH_DQUOTE) {
      const start = i;
      if (src.charCodeAt(i + 1) === CH_DQUOTE && src.charCodeAt(i + 2) === CH_DQUOTE) {
        const close = src.indexOf('"""', i + 3);
        if (close < 0) fail('unterminated raw string', start, start + 3, 'close the raw string with """');
        // Up to two extra quotes before the closing delimiter belong to the content: """a""""" is `a""`.
        let end = close + 3;
        let extra = 0;
        while (extra < 2 && src.charCodeAt(end) === CH_DQUOTE) {
          end++;
          extra++;
        }
        const value = src.slice(i + 3, end - 3);
        tokens.push({ type: 'string', text: src.slice(start, end), value, raw: true, start, end });
        i = end;
        continue;
      }
      i++;
      let out = '';
      let chunk = i;
      for (;;) {
        if (i >= n) fail('unterminated string', start, n, 'close the string with a double quote (")');
        const s = src.charCodeAt(i);
        if (s === CH_DQUOTE) break;
        if (s === CH_LF || s === CH_CR) {
          fail('unterminated string: a newline is not allowed inside "..."', start, i, 'write \\n for a newline, or use a raw string """..."""');
        }
        if (s !== CH_BACKSLASH) {
          i++;
          continue;
        }
        out += src.slice(chunk, i);
        const esc = src.charCodeAt(i + 1);
        switch (esc) {
          case 110: out += '\n'; i += 2; break; // n
          case 114: out += '\r'; i += 2; break; // r
          case 116: out += '\t'; i += 2; break; // t
          case 98: out += '\b'; i += 2; break; // b
          case 102: out += '\f'; i += 2; break; // f
          case CH_BACKSLASH: out += '\\'; i += 2; break;
          case CH_DQUOTE: out += '"'; i += 2; break;
          case CH_SQUOTE: out += "'"; i += 2; break;
          case 117: { // u{XXXX}
            const escStart = i;
            if (src.charCodeAt(i + 2) !== CH_LBRACE) {
              fail('invalid unicode escape: expected \\u{ followed by 2 to 8 hex digits and }', escStart, i + 2);
            }
            let j = i + 3;
            while (j < n && isHex(src.charCodeAt(j))) j++;
            const digits = j - (i + 3);
            if (src.charCodeAt(j) !== CH_RBRACE || digits < 2 || digits > 8) {
              fail(`invalid unicode escape: \\u{...} needs 2 to 8 hex digits, found ${digits}`, escStart, Math.min(n, j + 1));
            }
            const code = parseInt(src.slice(i + 3, j), 16);
            if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
              fail(`invalid unicode escape: U+${code.toString(16).toUpperCase()} is not a valid code point`, escStart, j + 1);
            }
            out += String.fromCodePoint(code);
            i = j + 1;
            break;
          }
          default:
            fail(
              `invalid escape sequence \\${i + 1 < n ? src[i + 1] : ''} in string`,
              i,
              Math.min(n, i + 2),
              'supported escapes are \\n \\r \\t \\b \\f \\\\ \\" \\\' and \\u{XX}; write \\\\ for a backslash or use a raw string """..."""',
            );
        }
        chunk = i;
      }
      out += src.slice(chunk, i);
      i++;
      tokens.push({ type: 'string', text: src.slice(start, i), value: out, start, end: i });
      continue;
    }

    if (c === CH_SQUOTE) {
      const start = i;
      let j = i + 1;
      while (j < n && src.charCodeAt(j) !== CH_SQUOTE && src.charCodeAt(j) !== CH_LF) {
        if (src.charCodeAt(j) === CH_BACKSLASH) j++;
        j++;
      }
      fail('single-quoted strings are not supported by Elasticsearch EQL', start, Math.min(n, j + 1), 'use double quotes: "..."', 'unsupported');
    }

    if (c === CH_QUESTION) {
      const d = src.charCodeAt(i + 1);
      if (d === CH_DQUOTE || d === CH_SQUOTE) {
        let j = i + 2;
        while (j < n && src.charCodeAt(j) !== d && src.charCodeAt(j) !== CH_LF) j++;
        fail(
          'raw strings written ?"..." are not supported by Elasticsearch EQL',
          i,
          Math.min(n, j + 1),
          'use a triple-quoted raw string: """..."""',
          'unsupported',
        );
      }
      tokens.push({ type: 'op', text: '?', start: i, end: i + 1 });
      i++;
      continue;
    }

    const next = src.charCodeAt(i + 1);
    let op: string | undefined;
    switch (c) {
      case CH_EQ: op = next === CH_EQ ? '==' : '='; break;
      case CH_BANG:
        if (next === CH_EQ) op = '!=';
        else if (next === CH_LBRACKET) op = '![';
        else fail('unexpected character "!"', i, i + 1, 'use `not` for negation, `!=` for inequality, or `![ ... ]` for a missing-event term');
        break;
      case CH_LT: op = next === CH_EQ ? '<=' : '<'; break;
      case CH_GT: op = next === CH_EQ ? '>=' : '>'; break;
      case CH_COLON: op = ':'; break;
      case CH_PLUS: op = '+'; break;
      case CH_MINUS: op = '-'; break;
      case CH_STAR: op = '*'; break;
      case CH_PERCENT: op = '%'; break;
      case CH_LPAREN: op = '('; break;
      case CH_RPAREN: op = ')'; break;
      case CH_LBRACKET: op = '['; break;
      case CH_RBRACKET: op = ']'; break;
      case CH_COMMA: op = ','; break;
      case CH_PIPE: op = '|'; break;
      case CH_DOT: op = '.'; break;
      case CH_TILDE: op = '~'; break;
    }
    if (op === undefined) {
      const cp = src.codePointAt(i) ?? c;
      const width = cp > 0xffff ? 2 : 1;
      const ch = String.fromCodePoint(cp);
      const hint = c === 36 ? 'variables and macros ($name) are not supported by Elasticsearch EQL' : undefined;
      fail(`unexpected character ${JSON.stringify(ch)}`, i, i + width, hint);
    }
    tokens.push({ type: 'op', text: op!, start: i, end: i + op!.length });
    i += op!.length;
  }
  tokens.push({ type: 'eof', text: '', start: n, end: n });
  return tokens;
}
