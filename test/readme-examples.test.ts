// Every command example in README.md runs as printed, from a fresh checkout: the `$ ` lines of the
// README's code blocks are run in order with bash (in a scratch directory holding the checkout's
// examples/, samples/ and rules/, with `eqlite` on PATH running this source tree), and each must
// exit 0 — or fail exactly as the README shows — and print every output line the README shows
// (durations and sizes may differ; in a line with "…" each "…" stands for any text, so a table
// row shortened by the README is still compared around it, and a line of "…" alone matches any).
//
// Markers, on the line before a code block:
//   <!-- readme-test: needs-shared -->   runs only when ../shared is present
//   <!-- readme-test: needs-server -->   not run here (needs a running service; its own suite covers it)
//   <!-- readme-test: skip REASON -->    not run (say why: installs globally, takes minutes, …)
//   <!-- readme-test: output-of: CMD --> the block, which has no `$ ` line, is what CMD prints (e.g.
//                                        the quick start's `npm start` output: its CMD is the hunt
//                                        package.json's start script runs)
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleCli, repoRoot } from './cli-helpers.js';
import { NO_SHARED } from './skip-summary-reporter.js';

export interface Example {
  /** 1-based README line of the `$ ` command. */
  line: number;
  command: string;
  expected: string[];
}

export interface Block {
  line: number;
  marker: string | null;
  examples: Example[];
}

