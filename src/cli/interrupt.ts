// Ctrl-C and kill for the commands that stop cleanly (hunt, convert): the first SIGINT or SIGTERM
// aborts the returned signal, so the command ends at its next batch, writes what is done and its
// summary; a second signal ends the process at once. The exit status follows the shell's
// convention: 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).

/** The signal an interruption came from (the abort reason), SIGINT when unknown. */
export function interruptName(signal: AbortSignal | undefined): 'SIGINT' | 'SIGTERM' {
  return signal?.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
}

/** 130 after SIGINT, 143 after SIGTERM. */
export function interruptExitCode(signal: AbortSignal | undefined): number {
  return interruptName(signal) === 'SIGTERM' ? 143 : 130;
}

export interface Interruption {
  /** Aborted (reason: the signal's name) by the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** Removes the handlers (the default behaviour of the signals returns). */
  dispose(): void;
}

/** The handler of the Interruption in use; forwardedSignal passes it the signals a parent forwards. */
let active: ((name: NodeJS.Signals, forwarded: boolean) => void) | undefined;

/**
 * Handles SIGINT and SIGTERM until dispose(): the first aborts `signal`, a second exits at once.
 *
 * In the child a large hunt re-runs itself in (young-rerun.ts), the parent forwards the signals it
 * receives (forwardedSignal) while a Ctrl-C reaches the child directly as well: each press arrives
 * twice, once by each path, and a `kill` of either process by one path only. So the signals
 * received and those forwarded are counted apart, and the presses are the larger count.
 */
export function handleInterrupts(): Interruption {
  const stop = new AbortController();
  const presses = new Presses();
  const onSignal = (name: NodeJS.Signals, fromParent: boolean) => {
    const n = presses.add(fromParent);
    // 0: the other path's copy of a press already counted.
    if (n === 0) return;
    if (n > 1) process.exit(name === 'SIGTERM' ? 143 : 130);
    stop.abort(name);
  };
  const onReceived = (name: NodeJS.Signals) => onSignal(name, false);
  process.on('SIGINT', onReceived);
  process.on('SIGTERM', onReceived);
  active = onSignal;
  return {
    signal: stop.signal,
    dispose() {
      process.off('SIGINT', onReceived);
      process.off('SIGTERM', onReceived);
      if (active === onSignal) active = undefined;
    },
  };
}

/**
 * Interruptions counted from the signals received directly and those a parent forwarded: a press
 * of Ctrl-C arrives by both paths, a `kill` of one process by one path, so the presses are the
 * larger of the two counts.
 */
export class Presses {
  private received = 0;
  private forwarded = 0;

  /** Counts a signal; returns the number of the press it makes, or 0 when it is a press already counted. */
  add(fromParent: boolean): number {
    const before = Math.max(this.received, this.forwarded);
    if (fromParent) this.forwarded++;
    else this.received++;
    const after = Math.max(this.received, this.forwarded);
    return after === before ? 0 : after;
  }
}

/**
 * A signal the parent process received and forwarded (young-rerun.ts): SIGINT and SIGTERM go to
 * the Interruption in use; without one, and for any other signal, the process signals itself, so
 * that the signal does what it would have done had it come directly (its default action: the end
 * of the process).
 */
export function forwardedSignal(name: NodeJS.Signals): void {
  if (active !== undefined && (name === 'SIGINT' || name === 'SIGTERM')) active(name, true);
  else process.kill(process.pid, name);
}

/**
 * Ctrl-C and kill for the commands that print only when every input has been read (query,
 * explain): there is nothing partial to write, so the first SIGINT or SIGTERM prints one line
 * (`note`) and exits at once with 130 or 143 — through process.exit, so that the temporary files
 * of a sort or a spooled stdin are removed (util/temp-dirs.ts), which Node's default handling of
 * the signals would not do. Returns the function that removes the handlers.
 */
export function exitOnInterrupt(note: (name: 'SIGINT' | 'SIGTERM') => string, err: (s: string) => void = (s) => process.stderr.write(s)): () => void {
  const on = (name: 'SIGINT' | 'SIGTERM') => () => {
    err(note(name) + '\n');
    process.exit(name === 'SIGTERM' ? 143 : 130);
  };
  const onInt = on('SIGINT');
  const onTerm = on('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };
}
