// A large hunt re-runs itself in a child process whose main isolate has a larger young generation.
//
// Over the 1,000,000-event Agent file with every Elastic rule, the main thread keeps each event
// for a while (rule windows, sequence state): with V8's 16 MB semi-spaces about half of the young
// generation survives each scavenge, and the main isolate spent ~2.5 s in 186 scavenges; with
// `--max-semi-space-size=32` the whole process used ~10% less CPU (seventeenth session). Only a
// flag given when the process starts sizes the main isolate's heap (`v8.setFlagsFromString` later
// changes nothing there; util/young-generation.ts), Node 20 has no exec() that would replace the
// process (process.execve is Node 22.15+), and a `#!/usr/bin/env -S node --flag` line is not
// portable. So, when the regular files given add up to enough bytes that a second start of Node
// (~0.1 s of CPU) is small beside the time saved, `eqlite hunt` starts the same command again in a
// child with the flag, and the first process only waits for it: it forwards the signals it
// receives and exits as the child did. Nothing else happens in it: the decision is taken before
// rules are loaded or any output is opened.
//
// EQLITE_YOUNG_GENERATION=off (or 0) turns this off; a number N gives the child N MB semi-spaces
// instead of 32. EQLITE_YOUNG_GENERATION_MIN_INPUT (a size, e.g. 1G; 0 re-runs every hunt) sets
// the threshold. A process already started with a young-generation flag (execArgv or NODE_OPTIONS)
// is left as it is, and so is the child itself (EQLITE_YOUNG_GENERATION_CHILD).
//
// Signals. Ctrl-C sends SIGINT to the whole foreground process group, the child as well as the
// parent; a `kill` of the parent's pid reaches the parent alone. The hunt stops cleanly at the
// first SIGINT or SIGTERM and at once at the second (interrupt.ts), so the parent cannot simply
// kill() the child with every signal it receives: a Ctrl-C would arrive twice. It writes the
// signal's name on a pipe (the child's fd 3) instead, and the child counts the signals it received
// itself and those the parent forwarded apart: one press is the larger of the two counts
// (interrupt.ts, forwardedSignal). SIGHUP, which the hunt does not handle, ends the child as it
// would have ended the process.
import type { ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import type net from 'node:net';
import path from 'node:path';
import { forwardedSignal } from './interrupt.js';
import { markStartup } from '../util/startup-trace.js';
import { parseMemory } from './memory.js';
import { startYoungGenerationFlags } from '../util/young-generation.js';

// node:child_process and node:net are loaded only when used: every hunt's start-up passes here.
const require = createRequire(import.meta.url);

/** Semi-space size (MB) given to the child: 64 measured no better than 32 and used more memory. */
export const DEFAULT_YOUNG_SEMI_SPACE_MB = 32;
/**
 * Regular files adding up to at least this many bytes are hunted in a child. At ~2.7 KB per Agent
 * event, 128 MB is ~47,000 events: with every rule the main isolate's scavenges took ~0.35 s at
 * 25,000 events (69 MB) and ~0.6–1.1 s at 50,000 (138 MB) with the default young generation, a
 * third less with 32 MB semi-spaces; a second start of Node costs ~0.1 s of CPU (0.07 s of it
 * Node itself on this VM, with NODE_EXTRA_CA_CERTS). Below ~64 MB the gain is about the cost.
 */
export const DEFAULT_MIN_INPUT_BYTES = 128 * 1024 * 1024;
export const YOUNG_ENV = 'EQLITE_YOUNG_GENERATION';
export const MIN_INPUT_ENV = 'EQLITE_YOUNG_GENERATION_MIN_INPUT';
/** Set in the child's environment: the child never re-runs itself. */
export const CHILD_ENV = 'EQLITE_YOUNG_GENERATION_CHILD';
/** Signals the parent passes on (SIGINT, SIGTERM: a clean stop; SIGHUP: the end of the terminal). */
export const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** Entries looked at below directories given as inputs, at most, to add up their files' sizes. */
const DIRECTORY_ENTRY_BUDGET = 10_000;

export type YoungDecision = { rerun: true; semiSpaceMb: number } | { rerun: false; reason: string };

/**
 * Whether a hunt is re-run in a child, and with what semi-space size. `sizeOfInputs(enough)` gives
 * the bytes of its inputs' regular files (inputBytes), counted until `enough`; it is called last,
 * only when everything else allows a re-run. Throws an Error naming the variable when one is
 * malformed.
 */
export function youngGenerationDecision(env: NodeJS.ProcessEnv, execArgv: readonly string[], sizeOfInputs: (enough: number) => number): YoungDecision {
  if (env[CHILD_ENV] !== undefined) return { rerun: false, reason: 'this is the re-run child' };
  const setting = (env[YOUNG_ENV] ?? '').trim();
  let semiSpaceMb = DEFAULT_YOUNG_SEMI_SPACE_MB;
  if (setting === 'off' || setting === '0') return { rerun: false, reason: `${YOUNG_ENV}=${setting}` };
  if (setting !== '') {
    const n = Number(setting);
    if (!/^\d+$/.test(setting) || n < 1 || n > 256) throw new Error(`${YOUNG_ENV}: expected off or a semi-space size in MB from 1 to 256; got ${JSON.stringify(env[YOUNG_ENV])}`);
    semiSpaceMb = n;
  }
  const given = startYoungGenerationFlags(execArgv, env.NODE_OPTIONS ?? '');
  if (given.length > 0) return { rerun: false, reason: `started with --${given[given.length - 1]!.name}` };
  const min = minInputBytes(env);
  const inputBytes = sizeOfInputs(min);
  if (inputBytes < min) return { rerun: false, reason: `inputs of ${inputBytes} bytes, fewer than ${min}` };
  return { rerun: true, semiSpaceMb };
}

function minInputBytes(env: NodeJS.ProcessEnv): number {
  const v = (env[MIN_INPUT_ENV] ?? '').trim();
  if (v === '') return DEFAULT_MIN_INPUT_BYTES;
  if (v === '0') return 0;
  try {
    return parseMemory(v);
  } catch {
    throw new Error(`${MIN_INPUT_ENV}: expected a size such as 128M or 1G, or 0; got ${JSON.stringify(env[MIN_INPUT_ENV])}`);
  }
}

/**
 * The bytes of the regular files among `inputs`, and of those found below the directories among
 * them (DIRECTORY_ENTRY_BUDGET entries at most), counted until `enough` is reached. Stdin and
 * anything that cannot be read count nothing: the hunt itself reports them.
 */
export function inputBytes(inputs: readonly string[], enough: number): number {
  let total = 0;
  let budget = DIRECTORY_ENTRY_BUDGET;
  const visit = (p: string, depth: number): void => {
    if (total >= enough || budget <= 0) return;
    const st = statSync(p, { throwIfNoEntry: false });
    if (st === undefined) return;
    if (st.isFile()) {
      total += st.size;
      return;
    }
    if (!st.isDirectory() || depth > 32) return;
    let names: string[];
    try {
      names = readdirSync(p);
    } catch {
      return;
    }
    for (const n of names) {
      if (--budget < 0 || total >= enough) return;
      visit(path.join(p, n), depth + 1);
    }
  };
  try {
    for (const p of inputs) if (p !== '-') visit(p, 0);
  } catch {
    // An input that cannot be looked at (EACCES, ELOOP): the hunt reports it; what was counted stands.
  }
  return total;
}

/**
 * Runs this process's command again in a child with `--max-semi-space-size=MB`, and never returns
 * when it started: the process exits with the child's exit code, or by the signal that ended the
 * child. Returns false when the child could not be started (the hunt then runs here).
 */
export async function rerunInChild(semiSpaceMb: number): Promise<false> {
  const args = [`--max-semi-space-size=${semiSpaceMb}`, ...process.execArgv, ...process.argv.slice(1)];
  markStartup(`young generation: re-running in a child with --max-semi-space-size=${semiSpaceMb}`);
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  const child: ChildProcess = spawn(process.execPath, args, {
    stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
  const started = await new Promise<boolean>((resolve) => {
    child.once('spawn', () => resolve(true));
    child.once('error', () => resolve(false));
  });
  if (!started) {
    markStartup('young generation: the child could not be started; the hunt runs here');
    return false;
  }
  const pipe = child.stdio[3] as net.Socket;
  // The child may be gone while a signal is written: nothing is left to tell.
  pipe.on('error', () => undefined);
  const forward = (name: NodeJS.Signals) => {
    if (!pipe.destroyed) pipe.write(`${name}\n`);
  };
  for (const s of FORWARDED_SIGNALS) process.on(s, forward);
  await new Promise<never>(() => {
    child.once('exit', (code, signal) => {
      for (const s of FORWARDED_SIGNALS) process.off(s, forward);
      if (signal !== null) {
        // Ended by a signal: so does this process, for the shell to see the same status; a signal
        // that does not end a Node process (ignored here) is reported as a shell would.
        process.kill(process.pid, signal);
        process.exit(128 + (osConstants.signals[signal] ?? 0));
      }
      process.exit(code ?? 1);
    });
  });
  return false;
}

/**
 * In the child: passes the signals the parent forwards (one name a line on fd 3) to interrupt.ts.
 * The pipe does not keep the process alive; its end (the parent is gone) changes nothing.
 */
export function listenToParent(): void {
  let socket: net.Socket;
  try {
    const { Socket } = require('node:net') as typeof net;
    socket = new Socket({ fd: 3, readable: true, writable: false });
  } catch {
    return;
  }
  socket.on('error', () => undefined);
  let buffered = '';
  socket.setEncoding('utf8').on('data', (d: string) => {
    buffered += d;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const name = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if ((FORWARDED_SIGNALS as readonly string[]).includes(name)) forwardedSignal(name as NodeJS.Signals);
    }
  });
  socket.unref();
}
