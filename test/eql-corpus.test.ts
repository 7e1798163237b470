import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { EqlError, formatStatement, parse } from '../src/eql/index.js';

const shared = fileURLToPath(new URL('../../shared/', import.meta.url));
const esDir = `${shared}conformance/elasticsearch-eql/`;
const rulesFile = `${shared}corpus/elastic-rules/eql-rules.ndjson`;
const pyFile = `${shared}conformance/python-eql/test_queries.toml`;

interface SpecQuery {
  name: string;
  query: string;
}

function readSpec(file: string): SpecQuery[] {
  let text = readFileSync(file, 'utf8');
  // ES's TOML reader accepts bare null in join_keys arrays; TOML does not.
  if (file.endsWith('test_extra.toml')) {
    text = text.replace(/join_keys\s*=\s*\[[^\]]*\]/g, (m) => m.replace(/(?<!")\bnull\b(?!")/g, '"null"'));
  }
  return (parseToml(text) as unknown as { queries: SpecQuery[] }).queries;
}

/** Parsing the printed form must give the same printed form: the printer loses nothing the parser reads. */
function expectStablePrint(query: string): void {
  const once = formatStatement(parse(query));
  expect(formatStatement(parse(once))).toBe(once);
}

describe.skipIf(!existsSync(esDir))('Elasticsearch QA spec queries', () => {
  const files = existsSync(esDir) ? readdirSync(esDir).filter((f) => f.endsWith('.toml')).sort() : [];

  it.each(files)('%s: every active query parses and prints stably', (file) => {
    const failures: string[] = [];
    for (const q of readSpec(esDir + file)) {
      try {
        expectStablePrint(q.query);
      } catch (e) {
        failures.push(`${q.name}: ${e instanceof EqlError ? e.format(q.name) : String(e)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('covers all 320 active queries', () => {
    const total = files.reduce((n, f) => n + readSpec(esDir + f).length, 0);
    expect(total).toBe(320);
  });
});

describe.skipIf(!existsSync(rulesFile))('Elastic detection rules corpus', () => {
  it('parses every rule query', () => {
    const failures: string[] = [];
    let parsed = 0;
    for (const line of readFileSync(existsSync(rulesFile) ? rulesFile : '/dev/null', 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const rule = JSON.parse(line) as { file: string; query: string };
      try {
        expectStablePrint(rule.query);
        parsed++;
      } catch (e) {
        failures.push(`${rule.file}: ${e instanceof EqlError ? e.format(rule.file) : String(e)}`);
      }
    }
    console.log(`eql-rules.ndjson: ${parsed} rule queries parsed`);
    expect(failures).toEqual([]);
    expect(parsed).toBe(1081);
  });
});

describe.skipIf(!existsSync(pyFile))('Python eql test queries', () => {
  it('accepts the ES-compatible ones and rejects Python-only syntax', () => {
    const queries = readSpec(pyFile);
    const reasons = new Map<string, number>();
    let accepted = 0;
    for (const q of queries) {
      try {
        parse(q.query);
        accepted++;
      } catch (e) {
        if (!(e instanceof EqlError)) throw e;
        // Group by reason with the varying parts (names) removed.
        const key = e.message.replace(/`[^`]*`/g, '`_`').replace(/found .*/, 'found _');
        reasons.set(key, (reasons.get(key) ?? 0) + 1);
      }
    }
    console.log(`python-eql test_queries.toml: ${accepted} parse, ${queries.length - accepted} rejected`);
    expect([accepted, queries.length]).toEqual([89, 241]);
    // Every rejection is a construct ES does not have; none is a parser failure on valid ES syntax.
    expect(Object.fromEntries([...reasons].sort())).toEqual({
      '`_` is not supported by Elasticsearch EQL': 42, // `=` 30, join 11, fork 1
      'array indexing is not supported by Elasticsearch EQL': 1,
      'comparing a field with another field is not supported by Elasticsearch EQL': 8,
      'function `_` is not supported by Elasticsearch EQL': 5,
      'join keys must be field names, found _': 2,
      'lineage queries (`_`) are not supported by Elasticsearch EQL': 4,
      'pipe `_` is not supported by Elasticsearch EQL': 26,
      'raw strings written ?"..." are not supported by Elasticsearch EQL': 5,
      'single-quoted strings are not supported by Elasticsearch EQL': 59,
    });
  });
});
