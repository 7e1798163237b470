// The main thread of a hunt with every rule keeps each event for a while (its rules' windows and
// sequence state), so a larger young generation lets more of those objects die before a scavenge
// copies them: `node --max-semi-space-size=32` (or NODE_OPTIONS) gives the main isolate 32 MB
// semi-spaces instead of V8's 16. Only a flag given at process start sizes the main isolate's heap
// (`v8.setFlagsFromString` later changes nothing there), and the flag is the process's: every
// worker isolate created after it takes it too, whatever its resourceLimits say.
//
// The input workers do worse with it. Over the 1,000,000-event Agent file with every rule
// (sixteenth session, `--trace-gc-nvp`, one run each, load 12–17): main thread 165 scavenges and
// 635 MB promoted without the flag, 89 and 349–355 MB with it; the two workers 5–9 full collections
// each without it, 48–52 with it (their old generations follow the main thread's growing factor,
// heap-growth.ts), 13–20 when the flag is set back before they start. So it is set back before the
// first worker starts: 0 is V8's "not set", the main isolate keeps the young generation it was
// started with, and each worker's is V8's default again.
//
// Tried and dropped (eighteenth session): giving the input workers a young generation of their own,
// `new Worker(…, { resourceLimits: { maxYoungGenerationSizeMb } })`. V8 takes it once the flag is 0
// again (the flag wins while set), as three semi-spaces' worth, the semi-space rounded up to a power
// of two (24 → 8 MB semi-spaces, 72 or 96 → 32, 192 → 64; V8's default is 16). Alternating pairs
// against the default with every rule, CPU summed over every thread of the hunt's processes
// (loaded VM, load 4–17, so medians of pairs). Over the first 400,000 events of the bench's Agent
// file (two workers, ~23 s of CPU): 8 MB −0.1 s (6 pairs, −0.6…+2.8; GC helper threads +0.7 s),
// peak RSS −27 MB (−77…+1); 32 MB −0.3 s (6 pairs, −3.8…+1.5), +53 MB (+20…+70); 64 MB +0.2 s
// and +117 MB (2 pairs). Over all 1,000,000 events (~50 s of CPU): 8 MB +6.5 s (3 pairs,
// +6.1…+10.2; workers +3.9, helper threads +2.3), peak RSS +18 MB (−66…+79); 32 MB +2.6 s
// (4 pairs, −3.3…+10.2), +58 MB (+36…+116), beyond the 10 GB hunt's 26 MB margin under 1 GB:
// the 10 GB file peaked at 1,013 MB in the child against 919 MB by default (one pair, load 7).
// `--trace-gc-nvp` over the 400,000 events (one run each), per worker: 189–198 scavenges and 4–5
// full collections by default, 325–337 and 14–15 with 8 MB, 83–89 and 7–10 with 32 MB. A
// worker's maxOldGenerationSizeMb was not tried: a heap beyond a hard limit is a crash
// (heap-growth.ts).
import v8 from 'node:v8';

let reset = false;

/** Makes worker isolates created from now on take V8's default young generation (see above). */
export function workersTakeDefaultYoungGeneration(): void {
  if (reset) return;
  reset = true;
  v8.setFlagsFromString('--max-semi-space-size=0');
}

/** A V8 flag sizing the young generation that the process was started with. */
export interface YoungGenerationFlag {
  /** Its name without the leading `--`, with `-` where `_` was written: 'max-semi-space-size'. */
  name: string;
  /** What follows its `=`, or undefined (V8 takes no value from the next word: Node refuses `--max-semi-space-size 32`). */
  value: string | undefined;
}

// The semi-space flags of V8 (--min-semi-space-size, --max-semi-space-size, --semi-space-growth-factor)
// and any --young-generation… or --max-young-generation… flag: a whole word, `-` or `_` alike.
const YOUNG_FLAG = /^--((?:(?:max|min)[-_])?semi[-_]space(?:[-_][a-z_-]*)?|(?:max[-_])?young[-_]generation(?:[-_][a-z_-]*)?)(?:=(.*))?$/s;

/**
 * The words of NODE_OPTIONS as Node 20 splits them (node_options.cc): at spaces outside double
 * quotes; a quote opens or closes a quoted part and is dropped; inside one, a backslash keeps the
 * character after it as it is. Only the space separates: Node reads a tab as part of a word.
 */
export function nodeOptionsWords(nodeOptions: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quoted = false;
  for (let i = 0; i < nodeOptions.length; i++) {
    let c = nodeOptions[i]!;
    if (c === '\\' && quoted && i + 1 < nodeOptions.length) c = nodeOptions[++i]!;
    else if (c === ' ' && !quoted) {
      if (word !== undefined) words.push(word);
      word = undefined;
      continue;
    } else if (c === '"') {
      // As in Node, `""` alone makes no word.
      quoted = !quoted;
      continue;
    }
    word = (word ?? '') + c;
  }
  if (word !== undefined) words.push(word);
  return words;
}

/**
 * Every young-generation flag the process was started with, in the order V8 reads them: those of
 * NODE_OPTIONS, then those of its command line (execArgv), so the last of a name is the one in force.
 * The one place that reads them, for cli/young-rerun.ts (was any given?) and for
 * restoreStartYoungGeneration below (which --max-semi-space-size is in force).
 */
export function startYoungGenerationFlags(execArgv: readonly string[], nodeOptions: string): YoungGenerationFlag[] {
  const flags: YoungGenerationFlag[] = [];
  for (const word of [...nodeOptionsWords(nodeOptions), ...execArgv]) {
    const m = YOUNG_FLAG.exec(word);
    if (m !== null) flags.push({ name: m[1]!.replaceAll('_', '-'), value: m[2] });
  }
  return flags;
}

/** The `--max-semi-space-size` value the process was started with (see startYoungGenerationFlags), or undefined. */
export function startSemiSpaceSize(execArgv: readonly string[], nodeOptions: string): string | undefined {
  return startYoungGenerationFlags(execArgv, nodeOptions).findLast((f) => f.name === 'max-semi-space-size')?.value;
}

/**
 * Sets the flag back to the value the process started with. V8 refuses a code cache made under
 * other flags than its own, and hashes their values when the cache is made: the code cache that a
 * hunt started with the flag writes when it exits (cli/launch.ts), after the reset above, was
 * refused by every later start with the same flag, which then compiled the program without it.
 */
export function restoreStartYoungGeneration(): void {
  const v = startSemiSpaceSize(process.execArgv, process.env.NODE_OPTIONS ?? '');
  if (v !== undefined && /^\d+$/.test(v)) v8.setFlagsFromString(`--max-semi-space-size=${v}`);
}
