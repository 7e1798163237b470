// Temporary directories (external sort runs, the stdin spool, EVTX copies of FIFOs) are removed
// by their owners when a read ends or is abandoned; a process that exits before that — a Ctrl-C
// that ends `query` or `explain`, a second Ctrl-C of `hunt`, process.exit after an error — would
// leave them in $TMPDIR, hundreds of MiB each for a large sort. Each live directory is recorded
// here and removed on the process's 'exit' event. (A SIGKILL still leaves them: nothing runs.)
import { rmSync } from 'node:fs';

const live = new Set<string>();
let hooked = false;

function removeLive(): void {
  for (const dir of live) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Exiting: nothing more can be done about a directory that will not go.
    }
  }
  live.clear();
}

/** Records a temporary directory just created, to be removed at exit if its owner has not. */
export function trackTempDir(dir: string): string {
  live.add(dir);
  if (!hooked) {
    hooked = true;
    process.once('exit', removeLive);
  }
  return dir;
}

/** The owner removed it (or is about to): nothing to do at exit. */
export function untrackTempDir(dir: string): void {
  live.delete(dir);
}

/** The directories not yet removed, for tests. */
export function liveTempDirs(): string[] {
  return [...live];
}
