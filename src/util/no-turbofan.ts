// Start-up loops that call the same few functions thousands of times once — the 2,229 `statSync`
// calls that check an installed rule set's snapshot (rules/snapshot.ts) — make V8 optimize those
// functions (Node's `statSync`, `getStatsFromBinding`, `Stats`, its `Date`s' helpers, our
// `looksAsRecorded`) with TurboFan on a helper thread: nine compile jobs, about 10 ms of CPU on this
// VM, for code that is done running before the compiled code is ready (`node --trace-opt`; no
// function is optimized while a hunt of the Kibana export starts). With TurboFan off
// for the loop, it took 12–17 ms of CPU in a fresh process instead of 20–30.
//
// V8 reads its `--turbofan` flag each time it decides whether to optimize a function, so turning
// it off with `v8.setFlagsFromString` takes effect at once, and turning it on again restores V8's
// own tiering (the flag is the process's: a worker running meanwhile does not optimize for those
// milliseconds either). Not `--max-opt`: setting it below TurboFan's tier turns `--turbofan` off by
// implication, and setting it back does not turn it on again — the rest of the hunt would run
// unoptimized, and V8 would reject the next start's code cache, whose flags would differ. The
// flag is set back before `f` returns or throws, so a code cache written at exit carries the
// flags of the next start (tested in test/no-turbofan.test.ts). Not done when the command line
// or NODE_OPTIONS sets any V8 flag about optimizing (turning TurboFan on again would override
// it), nor on a V8 that may not know the flag (only 11 to 13: Node 20 to 24), where an unknown
// flag would print an error.
import v8 from 'node:v8';

let usable: boolean | undefined;

function canToggle(): boolean {
  if (usable !== undefined) return usable;
  const major = Number(process.versions.v8.split('.')[0]);
  const given = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  return (usable = major >= 11 && major <= 13 && !/opt|turbofan|maglev|sparkplug|jitless/.test(given));
}

/** `f()`, with V8 optimizing no function with TurboFan while it runs (see the top). */
export function withoutTurbofan<T>(f: () => T): T {
  if (!canToggle()) return f();
  v8.setFlagsFromString('--no-turbofan');
  try {
    return f();
  } finally {
    v8.setFlagsFromString('--turbofan');
  }
}
