// The router's parts, for instruction counts: every active Elastic EQL rule, one build (a built
// checkout), events parsed once; two warm-up passes, then one measured pass of one part over
// every event — the field walk with a visitor that does nothing (`walk`), the walk with the anchor
// marks (`mark`), route() writing the rules' answers as a worker does (`route`) or without them
// (`relevant`). The measured pass runs inside a JSON.parse reviver, so that callgrind counts it
// alone (see bench/rule-pass.ts):
//
//   valgrind --tool=callgrind --toggle-collect='v8::internal::JsonParseInternalizer::Internalize*' \
//     node --single-threaded --import tsx bench/route-parts.ts <built checkout> walk|mark|route|relevant FILE
//
// It reaches into RuleRouter's private members (the walker, markAnchors), so it measures builds
// that have them (main from the seventh session on).
import { checkoutRulesAndEvents, measuredPass } from './checkout.js';

const [dir, mode, file] = process.argv.slice(2);
if (!dir || !file || !['walk', 'mark', 'route', 'relevant'].includes(mode ?? '')) {
  console.error('usage: node --import tsx bench/route-parts.ts <built checkout> walk|mark|route|relevant FILE (needs ../shared)');
  process.exit(2);
}
const { router, prepared, events } = await checkoutRulesAndEvents(dir, file);
const r = new router.RuleRouter(prepared);
const answers: unknown[] = [];
let visits = 0;
let routed = 0;
const noop = (): void => {
  visits++;
};
const pass = (): void => {
  for (const e of events) {
    if (mode === 'walk') r.walker.walk(e.source, noop);
    else if (mode === 'mark') r.markAnchors(e.source, ++r.stamp);
    else if (mode === 'route') {
      answers.length = 0;
      routed += r.route(e, answers).length;
    } else routed += r.route(e).length;
  }
};
const ms = measuredPass(pass, () => {
  visits = 0;
  routed = 0;
});
console.log(`${events.length} events, ${mode}: ${ms.toFixed(0)} ms of CPU in the measured pass; ${visits} values visited, ${routed} routes`);
