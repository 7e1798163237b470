// The build id keys every start-up cache (rule-set snapshots, outlines): it must change when any
// module of the code tree is rewritten and stay the same otherwise. Checked on a copy of the
// module in a small code tree of its own.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { repoRoot } from './cli-helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-build-id-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const code = path.join(dir, 'code');
mkdirSync(path.join(code, 'util'), { recursive: true });
mkdirSync(path.join(code, 'engine', 'deep'), { recursive: true });
mkdirSync(path.join(code, 'ui'), { recursive: true });
writeFileSync(path.join(dir, 'package.json'), '{"name":"x","version":"1.0.0"}');
copyFileSync(path.join(repoRoot, 'src', 'util', 'build-id.ts'), path.join(code, 'util', 'build-id.ts'));
writeFileSync(path.join(code, 'engine', 'a.ts'), 'export const a = 1;\n');
writeFileSync(path.join(code, 'engine', 'deep', 'b.ts'), 'export const b = 2;\n');
writeFileSync(path.join(code, 'engine', 'notes.txt'), 'not code\n');
writeFileSync(path.join(code, 'ui', 'page.ts'), 'browser code\n');

/** The id as a fresh process would compute it (the module caches it per process). */
async function freshId(): Promise<string> {
  vi.resetModules();
  const mod = (await import(path.join(code, 'util', 'build-id.ts'))) as { buildId(): string };
  return mod.buildId();
}

const touch = (f: string, seconds: number) => utimesSync(f, seconds, seconds);

describe('buildId', () => {
  it('changes when a module is rewritten, added or the package version changes; not for other files', async () => {
    const first = await freshId();
    expect(first).toMatch(/^[\w-]{43}$/);
    expect(await freshId()).toBe(first);

    touch(path.join(code, 'engine', 'deep', 'b.ts'), 1_700_000_000);
    const touched = await freshId();
    expect(touched).not.toBe(first);

    writeFileSync(path.join(code, 'engine', 'a.ts'), 'export const a = 10;\n');
    touch(path.join(code, 'engine', 'a.ts'), 1_700_000_000);
    const resized = await freshId();
    expect(resized).not.toBe(touched);

    // Not code of this process: other extensions, and the browser assets under ui/.
    writeFileSync(path.join(code, 'engine', 'notes.txt'), 'changed\n');
    writeFileSync(path.join(code, 'ui', 'page.ts'), 'changed browser code\n');
    expect(await freshId()).toBe(resized);

    writeFileSync(path.join(code, 'engine', 'c.ts'), 'export const c = 3;\n');
    const added = await freshId();
    expect(added).not.toBe(resized);

    writeFileSync(path.join(dir, 'package.json'), '{"name":"x","version":"1.0.1"}');
    expect(await freshId()).not.toBe(added);
  });
});
