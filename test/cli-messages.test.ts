// What a user is told after the common mistakes, exactly: each message names the file and the
// place (line:column) of the mistake and its reason, on one line, with the exit code the README
// gives. Run in process (runHunt, runExplain, …) with stdout and stderr captured.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runExplain } from '../src/cli/explain.js';
import { Command } from 'commander';
import { rangeMisses, registerHunt, runHunt } from '../src/cli/hunt.js';
import { registerQuery } from '../src/cli/query.js';
import { repoRoot } from './cli-helpers.js';
import { tempDir } from './detect-helpers.js';

const EVENT = '{"@timestamp":"2025-01-01T00:00:00Z","event":{"category":"process"},"process":{"name":"a.exe"}}\n';

/** A detection-rules TOML rule whose query (from line 12) is `query`. */
function tomlRule(ruleId: string, query: string): string {
  return [
    '[metadata]',
    'creation_date = "2024/01/01"',
    'maturity = "production"',
    '',
    '[rule]',
    `rule_id = "${ruleId}"`,
    `name = "Rule ${ruleId}"`,
    'description = "x"',
    'risk_score = 21',
    'severity = "low"',
    'type = "eql"',
    "query = '''",
    query,
    "'''",
    '',
  ].join('\n');
}

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

async function hunt(args: { inputs: string[]; rules: string[] }): Promise<{ code: number; stderr: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runHunt(args.inputs, { rules: args.rules, format: 'none', progress: false, cache: false }, { stdout, stderr });
  return { code, stderr: stderr.text };
}

describe('a rule whose EQL does not compile is named at its mistake: file:line:column', () => {
  const dir = tempDir('eqlite-messages-');
  const events = path.join(dir, 'ev.ndjson');
  writeFileSync(events, EVENT);
  const rules = path.join(dir, 'rules');
  mkdirSync(rules);
  // The mistake is on the query's second line, column 23: line 14 of the file.
  const toml = path.join(rules, 'bad.toml');
  writeFileSync(toml, tomlRule('bad-1', 'process where process.name == "x" and\n  process.parent.name = "y"'));
  // JSON (Kibana API form): the query string holds escapes; the mistake is on the file's line 2.
  const json = path.join(dir, 'bad.json');
  writeFileSync(json, '{"rule_id":"j-1","name":"JSON bad","type":"eql","language":"eql","index":["logs-*"],"risk_score":1,"severity":"low","description":"x",\n "query":"process where\\n  process.name ==\\n \\"x\\" and foo(1)"}\n');
  // A TOML file that does not parse: its line and column.
  const broken = path.join(rules, 'broken.toml');
  writeFileSync(broken, '[metadata]\nmaturity = "production"\n\n[rule\nname = "b"\n');

  it('hunt: in the summary line of the skipped rule, and the broken file with its column; exit 2 when no rule can run', async () => {
    const r = await hunt({ inputs: [events], rules: [rules, json] });
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n');
    expect(lines).toContain(`  skipped 1: query does not compile: \`=\` is not supported by Elasticsearch EQL (rule "Rule bad-1" in ${toml}:14:23)`);
    expect(lines).toContain(`  skipped 1: query does not compile: unknown function \`foo\` (rule "JSON bad" in ${json}:2:56)`);
    expect(lines).toContain(`  not loaded (invalid): ${broken}:4:6: TOML syntax error: illegal character in key`);
    expect(lines).toContain('error: no runnable EQL rules were loaded');
  });

  it('explain: one error line naming the place', async () => {
    let out = '';
    let err = '';
    const code = await runExplain([events], { rule: 'bad-1', rules: [toml] }, { out: (s) => (out += s), err: (s) => (err += s) });
    expect({ code, out, err }).toEqual({
      code: 2,
      out: '',
      err: `error: rule "Rule bad-1" cannot run: query does not compile: \`=\` is not supported by Elasticsearch EQL (${toml}:14:23)\n`,
    });
  });
});

