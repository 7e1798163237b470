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
import v8 from 'node:v8';

let reset = false;

/** Makes worker isolates created from now on take V8's default young generation (see above). */
export function workersTakeDefaultYoungGeneration(): void {
  if (reset) return;
  reset = true;
  v8.setFlagsFromString('--max-semi-space-size=0');
}

/**
 * The `--max-semi-space-size` the process was started with (NODE_OPTIONS, then its command line,
 * which Node reads after it), or undefined.
 */
export function startSemiSpaceSize(execArgv: readonly string[], nodeOptions: string): string | undefined {
  let value: string | undefined;
  const words = [...nodeOptions.split(/\s+/), ...execArgv];
  for (let i = 0; i < words.length; i++) {
    const m = /^--max[-_]semi[-_]space[-_]size(?:=(.*))?$/.exec(words[i]!);
    if (m === null) continue;
    value = m[1] ?? words[++i];
  }
  return value;
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
