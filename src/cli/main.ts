#!/usr/bin/env node
// The `eqlite` executable. The command line itself is program.ts; this starts it from its bundle
// with a V8 code cache when the build made one (see launch.ts), else as ES modules (under tsx, or
// a dist/ built by tsc alone). The package's executable is this module and launch.ts bundled as
// one CommonJS script, dist/cli/eqlite.cjs (scripts/build-cli-bundle.mjs); `node dist/cli/main.js`
// runs the same code as ES modules.
import { loadBundledProgram } from './launch.js';

// Without a top-level await: the build also bundles this module as CommonJS (dist/cli/eqlite.cjs,
// the package's executable; see scripts/build-cli-bundle.mjs). runProgram reports its own errors.
const program = loadBundledProgram(import.meta.url);
void (program !== undefined ? program.runProgram() : import('./program.js').then((p) => p.runProgram()));
