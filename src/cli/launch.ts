// Starts the command line from its bundle, dist/cli/program.bundle.cjs (one classic script made
// by scripts/build-cli-bundle.mjs from program.js and every module of ours it imports), compiled
// with a V8 code cache. Loading the CLI as 150 ES modules — each resolved, linked, compiled — was
// the largest part of a hunt's start-up; one script whose functions come compiled from the cache
// is a fraction of it.
//
// The code cache (`code/<command>-<key>.bin` in the cache directory, util/cache-dir.ts) is what
// V8 compiled while a previous run of the same command started: written once, when a process that
// found none exits. The key is a digest of the bundle's bytes and of the Node, V8 and CPU
// architecture it was made by, so a rebuild or another Node never reuses it. V8 itself checks
// only the source's length, its version and its flags, and does not verify the cache's checksum
// in release builds, so the file carries the length and sha256 of its payload, checked before V8
// sees it. Anything wrong — no cache directory, `--no-cache`, a missing, damaged, cut or rejected
// cache, a directory that cannot be written — only costs the speed: the bundle is compiled from
// its source, and the program is the same code either way.
//
// Without the bundle (running src/ under tsx, or a dist/ built by tsc alone), when any module it
// was made from has changed since (in a checkout, a `tsc` without the bundling step after it),
// or with EQLITE_BUNDLE=off, main.ts imports program.js as ES modules instead.
import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { cacheDir, digestedFile, pruneCacheFiles, readDigestedFile } from '../util/cache-dir.js';
import { markStartup } from '../util/startup-trace.js';
import { restoreStartYoungGeneration } from '../util/young-generation.js';

/** What program.ts exports. */
export interface Program {
  runProgram(): Promise<void>;
}

export const BUNDLE_FILE = 'program.bundle.cjs';
/** What the bundle's file starts with (scripts/build-cli-bundle.mjs writes it). */
export const BUNDLE_HEAD = '(function (exports, require, module, __filename, __dirname) {';
export const CODE_CACHE_DIR = 'code';
/** Code caches kept (the most recently written): one per command and build in use. */
export const KEEP_CODE_CACHES = 8;
const FORMAT = 'eqlite-code-cache/1';

/**
 * How the bundle was compiled: `used` (from the code cache), `none` (no cache yet), `damaged`
 * (its bytes are not what was written), `rejected` (V8 refused it), `off` (no cache directory or
 * `--no-cache`).
 */
export type CodeCacheOutcome = 'used' | 'none' | 'damaged' | 'rejected' | 'off';

/** The program compiled from the bundle beside main.js, or undefined to import the ES modules. */
export function loadBundledProgram(mainUrl: string): Program | undefined {
  if (process.env.EQLITE_BUNDLE === 'off') return undefined;
  // import() from a vm script needs Node's own loader (Node 20.12+); the bundle keeps import()
  // only for packages, but without it one would throw when called.
  const mainLoader = vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  if (mainLoader === undefined) return undefined;
  const bundle = fileURLToPath(new URL(`./${BUNDLE_FILE}`, mainUrl));
  let source: Buffer;
  try {
    if (!inputsUnchanged(bundle)) {
      markStartup('program bundle out of date: ES modules loaded');
      return undefined;
    }
    source = readFileSync(bundle);
  } catch {
    return undefined;
  }
  // The file holds the bundle inside the module wrapper of CommonJS already (the build writes it
  // so); anything else is not a bundle of this build.
  if (source.length < BUNDLE_HEAD.length || source.toString('latin1', 0, BUNDLE_HEAD.length) !== BUNDLE_HEAD) {
    markStartup('program bundle not of this build: ES modules loaded');
    return undefined;
  }
  const dir = process.argv.includes('--no-cache') ? undefined : cacheDir();
  const file = dir === undefined ? undefined : path.join(dir, CODE_CACHE_DIR, `${commandName()}-${cacheKey(source)}.bin`);
  let cached: Buffer | undefined;
  let outcome: CodeCacheOutcome = file === undefined ? 'off' : 'none';
  if (file !== undefined) {
    const read = readCodeCache(file);
    if (read === 'damaged') outcome = 'damaged';
    else cached = read;
  }
  let script: vm.Script;
  try {
    script = new vm.Script(sourceText(source), { filename: bundle, cachedData: cached, importModuleDynamically: mainLoader });
  } catch {
    // Not a whole script (a build writing it right now): the ES modules are the same code.
    return undefined;
  }
  if (cached !== undefined) outcome = script.cachedDataRejected === true ? 'rejected' : 'used';
  const module = { exports: {} as Program };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(bundle), module, bundle, path.dirname(bundle));
  markStartup(`program bundle compiled (code cache ${outcome})`);
  if (file !== undefined && outcome !== 'used') process.once('exit', () => writeCodeCache(file, script));
  return module.exports;
}

