// The command line of the in-process A/B benches (bench/route.ts, bench/walk.ts): this checkout's
// build against an optional reference build over the first events of one NDJSON file, with every
// active Elastic EQL rule from ../shared. One parser, so both take the same options.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const corpus = path.resolve(root, '..', 'shared', 'corpus', 'elastic-rules', 'eql-rules.ndjson');

export interface AbArgs {
  /** The NDJSON events (the last argument). */
  file: string;
  /** A built checkout to compare with, or undefined. */
  ref: string | undefined;
  /** Events read from the file. */
  limit: number;
  /** Timed passes over them. */
  passes: number;
}

/** Reads `[--ref DIR] [--events N] [--passes N] FILE`; prints the usage and exits when it is wrong. */
export function abArgs(script: string, defaultPasses: number): AbArgs {
  const argv = process.argv;
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const file = argv[argv.length - 1]!;
  const limit = Number(arg('--events') ?? 20_000);
  const passes = Number(arg('--passes') ?? defaultPasses);
  if (!existsSync(corpus) || !existsSync(file) || file.endsWith('.ts') || !(limit > 0) || !(passes > 0)) {
    console.error(`usage: tsx bench/${script} [--ref <built checkout>] [--events N] [--passes N] FILE (needs ../shared)`);
    process.exit(2);
  }
  return { file, ref: arg('--ref'), limit, passes };
}
