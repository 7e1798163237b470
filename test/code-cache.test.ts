// The command line's bundle and its V8 code cache (src/cli/launch.ts, scripts/build-cli-bundle.mjs):
// a run that finds no cache writes one, the next run compiles from it, and a damaged, cut,
// V8-rejected or unwritable cache only costs speed — the bundle is then compiled from its source
// and the hunt's results are the same; the bundle's modules compute the build id the ES modules
// do. The bundle is built here from src/ by the build's own function, beside a main module that
// starts it as dist/cli/main.js does.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getHeapStatistics } from 'node:v8';
import { BUNDLE_HEAD, sourceText } from '../src/cli/launch.js';
import { repoRoot, runCommand, type CliResult } from './cli-helpers.js';

const work = mkdtempSync(path.join(tmpdir(), 'eqlite-code-cache-'));
// A package laid out as a checkout: pkg/tsconfig.json, pkg/dist/cli/{main.mjs,program.bundle.cjs}.
const pkg = path.join(work, 'pkg');
const cli = path.join(pkg, 'dist', 'cli');
const main = path.join(cli, 'main.mjs');
// The package's executable: main.ts and the launcher as one CommonJS script.
const executable = path.join(cli, 'eqlite.cjs');
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  mkdirSync(cli, { recursive: true });
  writeFileSync(path.join(pkg, 'tsconfig.json'), '{}\n');
  // Packages are required from the bundle's directory, as from dist/cli in a checkout.
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(pkg, 'node_modules'));
  const script = pathToFileURL(path.join(repoRoot, 'scripts', 'build-cli-bundle.mjs')).href;
  const { bundleProgram } = (await import(script)) as {
    bundleProgram: (o: { codeRoot: string; entry: string; outfile: string; launcher?: { entry: string; outfile: string; program: string } }) => Promise<void>;
  };
  const src = path.join(repoRoot, 'src');
  await bundleProgram({
    codeRoot: src,
    entry: path.join(src, 'cli', 'program.ts'),
    outfile: path.join(cli, 'program.bundle.cjs'),
    launcher: { entry: path.join(src, 'cli', 'main.ts'), outfile: executable, program: pathToFileURL(path.join(src, 'cli', 'program.ts')).href },
  });
  const launch = pathToFileURL(path.join(src, 'cli', 'launch.ts')).href;
  const program = pathToFileURL(path.join(src, 'cli', 'program.ts')).href;
  writeFileSync(
    main,
    `import { loadBundledProgram } from ${JSON.stringify(launch)};
const program = loadBundledProgram(import.meta.url) ?? (await import(${JSON.stringify(program)}));
await program.runProgram();
`,
  );
}, 120_000);

/** A hunt of the sample with the bundled seed rule, caching in `cache`. */
function hunt(cache: string, ...extra: string[]): Promise<CliResult> {
  return huntWith({}, cache, ...extra);
}

function huntWith(env: NodeJS.ProcessEnv, cache: string, ...extra: string[]): Promise<CliResult> {
  return huntBy(main, env, cache, ...extra);
}

function huntBy(entry: string, env: NodeJS.ProcessEnv, cache: string, ...extra: string[]): Promise<CliResult> {
  return runCommand(process.execPath, ['--import', tsx, entry, 'hunt', '--format', 'ndjson', '--no-progress', ...extra, 'examples/windows-sample.ndjson'], {
    env: { EQLITE_CACHE_HOME: cache, EQLITE_TRACE_STARTUP: 'phases', ...env },
  });
}

/** How the bundle was compiled, as the start-up trace says. */
function outcome(r: CliResult): string | undefined {
  expect(r.stderr).not.toMatch(/internal error/);
  expect(r.code).toBe(0);
  return /^startup: program bundle compiled \(code cache (\w+)\)/m.exec(r.stderr)?.[1];
}

