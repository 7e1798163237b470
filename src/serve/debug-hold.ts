// EQLITE_DEBUG_HOLD=1: real time logs every read, release and repair of its hold, and ingest each
// request's span — what it takes to see why events were late (README: `eqlite serve` under
// Performance). Read once at start: ingest ends a request, and real time releases, many times a second.
export const DEBUG_HOLD = process.env.EQLITE_DEBUG_HOLD === '1';