describe('hunt --db says how many alerts were new', () => {
  it('all new on the first run, none on the rerun (create-only by alert id)', async () => {
    const dir = tempDir('eqlite-messages-db-');
    const db = path.join(dir, 'alerts.sqlite');
    const args = { inputs: [path.join(repoRoot, 'examples', 'windows-sample.ndjson')], rules: [path.join(repoRoot, 'rules')] };
    const run = async () => {
      const stdout = new Capture();
      const stderr = new Capture();
      const code = await runHunt(args.inputs, { rules: args.rules, db, format: 'none', progress: false, cache: false }, { stdout, stderr });
      return { code, stored: stderr.text.split('\n').filter((l) => l.startsWith('alerts stored in') || l.startsWith('alerts: ')) };
    };
    expect(await run()).toEqual({ code: 0, stored: ['alerts: 27', `alerts stored in ${db} (27 new)`] });
    expect(await run()).toEqual({ code: 0, stored: ['alerts: 27', `alerts stored in ${db} (0 new, 27 stored before)`] });
  });
});

describe('hunt over an empty file', () => {
  it('reads 0 events and says nothing about windows (no rule ran in either mode)', async () => {
    const dir = tempDir('eqlite-messages-empty-');
    const empty = path.join(dir, 'empty.ndjson');
    writeFileSync(empty, '');
    const r = await hunt({ inputs: [empty], rules: [path.join(repoRoot, 'rules')] });
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n').slice(1, 3)).toEqual(['rules: 1 loaded, 1 run', 'alerts: 0']);
  });
});

describe('--threads help', () => {
  it("query's gives its own default (a query never shares one file among threads), hunt's the one-file case too", () => {
    const p = new Command('eqlite');
    registerQuery(p);
    registerHunt(p);
    const help = (name: string) => p.commands.find((c) => c.name() === name)!.options.find((o) => o.long === '--threads')!.description;
    expect(help('query')).toBe('worker threads that read, map and filter the input files (0: main thread only; default: one per core when two or more files of 8 MiB or more hold 64 MiB together; else 0; at most 8)');
    expect(help('hunt')).toContain('for a hunt with 100 rules or more over one NDJSON file of 64 MiB or more');
  });
});

describe('an event file given with --rules', () => {
  it('is one line for the file, a hint and the error (not a line per event); exit 2', async () => {
    const dir = tempDir('eqlite-messages-swap-');
    const events = path.join(dir, 'events.ndjson');
    writeFileSync(events, EVENT.repeat(30));
    const r = await hunt({ inputs: [events], rules: [events] });
    expect({ code: r.code, lines: r.stderr.trimEnd().split('\n') }).toEqual({
      code: 2,
      lines: [
        `${events}:1: unrecognised object: neither a rule, an exception list/item nor an export summary (and 29 more line(s) of this file alike)`,
        'hint: events are given as inputs (eqlite hunt FILE…), rules with --rules',
        `error: no EQL rule in ${events}; give rule files or directories with --rules (detection-rules TOML, Kibana export NDJSON, JSON)`,
      ],
    });
  });
});

describe('--from after the last event, --to before the first', () => {
  it('a warning says that no event lies in the range (the replayed range would end before it starts)', async () => {
    const stderr = new Capture();
    const code = await runHunt([path.join(repoRoot, 'examples', 'windows-sample.ndjson')], { rules: [path.join(repoRoot, 'rules')], from: '2026-01-01T00:00:00Z', format: 'none', progress: false, cache: false }, { stdout: new Capture(), stderr });
    expect(code).toBe(0);
    expect(stderr.text.split('\n').filter((l) => l.startsWith('warning:'))).toEqual([
      "warning: --from 2026-01-01T00:00:00Z (2026-01-01T00:00:00.000Z) is after the last event (2025-03-10T08:01:01.175Z): no event lies in the hunt's range",
    ]);
    expect(rangeMisses({ from: '2025-03-10T08:00:00.009Z', to: '2020-01-01T00:00:00.000Z' }, { to: '2020-01-01' })).toBe(
      "--to 2020-01-01 (2020-01-01T00:00:00.000Z) is before the first event (2025-03-10T08:00:00.009Z): no event lies in the hunt's range",
    );
    expect(rangeMisses({ from: '2025-03-10T08:00:30.000Z', to: '2025-03-10T08:01:01.175Z' }, { from: '2025-03-10T08:00:30Z' })).toBeNull();
  });
});
