// How to start a worker thread whose module sits next to the caller, both when running compiled
// code (dist/…/x.js exists) and under tsx or vitest (only x.ts exists). Node 20 does not apply
// `--import` loaders to worker threads, so in the second case a small eval'd bootstrap registers
// tsx's ESM hooks inside the worker before importing the TypeScript module.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** `new Worker(entry, { eval })` arguments for the module `name` (without extension) beside `base`. */
export function workerEntry(base: string, name: string): { entry: URL | string; eval: boolean } {
  const js = new URL(`./${name}.js`, base);
  if (existsSync(fileURLToPath(js))) return { entry: js, eval: false };
  const ts = new URL(`./${name}.ts`, base).href;
  const boot =
    `import(${JSON.stringify(tsxEsmApi())}).then((m) => { m.register(); return import(${JSON.stringify(ts)}); })` +
    `.catch((e) => { setImmediate(() => { throw e; }); });`;
  return { entry: boot, eval: true };
}

/**
 * URL of tsx's ESM API (the "import" condition of its "./esm/api" export). require.resolve
 * would give the CommonJS build, and import.meta.resolve is not available under vitest.
 */
function tsxEsmApi(): string {
  const pkgPath = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  return new URL(pkg.exports['./esm/api']!.import.default, pathToFileURL(pkgPath)).href;
}
