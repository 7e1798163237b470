// The `eqlite` command line. Each command lives in its own module and registers itself here.
// main.ts starts it: from the bundle of this module when there is one (see cli/launch.ts), else
// as ES modules.
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { InputError } from '../events/sources.js';
import { UserError } from './errors.js';
import { ioReason, readerGone } from '../util/files.js';
import { escapeLines } from '../util/terminal.js';
import { markStartup } from '../util/startup-trace.js';

markStartup('main module loaded');

type Register = (program: Command) => unknown;

// Each command's module is imported only when it runs: a hunt does not load the HTTP server's
// modules, and start-up with a thousand rules is not spent loading code it will not use.
const COMMANDS: Record<string, () => Promise<Register>> = {
  hunt: async () => (await import('./hunt.js')).registerHunt,
  query: async () => (await import('./query.js')).registerQuery,
  validate: async () => (await import('./validate.js')).registerValidate,
  convert: async () => (await import('./convert.js')).registerConvert,
  generate: async () => (await import('./generate.js')).registerGenerate,
  rules: async () => (await import('./rules.js')).registerRules,
  test: async () => (await import('./test.js')).registerTest,
  explain: async () => (await import('./explain.js')).registerExplain,
  serve: async () => (await import('./serve.js')).registerServe,
  ui: async () => (await import('./ui.js')).registerUi,
};

const require = createRequire(import.meta.url);
const { version } = require('../../package.json') as { version: string };

/** Runs the command line in process.argv; sets process.exitCode. */
export async function runProgram(): Promise<void> {
  const program = new Command('eqlite')
    .description('Run Elastic Security EQL detection rules over log files, Elasticsearch exports and EVTX')
    .version(version)
    // A usage error is one line and a pointer to the help, not the whole help text.
    .showHelpAfterError('(add --help for the usage and options)')
    // Set before the commands are added, so they inherit it: usage errors exit 2, not 1.
    .exitOverride();
  // The command being run alone; for help, --version or a mistyped command, all of them (in order).
  const named = process.argv[2];
  const wanted = named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);
  for (const register of await Promise.all(wanted.map((c) => COMMANDS[c]!()))) register(program);
  markStartup('command loaded');

  // A reader that stops early (`eqlite validate … | head`) closes stdout: the commands that stream
  // (hunt, query, convert) handle it through their sinks (src/cli/sinks.ts) and may go on writing
  // other outputs; for the others, a closed pipe simply ends the command.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (process.stdout.listenerCount('error') > 1) return;
    if (readerGone(e)) process.exit(process.exitCode ?? 0);
    process.stderr.write(`error: cannot write stdout: ${ioReason(e)}\n`);
    process.exit(2);
  });

  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (readerGone(err)) {
      // process.stdout on a pipe can throw EPIPE from write() itself: the reader is gone.
      process.exitCode ??= 0;
    } else if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
    } else if (err instanceof UserError || err instanceof InputError) {
      // Input errors (a missing or unreadable file, an empty stdin) are usage errors: exit 2.
      process.stderr.write(`error: ${escapeLines(err.message)}\n`);
      process.exitCode = err instanceof UserError ? err.code : 2;
    } else {
      process.stderr.write(`error: internal error: ${escapeLines((err as Error).message)}\n`);
      if (process.env.EQLITE_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
      process.exitCode = 70;
    }
  }
}
