// Keeps the heap of a long hunt near a budget, without a hard limit.
//
// V8 collects the old generation when it reaches a limit set after the last full collection: what
// survived it times a growing factor, which V8 raises towards 4 while its collector looks cheap
// beside the program. With every Elastic rule the main thread keeps 160–260 MB live (the rules'
// windows and sequence state), so its heap grew to 600–900 MB before each full collection and a
// hunt of one large file peaked at 1.1–1.5 GB of RSS. So after each of the main thread's full
// collections the factor is set (V8's `--heap-growing-percent`) to the budget divided by what
// survived: V8's own choice while that is 4 or more, never below MIN_FACTOR. The flag is the
// process's, so the input worker (30–40 MB live) follows the same factor: a few more collections
// of a small heap, and its heap stays smaller too.
//
// V8 has set its next limit before it tells us of a collection, so the factor chosen from one
// collection applies from the next: when the live heap grows in between, the heap passes the
// budget by as much. A rare full collection made here bounds that: when the old generation holds
// SAFETY_FACTOR times the budget (and has grown by MIN_FACTOR since the last one made here).
//
// Tried and dropped (tenth session): collecting at the budget ourselves, every time. Over the
// bench's 1,000,000 Agent events (main thread 512 MiB, worker 96 MiB) peak RSS went 1,464 → 889 MB
// but CPU 94 → 110 s: a collection V8 is asked for is one atomic pause (about 0.8 s for the main
// thread's 200 MB), not its incremental marking, and the worker's were 30–60 ms each. A hard limit
// (`--max-old-space-size`, a worker's resourceLimits) would make a heap beyond it a crash.
import { createRequire } from 'node:module';
import type { PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';

/** The main thread's heap budget by default: with one worker and Node's own memory, RSS stays under 1 GB. */
export const DEFAULT_HEAP_BUDGET = 448 * 1024 * 1024;

/**
 * The default budget of a hunt that reads its input on `workers` worker threads: DEFAULT_HEAP_BUDGET
 * with at most one, 128 MiB less with more. The growing factor is the process's, so every worker's
 * heap follows the budget too, and a second worker has its own compiled rules and young
 * generation. Every rule over a 10 GB file with two workers (thirteenth session): 1,025,580 kB of
 * peak RSS at 448 MiB (the main thread then still reading parts; load 10); 931,460 and 975,676 kB at
 * 384 MiB (load 14–17, and beside `.ci/run`); 900,320 kB at 320 MiB (beside `.ci/run`), with no more
 * CPU (230 s against 270 s in the run before it). Over the bench's 1,000,000 Agent events 988–1,044
 * MB at 448 MiB, 879 MB at 384 MiB.
 */
export function defaultHeapBudget(workers: number): number {
  return workers >= 2 ? DEFAULT_HEAP_BUDGET - 128 * 1024 * 1024 : DEFAULT_HEAP_BUDGET;
}

/** V8's largest growing factor; from it on V8 chooses. */
const V8_MAX_FACTOR = 4;
/** The smallest factor set: a live heap beyond the budget is not collected over and over. */
export const MIN_FACTOR = 1.5;
/** The old generation at this many budgets is collected here (see the top of this file). */
export const SAFETY_FACTOR = 1.25;
/** How often the old generation is looked at for that (ms). */
export const CHECK_MS = 200;

/**
 * The `--heap-growing-percent` for a live old generation of `live` bytes and a budget of `budget`:
 * 0 (V8's own factor) while the budget allows V8's largest, else the percent that makes the next
 * limit the budget, at least (MIN_FACTOR - 1) × 100.
 */
export function growingPercent(live: number, budget: number): number {
  if (!(live > 0) || budget >= live * V8_MAX_FACTOR) return 0;
  const factor = Math.max(MIN_FACTOR, budget / live);
  return Math.floor((factor - 1) * 100);
}

/**
 * Whether an old generation holding `used` bytes is collected here: it reached SAFETY_FACTOR
 * budgets, and MIN_FACTOR times what survived the last collection made here (`live`, 0 before any).
 */
export function overBudget(used: number, live: number, budget: number): boolean {
  return budget > 0 && used >= budget * SAFETY_FACTOR && used >= live * MIN_FACTOR;
}

/** Bytes of the old generation in use (every space but the young generation's). */
export function oldGenerationUsed(): number {
  let used = 0;
  for (const s of v8.getHeapSpaceStatistics()) {
    if (s.space_name !== 'new_space' && s.space_name !== 'new_large_object_space') used += s.space_used_size;
  }
  return used;
}

let perfHooksModule: typeof import('node:perf_hooks') | undefined;
/** node:perf_hooks, loaded when first needed. */
function perfHooks(): typeof import('node:perf_hooks') {
  return (perfHooksModule ??= createRequire(import.meta.url)('node:perf_hooks') as typeof import('node:perf_hooks'));
}

let collectGarbage: (() => void) | null | undefined;

/**
 * V8's gc() for this thread, or null when it cannot be had. V8 gives it to contexts made while its
 * `--expose-gc` flag is on, which is on for that moment only: the flags are the process's, and a
 * code cache written at exit must carry the flags the next start has.
 */
function gcFunction(): (() => void) | null {
  if (collectGarbage !== undefined) return collectGarbage;
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return (collectGarbage = exposed as () => void);
  try {
    v8.setFlagsFromString('--expose-gc');
    collectGarbage = vm.runInNewContext('gc') as () => void;
  } catch {
    collectGarbage = null;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
  return collectGarbage;
}

export interface HeapBudget {
  /** The percent set last (0: V8's own factor). */
  readonly percent: number;
  /** Full collections seen, and those made here. */
  readonly collections: number;
  readonly forced: number;
  /** Looks at the old generation now and collects it if it is far over the budget (the timer calls it). */
  check(): boolean;
  /** Stops, and gives V8 back its own factor. */
  stop(): void;
}

/**
 * Keeps this thread's heap near `budget` bytes (see the top of this file) until stop(). Only one
 * at a time per process makes sense (the factor is the process's). A budget of 0 or less does
 * nothing. `used` replaces the old generation's size (tests).
 */
export function keepHeapWithin(budget: number, opts: { intervalMs?: number; used?: () => number } = {}): HeapBudget {
  const used = opts.used ?? oldGenerationUsed;
  let percent = 0;
  let collections = 0;
  let forced = 0;
  let live = 0;
  let stopped = budget <= 0;
  const set = (p: number) => {
    if (p === percent) return;
    percent = p;
    v8.setFlagsFromString(`--heap-growing-percent=${p}`);
  };
  // The collections are observed from the first check on (CHECK_MS after the start, or a direct
  // call), not from the start: node:perf_hooks (ten modules) and its observer of every collection
  // were about a millisecond of every hunt's start-up, and while the live heap is under a quarter
  // of the budget no collection changes the factor (growingPercent is 0: V8's own).
  let observer: PerformanceObserver | null = null;
  const observe = (): void => {
    if (observer !== null || stopped) return;
    const hooks = perfHooks();
    observer = new hooks.PerformanceObserver((list) => {
      if (stopped) return;
      for (const e of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
        if (e.detail?.kind !== hooks.constants.NODE_PERFORMANCE_GC_MAJOR) continue;
        collections++;
        // Read now, a moment after the collection: what was promoted since is counted too.
        set(growingPercent(used(), budget));
        return;
      }
    });
    observer.observe({ entryTypes: ['gc'] });
  };
  // V8's gc() is had when first needed, not now: getting it makes a V8 context (about a
  // millisecond of every hunt's start-up), and most hunts never reach the budget.
  const check = (): boolean => {
    observe();
    if (stopped || !overBudget(used(), live, budget)) return false;
    const gc = gcFunction();
    if (gc === null) return false;
    gc();
    forced++;
    live = used();
    return true;
  };
  let timer: NodeJS.Timeout | null = null;
  if (!stopped) {
    timer = setInterval(check, opts.intervalMs ?? CHECK_MS);
    timer.unref();
  }
  return {
    get percent() {
      return percent;
    },
    get collections() {
      return collections;
    },
    get forced() {
      return forced;
    },
    check,
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
      observer?.disconnect();
      stopped = true;
      set(0);
    },
  };
}
