// The README's Library API examples run as printed (with `from 'eqlite'` pointing at this source
// tree, bundled by esbuild), from a checkout's folder, and print what their comments say: each
// line they print is one of the `// …` values written beside the code ("…" abbreviates), and each
// value written beside a console.log is printed.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readmeSection as section, repoRoot } from './cli-helpers.js';

const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
const api = section(readme, '## Library API');
/** The js/ts code blocks of the section, in order. */
const blocks = [...api.matchAll(/```(?:js|ts)\n([\s\S]*?)```/g)].map((m) => m[1]!);

/** The values the comments say are printed: comments on a console.log line or on the lines after it. */
export function documentedOutputs(code: string): { all: string[]; logged: string[] } {
  const all: string[] = [];
  const logged: string[] = [];
  let afterLog = false;
  for (const line of code.split('\n')) {
    const m = /^(.*?)\s*\/\/ (.*)$/.exec(line);
    const stmt = m ? m[1]! : line;
    // A comment continues the statement above it, up to a blank line or the next statement.
    if (line.trim() === '') afterLog = false;
    else if (stmt.trim() !== '') afterLog = /console\.log\(/.test(stmt);
    if (!m) continue;
    all.push(m[2]!.trim());
    if (afterLog) logged.push(m[2]!.trim());
  }
  return { all, logged };
}

const matches = (printed: string, documented: string) =>
  documented.includes('…') ? printed.startsWith(documented.slice(0, documented.indexOf('…')).trimEnd()) : printed === documented;

const parent = mkdtempSync(path.join(tmpdir(), 'eqlite-readme-lib-'));
const work = path.join(parent, 'eqlite');
let lib = '';
beforeAll(async () => {
  mkdirSync(work, { recursive: true });
  for (const d of ['examples', 'samples', 'rules', 'node_modules', 'package.json']) symlinkSync(path.join(repoRoot, d), path.join(work, d));
  const { build } = await import('esbuild');
  await build({
    entryPoints: { index: path.join(repoRoot, 'src', 'index.ts'), worker: path.join(repoRoot, 'src', 'parallel', 'worker.ts') },
    outdir: path.join(work, 'build', 'lib'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
  });
  lib = path.join(work, 'build', 'lib', 'index.js');
});
afterAll(() => rmSync(parent, { recursive: true, force: true }));

function runModule(file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('README Library API examples', () => {
  it('the section has its examples', () => {
    expect(blocks.length).toBe(4);
  });

  // The first block only imports; the second uses those imports.
  const programs = [blocks[0]! + blocks[1]!, blocks[2]!, blocks[3]!];
  programs.forEach((code, i) => {
    it(`example ${i + 1} runs and prints what its comments say`, async () => {
      const file = path.join(work, `example-${i + 1}.mjs`);
      writeFileSync(file, code.replaceAll(`from 'eqlite'`, `from ${JSON.stringify(lib)}`));
      const r = await runModule(file);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const printed = r.stdout.split('\n').filter((l) => l !== '');
      const { all, logged } = documentedOutputs(code);
      expect(printed.filter((p) => !all.some((d) => matches(p, d)))).toEqual([]);
      expect(logged.filter((d) => !printed.some((p) => matches(p, d)))).toEqual([]);
    }, 120_000);
  });
});
