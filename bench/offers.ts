// Which rules the router offers events to and which of those offers it keeps: every active Elastic
// EQL rule, one build (a built checkout), the events of a file routed once as a worker routes them
// (route() writing the rules' answers). Prints the offers and keeps per event, then the rules
// offered most often for nothing (offered minus kept), with their rates and anchors:
//
//   node --import tsx bench/offers.ts <built checkout> FILE [top]
//
// "Offered" is the router's `dispatched` counter (index, category and anchors matched); "kept" is
// route()'s answer (the rule's filters, exceptions and term filters passed too). Streams the file,
// so 100,000 Agent events need no more memory than one.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { checkoutRulesAndEvents } from './checkout.js';

const [dir, file, topArg] = process.argv.slice(2);
if (!dir || !file) {
  console.error('usage: node --import tsx bench/offers.ts <built checkout> FILE [top] (needs ../shared)');
  process.exit(2);
}
const top = Number(topArg ?? 25);
// No events from the set-up: the file is streamed below.
const { load, router, prepared } = await checkoutRulesAndEvents(dir, '/dev/null');
const { inferIndex } = await load('events/sources.js');
const { parseInstant } = await load('events/time.js');
const r = new router.RuleRouter(prepared);
const kept = new Array<number>(prepared.length).fill(0);
const answers: unknown[] = [];
let events = 0;
let routes = 0;
const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
for await (const line of lines) {
  if (line === '') continue;
  const source = JSON.parse(line) as Record<string, unknown>;
  const t = parseInstant(source['@timestamp']);
  const ev = { source, index: inferIndex(source), id: `e:${events}`, time: { ms: t.ms as number, ns: t.ns as number }, timeField: '@timestamp' };
  events++;
  answers.length = 0;
  const out = r.route(ev, answers) as number[];
  routes += out.length;
  for (const i of out) kept[i]!++;
}
const dispatched = r.counters.dispatched as number[];
const offered = dispatched.reduce((a, b) => a + b, 0);
const pct = (n: number) => ((100 * n) / events).toFixed(2) + '%';
console.log(`${events} events: ${(offered / events).toFixed(3)} rules offered per event, ${(routes / events).toFixed(3)} kept`);
const order = dispatched.map((d, i) => i).sort((a, b) => dispatched[b]! - kept[b]! - (dispatched[a]! - kept[a]!));
console.log('offered\tkept\twasted/event\trule');
for (const i of order.slice(0, top)) {
  const p = prepared[i] as { rule: { name: string; rule_id?: string }; query: { anchors?: unknown } };
  console.log(`${pct(dispatched[i]!)}\t${pct(kept[i]!)}\t${((dispatched[i]! - kept[i]!) / events).toFixed(4)}\t${p.rule.name}`);
}