/**
 * The bundle's text. The build writes it in ASCII, and Node makes a string of more than about a
 * megabyte decoded as latin1 an external string (its bytes stay outside V8's heap); as utf8 it would
 * be a 1.5 MB string in the heap, which every garbage collection of start-up must then carry (as
 * the wrapped copy the launcher used to make: 3 MB in all). A byte that is not ASCII (a bundle not
 * made by the build) is decoded as utf8, as it must be.
 */
export function sourceText(source: Buffer): string {
  return isAscii(source) ? source.toString('latin1') : source.toString('utf8');
}

/**
 * Whether every file the bundle was made from (listed beside it by the build, with its size and
 * modification time) is still as it was. In a checkout (a tsconfig.json beside dist/), a `tsc`
 * alone after the build leaves the ES modules newer than the bundle, and they are what must run:
 * sizes and times must be those recorded. An installed package's files are not rebuilt, and npm
 * writes them with the time of the install: there, sizes are checked, and the packages the bundle
 * holds (commander) are not looked for (npm may place them elsewhere). Throws when the list is
 * missing or unreadable.
 */
function inputsUnchanged(bundle: string): boolean {
  const dir = path.dirname(bundle);
  const checkout = existsSync(path.join(dir, '..', '..', 'tsconfig.json'));
  const { inputs } = JSON.parse(readFileSync(bundle.replace(/\.cjs$/, '.json'), 'utf8')) as { inputs: [string, number, number][] };
  for (const [rel, size, mtimeMs] of inputs) {
    if (!checkout && rel.includes('node_modules/')) continue;
    // Joined by hand: path.join normalizing 175 paths was a tenth of the launcher's time.
    const st = statSync(`${dir}/${rel}`, { throwIfNoEntry: false });
    if (st === undefined || st.size !== size || (checkout && st.mtimeMs !== mtimeMs)) return false;
  }
  return true;
}

/** The command being run, for the cache's name: each command compiles its own part of the bundle. */
function commandName(): string {
  const c = process.argv[2];
  return c !== undefined && /^[a-z]{1,20}$/.test(c) ? c : 'other';
}

function cacheKey(source: Buffer): string {
  // V8 refuses a cache made under other V8 flags: runs with other flags keep their own.
  const flags = `${process.execArgv.join(' ')}\0${process.env.NODE_OPTIONS ?? ''}`;
  return createHash('sha256')
    .update(`${FORMAT}\0${process.version}\0${process.versions.v8}\0${process.arch}\0${flags}\0`)
    .update(source)
    .digest('base64url')
    .slice(0, 32);
}

/** The cache's payload; undefined when there is none, 'damaged' when it is not what was written. */
function readCodeCache(file: string): Buffer | 'damaged' | undefined {
  return readDigestedFile(file, FORMAT);
}

/** Writes what V8 compiled so far, atomically (temporary file, then rename); errors are ignored. */
function writeCodeCache(file: string, script: vm.Script): void {
  const tmp = `${file}.${process.pid}.tmp`;
  let fd: number | undefined;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    // Opened before serializing: an unwritable directory costs nothing more.
    fd = openSync(tmp, 'w');
    restoreStartYoungGeneration();
    writeFileSync(fd, digestedFile(FORMAT, script.createCachedData()));
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch {
    try {
      if (fd !== undefined) closeSync(fd);
      rmSync(tmp, { force: true });
    } catch {
      // The path does not lead to a directory at all (ENOTDIR): there is nothing to remove.
    }
    return;
  }
  pruneCacheFiles(path.dirname(file), path.basename(file), '.bin', KEEP_CODE_CACHES);
}

