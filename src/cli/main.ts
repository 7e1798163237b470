#!/usr/bin/env node
// The `eqlite` executable. The command line itself is program.ts; this starts it from its bundle
// with a V8 code cache when the build made one (see launch.ts), else as ES modules (under tsx, or
// a dist/ built by tsc alone).
import { loadBundledProgram } from './launch.js';

const program = loadBundledProgram(import.meta.url) ?? (await import('./program.js'));
await program.runProgram();