function cacheFiles(cache: string): string[] {
  const dir = path.join(cache, 'code');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** Rewrites the cache file's payload with `change`, with a header that matches it (or not). */
function rewrite(file: string, change: (payload: Buffer) => Buffer, header: 'matching' | 'stale'): void {
  const bytes = readFileSync(file);
  const eol = bytes.indexOf(10);
  const [format, length, sha256] = bytes.subarray(0, eol).toString('latin1').split(' ');
  const payload = change(Buffer.from(bytes.subarray(eol + 1)));
  const head = header === 'matching' ? `${format} ${payload.length} ${createHash('sha256').update(payload).digest('hex')}` : `${format} ${length} ${sha256}`;
  writeFileSync(file, Buffer.concat([Buffer.from(`${head}\n`), payload]));
}

describe('the bundle\'s text', () => {
  it('is held outside V8\'s heap when it is ASCII (an external string), and decoded as utf8 otherwise', () => {
    // 4 MB of ASCII, as a bundle is: the string made of it must not be a copy in the heap.
    const ascii = Buffer.alloc(4 << 20, 'let x = 1;\n');
    const before = getHeapStatistics();
    const text = sourceText(ascii);
    const after = getHeapStatistics();
    expect(text.length).toBe(4 << 20);
    expect(text.slice(0, 22)).toBe('let x = 1;\nlet x = 1;\n');
    expect(after.used_heap_size - before.used_heap_size).toBeLessThan(1 << 20);
    expect(after.external_memory - before.external_memory).toBeGreaterThanOrEqual(4 << 20);
    // Not ASCII (not what the build writes): the characters are those of the utf8 bytes.
    expect(sourceText(Buffer.from('const s = "d\u00e9j\u00e0 \u2192";', 'utf8'))).toBe('const s = "d\u00e9j\u00e0 \u2192";');
  });
});

describe('the code cache of the command line', () => {
  it('is written by the first run, used by the next, and replaced when damaged, cut or rejected; results never change', async () => {
    const cache = path.join(work, 'cache');
    const first = await hunt(cache);
    expect(outcome(first)).toBe('none');
    expect(first.stderr).toMatch(/^alerts: 27$/m);
    const files = cacheFiles(cache);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^hunt-[\w-]{32}\.bin$/);
    const file = path.join(cache, 'code', files[0]!);

    const second = await hunt(cache);
    expect(outcome(second)).toBe('used');
    expect(second.stdout).toBe(first.stdout);

    // One byte of the payload changed, the header left as written: our digest catches it.
    rewrite(file, (p) => ((p[p.length >> 1] ^= 0xff), p), 'stale');
    const damaged = await hunt(cache);
    expect(outcome(damaged)).toBe('damaged');
    expect(damaged.stdout).toBe(first.stdout);
    expect(outcome(await hunt(cache))).toBe('used');

    // Cut in half.
    writeFileSync(file, readFileSync(file).subarray(0, readFileSync(file).length >> 1));
    const cut = await hunt(cache);
    expect(outcome(cut)).toBe('damaged');
    expect(cut.stdout).toBe(first.stdout);
    expect(outcome(await hunt(cache))).toBe('used');

    // A payload whose digest matches but that V8 does not accept (its first word, V8's magic
    // number, changed): V8 rejects it and the source is compiled.
    rewrite(file, (p) => ((p[0] ^= 0xff), p), 'matching');
    const rejected = await hunt(cache);
    expect(outcome(rejected)).toBe('rejected');
    expect(rejected.stdout).toBe(first.stdout);
    expect(outcome(await hunt(cache))).toBe('used');
    expect(cacheFiles(cache)).toEqual(files);
  }, 180_000);

  it('started with --max-semi-space-size, which the hunt sets back before its workers start, is used by the next start with it', async () => {
    // V8 hashes its flags into a code cache when it is made, at exit: made after the reset
    // (util/young-generation.ts), it was rejected by every later start with the flag.
    const cache = path.join(work, 'cache-young');
    const run = () =>
      runCommand(process.execPath, ['--max-semi-space-size=32', '--import', tsx, main, 'hunt', '--format', 'ndjson', '--no-progress', '--threads', '2', 'examples/windows-sample.ndjson'], {
        env: { EQLITE_CACHE_HOME: cache, EQLITE_TRACE_STARTUP: 'phases' },
      });
    const first = await run();
    expect(outcome(first)).toBe('none');
    const second = await run();
    expect(outcome(second)).toBe('used');
    expect(outcome(await run())).toBe('used');
    expect(second.stdout).toBe(first.stdout);
    expect(cacheFiles(cache)).toHaveLength(1);
  }, 180_000);

  it('runs with the build id of the ES modules (its modules see their own files): both use the same rule-set snapshot and outlines', async () => {
    const cache = path.join(work, 'cache-build-id');
    const bundled = await hunt(cache);
    expect(outcome(bundled)).toBe('none');
    const modules = await huntWith({ EQLITE_BUNDLE: 'off' }, cache);
    expect(outcome(modules)).toBeUndefined();
    expect(modules.stdout).toBe(bundled.stdout);
    // One build, one snapshot and one outline file, whichever way the program was loaded.
    expect(readdirSync(path.join(cache, 'rule-sets'))).toHaveLength(1);
    expect(readdirSync(cache).filter((f) => f.startsWith('outlines-'))).toHaveLength(1);
  }, 120_000);

  it('is not used, nor the bundle, once a module the bundle was made from has changed', async () => {
    const cache = path.join(work, 'cache-stale');
    const fresh = await hunt(cache);
    expect(outcome(fresh)).toBe('none');
    const list = path.join(cli, 'program.bundle.json');
    const original = readFileSync(list, 'utf8');
    try {
      // As if src/cli/hunt.ts had been rebuilt after the bundle: its recorded time is not its own.
      const inputs = (JSON.parse(original) as { inputs: [string, number, number][] }).inputs;
      const hunt_ = inputs.find(([f]) => f.endsWith('/src/cli/hunt.ts'))!;
      hunt_[2] -= 1000;
      writeFileSync(list, JSON.stringify({ inputs }));
      const stale = await hunt(cache);
      expect(outcome(stale)).toBeUndefined();
      expect(stale.stderr).toMatch(/^startup: program bundle out of date: ES modules loaded /m);
      expect(stale.stdout).toBe(fresh.stdout);
    } finally {
      writeFileSync(list, original);
    }
    expect(outcome(await hunt(cache))).toBe('used');
  }, 120_000);

  it('is written inside the module wrapper, and a bundle file without it is not compiled: the ES modules run', async () => {
    const cache = path.join(work, 'cache-unwrapped');
    const bundle = path.join(cli, 'program.bundle.cjs');
    const original = readFileSync(bundle);
    expect(original.toString('latin1', 0, BUNDLE_HEAD.length)).toBe(BUNDLE_HEAD);
    expect(original.toString('latin1', original.length - 3)).toBe('\n})');
    const wrapped = await hunt(cache);
    expect(outcome(wrapped)).toBe('none');
    try {
      // The bundle as the build wrote it before the wrapper was part of the file.
      writeFileSync(bundle, original.subarray(BUNDLE_HEAD.length, original.length - 3));
      const bare = await hunt(cache);
      expect(outcome(bare)).toBeUndefined();
      expect(bare.stderr).toMatch(/^startup: program bundle not of this build: ES modules loaded /m);
      expect(bare.stdout).toBe(wrapped.stdout);
    } finally {
      writeFileSync(bundle, original);
    }
    expect(outcome(await hunt(cache))).toBe('used');
  }, 120_000);

  it('the package\'s executable, one CommonJS script, starts the same bundle from the same code cache, and the ES modules once the launcher\'s modules have changed', async () => {
    const cache = path.join(work, 'cache-executable');
    expect(readFileSync(executable, 'latin1').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const first = await huntBy(executable, {}, cache);
    expect(outcome(first)).toBe('none');
    const again = await huntBy(executable, {}, cache);
    expect(outcome(again)).toBe('used');
    const fromModule = await hunt(cache);
    expect(outcome(fromModule)).toBe('used');
    expect(again.stdout).toBe(first.stdout);
    expect(fromModule.stdout).toBe(first.stdout);
    expect(first.stderr).toMatch(/^alerts: 27$/m);
    const list = path.join(cli, 'program.bundle.json');
    const original = readFileSync(list, 'utf8');
    try {
      // As if src/cli/launch.ts had been rebuilt after the executable was bundled.
      const inputs = (JSON.parse(original) as { inputs: [string, number, number][] }).inputs;
      const launch = inputs.find(([f]) => f.endsWith('/src/cli/launch.ts'))!;
      launch[2] -= 1000;
      writeFileSync(list, JSON.stringify({ inputs }));
      const stale = await huntBy(executable, {}, cache);
      expect(outcome(stale)).toBeUndefined();
      expect(stale.stderr).toMatch(/^startup: program bundle out of date: ES modules loaded /m);
      expect(stale.stdout).toBe(first.stdout);
    } finally {
      writeFileSync(list, original);
    }
  }, 120_000);

  it('outside a checkout (an installed package, whose files npm dates at the install) checks sizes, not times', async () => {
    const cache = path.join(work, 'cache-installed');
    const list = path.join(cli, 'program.bundle.json');
    const original = readFileSync(list, 'utf8');
    rmSync(path.join(pkg, 'tsconfig.json'));
    try {
      const recorded = JSON.parse(original) as { inputs: [string, number, number][] };
      const hunt_ = recorded.inputs.find(([f]) => f.endsWith('/src/cli/hunt.ts'))!;
      hunt_[2] -= 1000;
      // The bundled packages are not looked for where the checkout had them.
      for (const input of recorded.inputs) if (input[0].includes('node_modules/')) input[0] = input[0].replace('node_modules/', 'node_modules/elsewhere/');
      writeFileSync(list, JSON.stringify(recorded));
      const installed = await hunt(cache);
      expect(outcome(installed)).toBe('none');
      expect(outcome(await hunt(cache))).toBe('used');
      // A size that is not the recorded one: the ES modules are not what the bundle was made from.
      hunt_[1] += 1;
      writeFileSync(list, JSON.stringify(recorded));
      const changed = await hunt(cache);
      expect(outcome(changed)).toBeUndefined();
      expect(changed.stderr).toMatch(/^startup: program bundle out of date: ES modules loaded /m);
      expect(changed.stdout).toBe(installed.stdout);
    } finally {
      writeFileSync(list, original);
      writeFileSync(path.join(pkg, 'tsconfig.json'), '{}\n');
    }
  }, 120_000);

  it('is neither read nor written with --no-cache, and a cache directory that cannot be written costs nothing else', async () => {
    const cache = path.join(work, 'cache-off');
    const off = await hunt(cache, '--no-cache');
    expect(outcome(off)).toBe('off');
    expect(off.stderr).toMatch(/^alerts: 27$/m);
    expect(cacheFiles(cache)).toEqual([]);
    // Nothing else either (the ECS field types the type checks read are kept there otherwise).
    expect(existsSync(cache)).toBe(false);

    // The "directory" is a file: nothing can be written under it.
    const blocked = path.join(work, 'not-a-directory');
    writeFileSync(blocked, 'x');
    for (let i = 0; i < 2; i++) {
      const r = await hunt(blocked);
      expect(outcome(r)).toBe('none');
      expect(r.stdout).toBe(off.stdout);
      expect(r.stderr).toMatch(/^alerts: 27$/m);
    }
    expect(readFileSync(blocked, 'utf8')).toBe('x');
  }, 120_000);
});
