// The rules' work per event, for instruction counts: every active Elastic EQL rule, one build
// (a built checkout), events parsed once; two warm-up passes, then one measured pass — routing
// (offers, the rules' filters, exceptions and term filters: `route`), the detection engine's pushes
// of the routed events (windows, sequence state, alerts: `push`), or both; `answers`: the pushes
// fed the rules' answers as an input worker sends them (EventDoc.answers: the main thread's share
// of a hunt on workers, which runs no term filter). The measured pass runs
// inside a JSON.parse reviver, so that callgrind can count it alone:
//
//   valgrind --tool=callgrind --toggle-collect='v8::internal::JsonParseInternalizer::Internalize*' \
//     node --single-threaded --import tsx bench/rule-pass.ts <built checkout> route|push|both|answers FILE
//
// (`--single-threaded` keeps the collector on the measured thread.) Without valgrind it prints the
// measured pass's CPU time, which on a shared machine says less than the instruction count.
import { checkoutRulesAndEvents, measuredPass, NOW as now } from './checkout.js';

const [dir, mode, file] = process.argv.slice(2);
if (!dir || !file || !['route', 'push', 'both', 'answers'].includes(mode ?? '')) {
  console.error('usage: node --import tsx bench/rule-pass.ts <built checkout> route|push|both|answers FILE (needs ../shared)');
  process.exit(2);
}
const { load, router, prepared, events } = await checkoutRulesAndEvents(dir, file);
const { DetectionEngine } = await load('detect/engine.js');
const { readAnswers } = await load('engine/answers.js');
const first = new router.RuleRouter(prepared);
const flat: unknown[] = [];
const routes = events.map((e) => {
  flat.length = 0;
  const r = [...(first.route(e, mode === 'answers' ? flat : undefined) as number[])];
  if (mode === 'answers' && r.length > 0) {
    // Through a structured clone, as the answers cross from a worker.
    const answers = new Array<unknown>(r.length);
    readAnswers(structuredClone(flat), r.length, answers);
    Object.assign(e, { routed: r, answers });
  }
  return r;
});
let alerts = 0;
let routed = 0;
const pass = (): void => {
  if (mode === 'route' || mode === 'both') {
    const r = new router.RuleRouter(prepared);
    for (const e of events) routed += (r.route(e) as number[]).length;
  }
  if (mode !== 'route') {
    // (answers: the events carry their answers, and the runs take them instead of their filters.)
    const engine = new DetectionEngine({ rules: prepared, mode: 'schedule', now, timestampField: '@timestamp', onWarning: () => {}, sink: (g: unknown[]) => (alerts += g.length) });
    for (let i = 0; i < events.length; i++) engine.push(events[i], events[i]!.time.ms, routes[i]);
    engine.finish();
  }
};
const ms = measuredPass(pass, () => {
  alerts = 0;
  routed = 0;
});
console.log(`${events.length} events, ${mode}: ${ms.toFixed(0)} ms of CPU in the measured pass; ${routed} routes, ${alerts} alerts`);
