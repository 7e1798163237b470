// Bundles the command line (dist/cli/program.js and every module of ours it imports, statically or
// lazily) into one classic script, dist/cli/program.bundle.cjs, that dist/cli/main.js compiles
// with a V8 code cache (src/cli/launch.ts). Loading 150 ES modules one by one — resolving,
// linking and compiling each — is the largest part of start-up; one script compiled from its
// code cache is not. Built from tsc's output, so the bundle runs exactly the code of dist/.
//
// - Packages (node_modules) stay outside, except commander: they are require()d at run time.
// - Modules imported with import() stay lazy: esbuild wraps them in functions evaluated on first
//   use, as the ES modules were.
// - `import.meta.url` becomes the URL of the module's own file in dist/, so that the paths built
//   from it (package.json, rules/, the UI's assets, the worker threads' modules, the build id's
//   walk of dist/) are those of the unbundled module. Any other use of import.meta fails the build
//   (esbuild's empty-import-meta warning, made an error).
import { build } from 'esbuild';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

/**
 * What the bundle's file starts and ends with: the module wrapper of CommonJS, so that the bundle
 * sees the usual free variables. The launcher (src/cli/launch.ts, BUNDLE_HEAD there) checks the
 * head before it compiles the file.
 */
export const BUNDLE_HEAD = '(function (exports, require, module, __filename, __dirname) {';
export const BUNDLE_TAIL = '\n})';

/**
 * commander requires node:child_process at its top, for the one method that runs a subcommand as
 * its own executable (`_executeSubCommand`, which eqlite never uses): loading it, with the modules it
 * requires (dgram, the socket list, the child process wrappers), took about 1 ms of CPU at every
 * start. In the bundle, commander's `childProcess` is an object whose `spawn` requires the module
 * when first called. The build fails if commander's source no longer has that line or uses
 * anything of the module but `spawn`, rather than bundle an unchanged copy silently.
 */
const CHILD_PROCESS_LINE = "const childProcess = require('node:child_process');";
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
      const code = readFileSync(args.path, 'utf8');
      const uses = code.match(/childProcess\.\w+/g) ?? [];
      if (!code.includes(CHILD_PROCESS_LINE) || uses.some((u) => u !== 'childProcess.spawn')) {
        throw new Error(`${args.path}: commander no longer requires node:child_process as the bundle expects (${CHILD_PROCESS_LINE}; childProcess.spawn only)`);
      }
      const lazy = "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };";
      return { contents: code.replace(CHILD_PROCESS_LINE, lazy), loader: 'js' };
    });
  },
};

/**
 * Bundles `entry` (program.js, or program.ts for the tests) and the modules of `codeRoot` it
 * imports into `outfile`. With `launcher`, also bundles `launcher.entry` (main.js: the launcher and
 * the few modules it imports) into `launcher.outfile` as one CommonJS script, the `eqlite`
 * executable of the package (package.json's bin): Node starts a CommonJS main script without
 * setting up its ES module loader, about 3% of a hunt's start-up instructions. Its import() of the
 * program's ES modules (used when the bundle cannot be) is left to Node, as `launcher.program`.
 */
