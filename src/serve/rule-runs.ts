// The shape of a rule's run history and gaps as the rules API returns them. Type-only, so the
// browser bundle (ui/) imports it too: the UI and the server cannot drift apart on it.

/** One execution of a rule over one window, as stored and as `GET /api/rules/:id` lists it. */
export interface RunRecord {
  run_time: string;
  window: { start: string; end: string };
  kind: 'scheduled' | 'catch-up' | 'manual';
  status: 'succeeded' | 'failed';
  error: string | null;
  duration_ms: number;
  events: number;
  alerts: number;
  executed_at: string;
}

/** A window a rule did not run over (downtime), and whether a catch-up run has covered it since. */
export interface RuleGap {
  start: string;
  end: string;
  status: string;
  detected_at: string;
}