/** Splits the README into code blocks with their `$ ` commands and the output lines shown after each. */
export function readmeBlocks(text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  let marker: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const m = /^<!--\s*readme-test:\s*(.*?)\s*-->/.exec(l.trim());
    if (m) {
      marker = m[1]!;
      continue;
    }
    if (!/^```/.test(l)) {
      if (l.trim() !== '') marker = null;
      continue;
    }
    const block: Block = { line: i + 1, marker, examples: [] };
    const outputOf = /^output-of:\s*(.+)$/.exec(marker ?? '');
    marker = null;
    let cur: Example | null = outputOf ? { line: i + 1, command: outputOf[1]!, expected: [] } : null;
    if (cur) block.examples.push(cur);
    for (i++; i < lines.length && !/^```/.test(lines[i]!); i++) {
      const b = lines[i]!;
      if (b.startsWith('$ ')) {
        let command = b.slice(2);
        const line = i + 1;
        // A command continues while it ends in a backslash or leaves a quote open.
        while ((command.endsWith('\\') || openQuote(command)) && i + 1 < lines.length && !/^```/.test(lines[i + 1]!)) {
          command += '\n' + lines[++i]!;
        }
        cur = { line, command, expected: [] };
        block.examples.push(cur);
      } else if (cur) cur.expected.push(b);
    }
    if (block.examples.length > 0) blocks.push(block);
  }
  return blocks;
}

/**
 * Code blocks that show commands without the `$ ` prompt, so the runner above would not see them:
 * every such block must be a usage synopsis (`eqlite hunt [options] <inputs...>`) or carry a
 * readme-test marker saying why it is not run. Returns the 1-based line of each offending block.
 */
export function unpromptedCommandBlocks(text: string): number[] {
  const lines = text.split('\n');
  const bad: number[] = [];
  let marker = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^<!--\s*readme-test:/.test(l.trim())) {
      marker = true;
      continue;
    }
    if (!/^```/.test(l)) {
      if (l.trim() !== '') marker = false;
      continue;
    }
    const start = i + 1;
    const lang = l.slice(3).trim();
    let prompted = false;
    let command = false;
    let synopsis = false;
    for (i++; i < lines.length && !/^```/.test(lines[i]!); i++) {
      const b = lines[i]!;
      if (b.startsWith('$ ')) prompted = true;
      if (!/^(eqlite|npm|npx|node|curl|zcat|gzip|sqlite3)( |$)/.test(b)) continue;
      command = true;
      // A synopsis block names placeholders: [options], <inputs...>, FILES…, RULE.
      if (/[[<…]|\b[A-Z]{3,}\b/.test(b)) synopsis = true;
    }
    // Code in other languages (js, toml, yaml) is not a shell example.
    if (command && !synopsis && !prompted && !marker && (lang === '' || lang === 'sh' || lang === 'bash' || lang === 'console')) bad.push(start);
    marker = false;
  }
  return bad;
}

function openQuote(cmd: string): boolean {
  let q: string | null = null;
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i]!;
    if (q) {
      if (c === q) q = null;
      else if (q === '"' && c === '\\') i++;
    } else if (c === "'" || c === '"') q = c;
    else if (c === '\\') i++;
  }
  return q !== null;
}

/**
 * Whether the output has a line the README shows: the same line or, where the README abbreviates
 * with "…", a line that has the rest of it in order from start to end.
 */
export function shows(actual: readonly string[], want: string): boolean {
  if (actual.includes(want)) return true;
  if (!want.includes('…')) return false;
  const pattern = new RegExp(`^${want.split('…').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return actual.some((l) => pattern.test(l));
}

/** Durations and sizes vary from run to run; trailing blanks are layout. */
function normalize(s: string): string {
  return s
    .replace(/\bin \d+(\.\d+)? ?s\b/g, 'in Ns')
    .replace(/\(\d+(\.\d+)? MB\)/g, '(N MB)')
    .replace(/\s+$/, '');
}

const HINT =
  'If the example needs ../shared or a running server, put <!-- readme-test: needs-shared --> or <!-- readme-test: needs-server --> on the line before its code block; ' +
  'otherwise make the README show what the command prints (abbreviate with "…").';

const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
const blocks = readmeBlocks(readme);
const shared = existsSync(path.join(repoRoot, '..', 'shared'));

// A scratch checkout: ../shared beside it when there is one, the checkout's inputs inside it.
const parent = mkdtempSync(path.join(tmpdir(), 'eqlite-readme-'));
const work = path.join(parent, 'eqlite');
mkdirSync(path.join(work, 'bin'), { recursive: true });
for (const d of ['examples', 'samples', 'rules', 'node_modules', 'package.json']) {
  if (existsSync(path.join(repoRoot, d))) symlinkSync(path.join(repoRoot, d), path.join(work, d));
}
if (shared) symlinkSync(path.join(repoRoot, '..', 'shared'), path.join(parent, 'shared'));
// `eqlite` is this source tree, bundled once so that each example starts in a fraction of a second.
const bundled = await bundleCli(path.join(work, 'build', 'cli'));
writeFileSync(path.join(work, 'bin', 'eqlite'), `#!/bin/sh\nexec "${process.execPath}" "${bundled}" "$@"\n`, { mode: 0o755 });
afterAll(() => rmSync(parent, { recursive: true, force: true }));

/** Runs a command with bash, asynchronously (a blocking spawn would starve vitest's own messages). */
function bash(command: string, env: NodeJS.ProcessEnv): Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string; error?: Error }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', command], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ status: null, signal: null, stdout, stderr, error });
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

async function run(ex: Example, block: Block): Promise<string | null> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${path.join(work, 'bin')}:${process.env.PATH}`,
    // Each block starts as a fresh install would: a home of its own with no rule set installed
    // (`eqlite rules update` in one block must not change what the others run, nor touch the
    // user's own), found where a user's is (~/.local/share/eqlite/rules), as the README shows it.
    HOME: path.join(parent, `home-${block.line}`),
    // The compiled-rule caches are shared, as one user's are: blocks start faster, and no output depends on them.
    EQLITE_CACHE_HOME: path.join(parent, 'cache'),
    NO_COLOR: '1',
    FORCE_COLOR: '0',
  };
  delete env['EQLITE_RULES_HOME'];
  delete env['XDG_DATA_HOME'];
  const r = await bash(ex.command, env);
  const actual = (r.stdout + r.stderr).split('\n').map(normalize);
  const shown = ex.expected.map(normalize).filter((l) => l !== '');
  const problems: string[] = [];
  if (r.error) problems.push(`could not run: ${r.error.message}`);
  if (r.status !== 0) {
    // A failure the README shows (an error example) is fine: its first line must be what it printed.
    const first = (r.stderr || r.stdout).split('\n').map(normalize).find((l) => l !== '');
    if (shown.length === 0 || first !== shown[0]) problems.push(`exit code ${r.status ?? r.signal} (the README shows no such failure)`);
  }
  if (/internal error|^\s+at .*\.(ts|js):\d+/m.test(r.stderr)) problems.push('it printed an internal error or a stack trace');
  for (const want of shown) {
    if (!shows(actual, want)) problems.push(`the README shows a line it did not print: ${JSON.stringify(want)}`);
  }
  if (problems.length === 0) return null;
  return (
    `README.md:${ex.line}: the example\n  $ ${ex.command}\nfailed: ${problems.join('; ')}\n` +
    `--- it printed (exit ${r.status}):\n${(r.stdout + r.stderr).split('\n').slice(0, 40).join('\n')}\n---\n${HINT}`
  );
}

const TOOLS = ['jq', 'sqlite3'];
function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d !== '' && existsSync(path.join(d, tool)));
}

/** Why a block is not run here, or null (the summary at the end of npm test groups by it). */
function skipReason(marker: string | null, missing: string[]): string | null {
  if (marker?.startsWith('skip')) return `README example not run: ${marker.slice(4).trim() || 'marked skip'}`;
  if (marker === 'needs-server') return 'README example needs a running service (its own suites cover it)';
  if (marker === 'needs-shared' && !shared) return NO_SHARED;
  if (missing.length > 0) return `README example needs ${missing.join(', ')}, not installed`;
  return null;
}

describe('README examples run as printed', () => {
  it('the README has examples to run', () => {
    expect(blocks.reduce((n, b) => n + b.examples.length, 0)).toBeGreaterThan(10);
  });
  it('every command example is run (written with a `$ ` prompt) or says why not (a readme-test marker)', () => {
    expect(unpromptedCommandBlocks(readme).map((l) => `README.md:${l}`)).toEqual([]);
    expect(unpromptedCommandBlocks('```sh\nnpm ci\n```\n```\neqlite hunt [options] <inputs...>\n```\n<!-- readme-test: skip slow -->\n```\nnpm test\n```\n')).toEqual([1]);
  });
  it('a line with "…" is compared around it; an output block marked output-of is an example of that command', () => {
    const out = ['hunt: 1800 events', '2025-03-10T08:00:01.847Z  medium  Windows Script Interpreter Executing Process vi…  ws-fin-100'];
    expect(shows(out, '2025-03-10T08:00:01.847Z  medium  Windows Script Interpreter Executing Process vi…  ws-fin-100')).toBe(true);
    expect(shows(out, '2025-03-10T08:00:01.847Z  medium  Windows Script…  ws-fin-100')).toBe(true);
    expect(shows(out, '2025-03-10T08:00:01.847000Z  medium  Windows Script…  ws-fin-100')).toBe(false);
    expect(shows(out, '… ws-fin-101')).toBe(false);
    expect(shows(out, '…')).toBe(true);
    expect(shows(out, 'hunt: 1800 events (x)')).toBe(false);
    expect(readmeBlocks('<!-- readme-test: output-of: eqlite hunt examples/ -->\n```\nalerts: 27\n…\n```\n')).toEqual([
      { line: 2, marker: 'output-of: eqlite hunt examples/', examples: [{ line: 2, command: 'eqlite hunt examples/', expected: ['alerts: 27', '…'] }] },
    ]);
  });
  it('the quick start\'s npm start output is checked: it is the output of the hunt package.json\'s start script runs', () => {
    const start = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['start'];
    expect(start).toBe('node dist/cli/main.js hunt --format table examples/');
    const quick = blocks.filter((b) => b.marker?.startsWith('output-of:'));
    expect(quick.map((b) => b.examples[0]!.command)).toContain(start!.replace(/^node dist\/cli\/main\.js /, 'eqlite '));
    expect(readme).toContain('`npm start` runs `eqlite hunt --format table examples/`');
  });
  for (const b of blocks) {
    // Examples piping into jq or sqlite3 need them installed (.ci/run installs them from Debian).
    const missing = TOOLS.filter((t) => b.examples.some((e) => new RegExp(`(^|[|;&]\\s*)${t}\\b`, 'm').test(e.command)) && !onPath(t));
    const why = skipReason(b.marker, missing);
    it(`README.md:${b.line} (${b.examples.map((e) => e.command.split(/\s+/).slice(0, 2).join(' ')).join('; ')})`, async (ctx) => {
      // Skipped with its reason, which the summary at the end of `npm test` prints.
      if (why !== null) ctx.skip(why);
      const failures: string[] = [];
      for (const e of b.examples) {
        const f = await run(e, b);
        if (f !== null) failures.push(f);
      }
      if (failures.length > 0) expect.fail(failures.join('\n\n'));
    }, 300_000);
  }
});
