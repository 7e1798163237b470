// EQL shown highlighted, tokenized by eqlite's own scanner (src/eql/lexer.ts, bundled): the
// colours follow what the engine reads, not a second grammar. Text the scanner skips (spaces,
// comments) is kept as it was written; a query that does not scan is shown plain.
import { tokenize, type Token } from '../../../src/eql/lexer.js';
import { html } from '../html.js';

interface Piece {
  text: string;
  cls: string | null;
}

function pieces(src: string): Piece[] {
  let tokens: Token[];
  try {
    tokens = tokenize(src);
  } catch {
    return [{ text: src, cls: null }];
  }
  const out: Piece[] = [];
  let at = 0;
  tokens.forEach((t, i) => {
    if (t.type === 'eof') return;
    if (t.start > at) {
      const gap = src.slice(at, t.start);
      out.push({ text: gap, cls: /\/\/|\/\*/.test(gap) ? 'tok-comment' : null });
    }
    const next = tokens[i + 1];
    let cls: string | null = null;
    if (t.type === 'keyword') cls = 'tok-keyword';
    else if (t.type === 'string') cls = 'tok-string';
    else if (t.type === 'number') cls = 'tok-number';
    else if (t.type === 'tildeIdent' || (t.type === 'ident' && next?.type === 'op' && next.text === '(')) cls = 'tok-function';
    else if (t.type === 'ident') cls = /^(process|file|library|registry|network|any|driver|dns|authentication|iam|intrusion_detection|malware|package|session|configuration|host|web|api|database|email|threat|vulnerability)$/.test(t.text) && next?.type === 'keyword' && next.text === 'where' ? 'tok-category' : 'tok-field';
    else if (t.type === 'op') cls = 'tok-op';
    out.push({ text: src.slice(t.start, t.end), cls });
    at = t.end;
  });
  if (at < src.length) out.push({ text: src.slice(at), cls: null });
  return out;
}

export function EqlQuery({ query }: { query: string }) {
  return html`<pre class="eql" aria-label="EQL query"><code>${pieces(query).map((p) => (p.cls ? html`<span class=${p.cls}>${p.text}</span>` : p.text))}</code></pre>`;
}