export async function bundleProgram({ codeRoot, entry, outfile, launcher }) {
  /** Replaces import.meta.url in each module of codeRoot by its own file's URL, found from the bundle's directory. */
  const moduleUrls = {
    name: 'module-urls',
    setup(b) {
      b.onLoad({ filter: /\.[jt]s$/ }, (args) => {
        if (!args.path.startsWith(codeRoot + path.sep) || args.path.endsWith('.d.ts')) return undefined;
        const code = readFileSync(args.path, 'utf8');
        const rel = path.relative(path.dirname(outfile), args.path).split(path.sep).join('/');
        const contents = code.replaceAll('import.meta.url', `__eqliteModuleUrl(${JSON.stringify(rel)})`);
        return { contents, loader: args.path.endsWith('.ts') ? 'ts' : 'js' };
      });
    },
  };
  const result = await build({
    entryPoints: [entry],
    metafile: true,
    absWorkingDir: root,
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // ASCII only (the default, made explicit), so that V8 holds the source as a one-byte string.
    charset: 'ascii',
    // Packages are loaded by require() at run time, except commander, which every command loads
    // first: bundled, it is compiled from the code cache with the rest.
    external: Object.keys(pkg.dependencies).filter((d) => d !== 'commander'),
    // Not minified: --debug stacks stay readable (they name program.bundle.cjs and its lines).
    minify: false,
    sourcemap: false,
    logLevel: 'warning',
    logOverride: { 'empty-import-meta': 'error' },
    banner: {
      // __dirname is the bundle's directory (dist/cli), given by the launcher's wrapper.
      js: `const __eqliteModuleUrl = (rel) => require('node:url').pathToFileURL(require('node:path').join(__dirname, rel)).href;`,
    },
    plugins: [moduleUrls, lazyChildProcess],
  });
  // esbuild escapes what is not ASCII in code, not in the comments it keeps (a class member's doc
  // comment): those characters are written as \u escapes too, which changes no code.
  // The file is then the bundle inside the module wrapper of CommonJS, written here rather than
  // added by the launcher: V8 can then compile the file's bytes as they are, held outside its heap
  // (launch.ts), instead of a 1.5 MB decoded copy and a second, wrapped one in the heap — 3 MB that
  // every start-up's garbage collections would otherwise carry.
  const text = readFileSync(outfile, 'utf8');
  const ascii = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  writeFileSync(outfile, `${BUNDLE_HEAD}${ascii}${BUNDLE_TAIL}`);
  // Every file the bundle was made from, as stat sees it now: the launcher uses the bundle only
  // while they are all unchanged, so that a later `tsc` alone never leaves an older bundle running.
  const inputs = Object.keys(result.metafile.inputs).map((f) => {
    const full = path.resolve(root, f);
    const st = statSync(full);
    return [path.relative(path.dirname(outfile), full).split(path.sep).join('/'), st.size, st.mtimeMs];
  });
  // The launcher's own inputs are listed with the bundle's: a `tsc` alone after the build that
  // changed one leaves the CommonJS executable older than they are, and it then imports the ES
  // modules rather than compile the bundle.
  if (launcher !== undefined) {
    const listed = new Set(inputs.map(([f]) => f));
    for (const input of await bundleLauncher(codeRoot, launcher, moduleUrls, outfile)) if (!listed.has(input[0])) inputs.push(input);
  }
  writeFileSync(outfile.replace(/\.cjs$/, '.json'), JSON.stringify({ inputs }));
}

/** Bundles the launcher (see bundleProgram); returns its inputs as the bundle's list records them. */
async function bundleLauncher(codeRoot, { entry, outfile: out, program }, moduleUrls, bundleFile) {
  const programImport = {
    name: 'program-import',
    setup(b) {
      b.onResolve({ filter: /^\.\/program\.js$/ }, () => ({ path: program, external: true }));
      // The entry finds the bundle beside itself: its import.meta.url is the executable's own URL.
      b.onLoad({ filter: /\.[jt]s$/ }, (args) => {
        if (args.path !== entry) return undefined;
        const contents = readFileSync(args.path, 'utf8').replaceAll('import.meta.url', `require('node:url').pathToFileURL(__filename).href`);
        return { contents, loader: args.path.endsWith('.ts') ? 'ts' : 'js' };
      });
    },
  };
  const result = await build({
    entryPoints: [entry],
    metafile: true,
    absWorkingDir: root,
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    charset: 'ascii',
    external: Object.keys(pkg.dependencies),
    minify: false,
    sourcemap: false,
    logLevel: 'warning',
    logOverride: { 'empty-import-meta': 'error' },
    banner: { js: `const __eqliteModuleUrl = (rel) => require('node:url').pathToFileURL(require('node:path').join(__dirname, rel)).href;` },
    plugins: [programImport, moduleUrls],
  });
  chmodSync(out, 0o755);
  return Object.keys(result.metafile.inputs).map((f) => {
    const full = path.resolve(root, f);
    const st = statSync(full);
    return [path.relative(path.dirname(bundleFile), full).split(path.sep).join('/'), st.size, st.mtimeMs];
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dist = path.join(root, 'dist');
  await bundleProgram({
    codeRoot: dist,
    entry: path.join(dist, 'cli', 'program.js'),
    outfile: path.join(dist, 'cli', 'program.bundle.cjs'),
    launcher: { entry: path.join(dist, 'cli', 'main.js'), outfile: path.join(dist, 'cli', 'eqlite.cjs'), program: './program.js' },
  });
}
