// `EQLITE_TRACE_STARTUP=1`: one line on stderr when the first event is read — the CPU time
// (user + system) and wall time since the process started — so that start-up can be measured as
// issue 13 defines it (process start to first event read) without a profiler.
// `EQLITE_TRACE_STARTUP=phases` also prints a line at each named step of start-up (markStartup),
// to see where the time goes. `EQLITE_TRACE_STARTUP=exit` prints the line and ends the process
// there (exit code 0), so that a profiler or instruction counter (`node --cpu-prof`, callgrind)
// sees start-up alone.
let marked = false;
const phases = process.env.EQLITE_TRACE_STARTUP === 'phases';

/** Prints the CPU and wall time since the process started at a named step, when phases are traced. */
export function markStartup(step: string): void {
  if (!phases || marked) return;
  const cpu = process.cpuUsage();
  process.stderr.write(`startup: ${step} ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU, ${performance.now().toFixed(0)} ms wall\n`);
}

/** Called when an input yields its first events; prints once per process when tracing is on. */
export function markFirstEventRead(): void {
  if (marked) return;
  marked = true;
  if (!process.env.EQLITE_TRACE_STARTUP) return;
  const cpu = process.cpuUsage();
  process.stderr.write(`startup: first event read ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU, ${performance.now().toFixed(0)} ms wall after the process started\n`);
  if (process.env.EQLITE_TRACE_STARTUP === 'exit') process.exit(0);
}
