// The README and the performance log link to each other's sections and to files of the checkout:
// every such link must lead somewhere. Anchors are computed as GitHub computes them (lower case,
// punctuation other than `-` and `_` dropped, spaces to `-`, a repeated heading gets `-1`, `-2`…),
// headings inside code blocks excluded.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './cli-helpers.js';

/** The anchors GitHub gives the headings of a Markdown text. */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let inCode = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) inCode = !inCode;
    if (inCode) continue;
    const m = /^#{1,6} (.*)$/.exec(line);
    if (!m) continue;
    const base = m[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}_\- ]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Relative link targets `[text](target)` outside code blocks and inline code. */
export function relativeLinks(text: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  let inCode = false;
  text.split('\n').forEach((line, i) => {
    if (line.startsWith('```')) inCode = !inCode;
    if (inCode) return;
    const prose = line.replace(/`[^`]*`/g, '``');
    for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (!/^[a-z]+:/i.test(target)) out.push({ line: i + 1, target });
    }
  });
  return out;
}

const docs = ['README.md', 'docs/performance-log.md'];
const texts = new Map(docs.map((d) => [d, readFileSync(path.join(repoRoot, d), 'utf8')]));

describe('headingAnchors', () => {
  it('computes anchors as GitHub does', () => {
    const text = '# Windows events → ECS\n## `eqlite serve --cluster`\n```\n# not a heading\n```\n### EVTX\n### EVTX\n';
    expect([...headingAnchors(text)]).toEqual(['windows-events--ecs', 'eqlite-serve---cluster', 'evtx', 'evtx-1']);
  });
});

describe('links between the README, the performance log and the checkout', () => {
  for (const doc of docs) {
    it(`every relative link in ${doc} leads to a file and, if it names one, a heading`, () => {
      const broken: string[] = [];
      for (const { line, target } of relativeLinks(texts.get(doc)!)) {
        const [file, anchor] = target.split('#', 2) as [string, string | undefined];
        const resolved = file === '' ? doc : path.normalize(path.join(path.dirname(doc), file));
        if (!existsSync(path.join(repoRoot, resolved))) {
          broken.push(`${doc}:${line}: ${target} (no file ${resolved})`);
          continue;
        }
        if (anchor === undefined) continue;
        const text = texts.get(resolved);
        if (text === undefined) broken.push(`${doc}:${line}: ${target} (anchor into a file not checked)`);
        else if (!headingAnchors(text).has(anchor)) broken.push(`${doc}:${line}: ${target} (no heading #${anchor} in ${resolved})`);
      }
      expect(broken).toEqual([]);
    });
  }
});
