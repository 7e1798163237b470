// What `npm pack` puts in the package a user installs outside the checkout (README: Install outside
// the checkout): the license, the README, the bundled rule with its license note and tests, the
// sample, and the compiled code; not the sources, tests or scripts.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCommand } from './cli-helpers.js';

describe('npm pack', () => {
  it('ships LICENSE, README, the bundled rule and sample, and dist/ only', async () => {
    // --ignore-scripts: list the files without building (the prepare script builds dist/).
    const r = await runCommand('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot });
    expect(r.code).toBe(0);
    const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    for (const f of ['LICENSE', 'README.md', 'package.json', 'examples/windows-sample.ndjson', 'rules/README.md', 'rules/windows/initial_access_scripts_process_started_via_wmi.toml']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => !/^(dist|rules|examples)\//.test(f))).toEqual(['LICENSE', 'README.md', 'package.json']);
    // The executable npm links as `eqlite` is the launcher bundled as CommonJS by the build.
    const bin = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin;
    expect(bin).toEqual({ eqlite: 'dist/cli/eqlite.cjs' });
    if (existsSync(path.join(repoRoot, 'dist', 'cli', 'main.js'))) expect(files).toContain('dist/cli/main.js');
    if (existsSync(path.join(repoRoot, 'dist', 'cli', 'eqlite.cjs'))) expect(files).toContain('dist/cli/eqlite.cjs');
  }, 120_000);
});
