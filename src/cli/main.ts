#!/usr/bin/env node
// The `eqlite` command line. Each command lives in its own module and registers itself here.
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { InputError } from '../events/sources.js';
import { UserError } from './errors.js';
import { ioReason } from '../util/files.js';
import { registerQuery } from './query.js';
import { registerValidate } from './validate.js';
import { registerConvert } from './convert.js';
import { registerGenerate } from './generate.js';
import { registerHunt } from './hunt.js';
import { registerRules } from './rules.js';
import { registerTest } from './test.js';
import { registerExplain } from './explain.js';
import { registerServe } from './serve.js';
import { escapeLines } from '../util/terminal.js';
import { registerUi } from './ui.js';

const require = createRequire(import.meta.url);
const { version } = require('../../package.json') as { version: string };

const program = new Command('eqlite')
  .description('Run Elastic Security EQL detection rules over log files, Elasticsearch exports and EVTX')
  .version(version)
  // A usage error is one line and a pointer to the help, not the whole help text.
  .showHelpAfterError('(add --help for the usage and options)')
  // Set before the commands are added, so they inherit it: usage errors exit 2, not 1.
  .exitOverride();
registerHunt(program);
registerQuery(program);
registerValidate(program);
registerConvert(program);
registerGenerate(program);
registerRules(program);
registerTest(program);
registerExplain(program);
registerServe(program);
registerUi(program);

// A reader that stops early (`eqlite validate … | head`) closes stdout: the commands that stream
// (hunt, query, convert) handle it through their sinks (src/cli/sinks.ts) and may go on writing
// other outputs; for the others, a closed pipe simply ends the command.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (process.stdout.listenerCount('error') > 1) return;
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  process.stderr.write(`error: cannot write stdout: ${ioReason(e)}\n`);
  process.exit(2);
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'EPIPE') {
    // process.stdout on a pipe can throw EPIPE from write() itself: the reader is gone.
    process.exitCode ??= 0;
  } else if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else if (err instanceof UserError || err instanceof InputError) {
    // Input errors (a missing or unreadable file, an empty stdin) are usage errors: exit 2.
    process.stderr.write(`eqlite: ${escapeLines(err.message)}\n`);
    process.exitCode = err instanceof UserError ? err.code : 2;
  } else {
    process.stderr.write(`eqlite: internal error: ${escapeLines((err as Error).message)}\n`);
    if (process.env.EQLITE_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    process.exitCode = 70;
  }
}
