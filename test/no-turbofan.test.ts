// withoutTurbofan (src/util/no-turbofan.ts): while its function runs V8 does not optimize with
// TurboFan; afterwards it does again, and a code cache made then is accepted by a fresh process
// (V8 rejects a cache made under other flags). Each case runs in a fresh Node process, since the
// flags are the process's.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from './cli-helpers.js';

const work = mkdtempSync(path.join(tmpdir(), 'eqlite-no-turbofan-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const moduleUrl = pathToFileURL(path.join(repoRoot, 'src', 'util', 'no-turbofan.ts')).href;

/** Runs `body` (ES module text; `withoutTurbofan` imported) in a fresh node with `flags`; its stdout lines. */
function run(body: string, flags: string[] = []): string[] {
  const file = path.join(work, `case-${Math.random().toString(36).slice(2)}.mts`);
  writeFileSync(file, `import { withoutTurbofan } from ${JSON.stringify(moduleUrl)};\n${body}\n`);
  const r = spawnSync(process.execPath, ['--import', tsx, ...flags, file], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.trim().split('\n');
}

// V8's %GetOptimizationStatus: bit 6 is "optimized by TurboFan" (V8 11–13).
const TURBOFANNED = 1 << 6;
const optimizedBody = `
const TURBOFANNED = ${TURBOFANNED};
function optimizedNow(): boolean {
  const f = new Function('x', 'return x * 2 + 1;') as (x: number) => number;
  eval('%PrepareFunctionForOptimization(f)');
  f(1); f(2);
  eval('%OptimizeFunctionOnNextCall(f)');
  f(3);
  return (eval('%GetOptimizationStatus(f)') & TURBOFANNED) !== 0;
}`;

describe('withoutTurbofan', () => {
  it('optimizes nothing with TurboFan inside, and does again after it returns or throws', () => {
    const out = run(
      `${optimizedBody}
console.log(optimizedNow());
console.log(withoutTurbofan(() => optimizedNow()));
console.log(optimizedNow());
try { withoutTurbofan(() => { throw new Error('boom'); }); } catch (e) { console.log((e as Error).message); }
console.log(optimizedNow());`,
      ['--allow-natives-syntax'],
    );
    expect(out).toEqual(['true', 'false', 'true', 'boom', 'true']);
  });

  it('leaves a V8 flag about optimizing given on the command line as it was', () => {
    const out = run(`${optimizedBody}\nconsole.log(withoutTurbofan(() => 7));\nconsole.log(optimizedNow());`, ['--allow-natives-syntax', '--no-turbofan']);
    expect(out).toEqual(['7', 'false']);
  });

  it('leaves the flags as a fresh process has them: a code cache made afterwards is accepted', () => {
    const cacheFile = path.join(work, 'cache.bin');
    const src = 'function f(x) { return x + 1; } f(1);';
    run(`import vm from 'node:vm'; import { writeFileSync } from 'node:fs';
withoutTurbofan(() => 0);
writeFileSync(${JSON.stringify(cacheFile)}, new vm.Script(${JSON.stringify(src)}).createCachedData());`);
    const out = run(`import vm from 'node:vm'; import { readFileSync } from 'node:fs';
console.log(new vm.Script(${JSON.stringify(src)}, { cachedData: readFileSync(${JSON.stringify(cacheFile)}) }).cachedDataRejected);`);
    expect(out).toEqual(['false']);
  });
});
