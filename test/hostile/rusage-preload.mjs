// Loaded with `node --import` into the CLI processes the hostile-input tests start: on exit it
// writes the process's peak resident memory and CPU time to $EQLITE_RUSAGE_FILE, so the tests can
// assert a memory bound without platform tools.
import { writeFileSync } from 'node:fs';

const file = process.env.EQLITE_RUSAGE_FILE;
if (file) {
  process.on('exit', () => {
    const r = process.resourceUsage();
    writeFileSync(file, JSON.stringify({ maxRssKb: r.maxRSS, userMs: r.userCPUTime / 1000, systemMs: r.systemCPUTime / 1000 }));
  });
}
