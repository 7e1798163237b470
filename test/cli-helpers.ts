// Test helper: runs the eqlite CLI from source (node --import tsx) as a user would, capturing
// exit code, stdout and stderr.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const main = path.join(repoRoot, 'src', 'cli', 'main.ts');
// tsx resolved from the repository, so that the command runs from any working directory.
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI asynchronously: a blocking spawn would keep the test worker from answering vitest's
 * own messages on a loaded machine.
 */
export function runCli(args: string[], opts: { input?: string | Buffer; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return runCommand(process.execPath, ['--import', tsx, main, ...args], opts);
}

export function runCommand(cmd: string, args: string[], opts: { input?: string | Buffer; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? repoRoot, env: { ...process.env, NO_COLOR: '1', ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * Bundles the CLI from this source tree once into DIR (esbuild, tsx's own compiler: the CLI and the
 * input worker side by side, as in dist/), so that a test running many commands starts each in a
 * fraction of a second. Returns the path of the bundled main.js.
 */
export async function bundleCli(dir: string): Promise<string> {
  const { build } = await import('esbuild');
  await build({
    entryPoints: { main: path.join(repoRoot, 'src', 'cli', 'main.ts'), worker: path.join(repoRoot, 'src', 'parallel', 'worker.ts') },
    outdir: dir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
  });
  return path.join(dir, 'main.js');
}

/** The README text under a heading, down to the next heading of the same or a higher level. */
export function readmeSection(text: string, heading: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l === heading);
  if (start < 0) throw new Error(`README has no heading ${JSON.stringify(heading)}`);
  const level = /^#+/.exec(heading)![0].length;
  let end = start + 1;
  let code = false; // a "# comment" inside a code block is not a heading
  for (; end < lines.length; end++) {
    const l = lines[end]!;
    if (l.startsWith('```')) code = !code;
    if (!code && /^#+ /.test(l) && /^#+/.exec(l)![0].length <= level) break;
  }
  return lines.slice(start, end).join('\n');
}

/**
 * A one-rule detection-rules TOML file: "Evil process", `process where process.name == "evil.exe"`
 * over `logs-*`, run every `interval` over `now-6m` (the CLI tests' common rule).
 */
export function evilRuleToml(interval = '5m'): string {
  return [
    '[metadata]',
    'creation_date = "2025/01/01"',
    'maturity = "production"',
    'updated_date = "2025/01/01"',
    '',
    '[rule]',
    'author = ["test"]',
    'description = "evil.exe started"',
    'index = ["logs-*"]',
    'language = "eql"',
    'license = "Apache-2.0"',
    'name = "Evil process"',
    'risk_score = 47',
    'rule_id = "evil-1"',
    'severity = "medium"',
    'type = "eql"',
    `interval = "${interval}"`,
    'from = "now-6m"',
    "query = '''",
    'process where process.name == "evil.exe"',
    "'''",
    '',
  ].join('\n');
}
