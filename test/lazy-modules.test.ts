// Start-up: a hunt over ECS NDJSON must not load the EVTX reader or the Windows → ECS mapping
// (src/events/inputs.ts imports them the first time an input needs them). The modules a command
// loads are recorded by a module resolution hook in the child process.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './cli-helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-lazy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The repository's source modules (relative to src/) the CLI loaded running `args`. */
async function modulesLoaded(name: string, args: string[]): Promise<string[]> {
  const log = path.join(dir, `${name}.log`);
  writeFileSync(log, '');
  const hooks = path.join(dir, `${name}-hooks.mjs`);
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
  return r;
}
`,
  );
  const register = path.join(dir, `${name}-register.mjs`);
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  const r = await runCli(['hunt', '--format', 'none', '--no-progress', '--no-cache', ...args], { env: { NODE_OPTIONS: `--import ${pathToFileURL(register).href}` } });
  expect(r.stderr).not.toMatch(/internal error/);
  expect(r.code).toBe(0);
  const src = pathToFileURL(path.join(repoRoot, 'src')).href + '/';
  return [...new Set(readFileSync(log, 'utf8').split('\n'))].filter((u) => u.startsWith(src)).map((u) => u.slice(src.length)).sort();
}

describe('modules loaded by a hunt', () => {
  it('ECS NDJSON loads neither the EVTX reader nor the Windows mapping; EVTX loads both', async () => {
    const ndjson = await modulesLoaded('ndjson', ['examples/windows-sample.ndjson']);
    expect(ndjson).toContain('events/inputs.ts');
    expect(ndjson).toContain('events/windows/shape.ts');
    // evtx/render.ts (RawWindowsEvent from XML, its System built by evtx/system.ts) belongs to
    // the Windows XML splitter the JSON reader holds.
    expect(ndjson.filter((m) => m.startsWith('evtx/'))).toEqual(['evtx/render.ts', 'evtx/system.ts']);
    expect(ndjson).not.toContain('events/windows/index.ts');
    expect(ndjson).not.toContain('events/windows/sysmon.ts');

    const evtx = await modulesLoaded('evtx', ['samples/evtx/Sysmon.evtx']);
    expect(evtx).toContain('evtx/reader.ts');
    expect(evtx).toContain('events/windows/index.ts');
    expect(evtx).toContain('events/windows/sysmon.ts');
  }, 120_000);
});
