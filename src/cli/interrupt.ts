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

/** Handles SIGINT and SIGTERM until dispose(): the first aborts `signal`, a second exits at once. */
export function handleInterrupts(): Interruption {
  const stop = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(name === 'SIGTERM' ? 143 : 130);
    stop.abort(name);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: stop.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
