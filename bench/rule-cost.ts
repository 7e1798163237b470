// What each rule's conditions cost on the events the router offers it: every active Elastic EQL
// rule, one build (a built checkout). The events of a file are routed once as a worker routes them,
// which records the rules each event is offered, in the order route() offers them. Then, event by
// event, each of those rules' own work (its `filters`, exceptions and term filters with their
// answers, as RuleRouter.offer runs them) is timed alone, in that order, right after the event is
// walked (markPlain: its objects are in the caches and it is marked plain, as when a worker's
// route() runs the conditions; the shared leaves' memos fill in the same order as there). Prints the
// rules whose conditions cost the most time per event of the file overall, with their offers,
// keeps and cost per offer:
//
//   node --import tsx bench/rule-cost.ts <built checkout> FILE [events] [top] [passes]
//
// Each offer is timed by the clock (process.hrtime) less the cost of timing nothing; a time over
// 50 µs (the process descheduled: the machine is shared) is dropped and counted. Medians of the
// passes after the first.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { checkoutRulesAndEvents } from './checkout.js';

const [dir, file, eventsArg, topArg, passesArg] = process.argv.slice(2);
if (!dir || !file) {
  console.error('usage: node --import tsx bench/rule-cost.ts <built checkout> FILE [events] [top] [passes] (needs ../shared)');
  process.exit(2);
}
const limit = Number(eventsArg ?? 50000);
const top = Number(topArg ?? 30);
const passes = Math.max(2, Number(passesArg ?? 4));
const { load, router, prepared } = await checkoutRulesAndEvents(dir, '/dev/null');
const { inferIndex } = await load('events/sources.js');
const { parseInstant } = await load('events/time.js');
const { markPlain } = await load('engine/fields.js');
type Ev = { source: Record<string, unknown> };
type Prepared = {
  rule: { name: string };
  filter: ((s: unknown) => boolean) | null;
  excepted: ((s: unknown) => boolean) | null;
  query: { writeAnswers(ev: Ev, out: unknown[]): boolean };
};
const rules = prepared as Prepared[];
const r = new router.RuleRouter(prepared);
const dispatched = r.counters.dispatched as number[];

// The first pass records the offers: each rule's first step on an event (its filter if it has
// one, else its answers) notes the rule, in the order route() reaches them.
let noting: number[] = [];
const originals = rules.map((p) => ({ filter: p.filter, write: p.query.writeAnswers }));
rules.forEach((p, i) => {
  const o = originals[i]!;
  if (o.filter !== null) {
    p.filter = (s) => (noting.push(i), o.filter!(s));
    p.query.writeAnswers = o.write;
  } else p.query.writeAnswers = (ev, out) => (noting.push(i), o.write(ev, out));
});
const all: Ev[] = [];
const offersOf: number[][] = [];
const kept = new Array<number>(rules.length).fill(0);
const answers: unknown[] = [];
const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
for await (const line of lines) {
  if (line === '') continue;
  const source = JSON.parse(line) as Record<string, unknown>;
  const t = parseInstant(source['@timestamp']);
  const ev = { source, index: inferIndex(source), id: `e:${all.length}`, time: { ms: t.ms as number, ns: t.ns as number }, timeField: '@timestamp' };
  all.push(ev);
  noting = [];
  answers.length = 0;
  for (const i of r.route(ev, answers) as number[]) kept[i]!++;
  offersOf.push(noting);
  if (all.length >= limit) break;
}
lines.close();
rules.forEach((p, i) => {
  p.filter = originals[i]!.filter;
  p.query.writeAnswers = originals[i]!.write;
});
const events = all.length;
const offered = offersOf.reduce((a, l) => a + l.length, 0);
const dispatchedAll = dispatched.reduce((a, b) => a + b, 0);
if (offered !== dispatchedAll) throw new Error(`recorded ${offered} offers, the router counted ${dispatchedAll}`);

const out: unknown[] = [];
function work(p: Prepared, ev: Ev): void {
  if (p.filter && !p.filter(ev.source)) return;
  if (p.excepted && p.excepted(ev.source)) return;
  out.length = 0;
  p.query.writeAnswers(ev, out);
}
const OUTLIER = 50_000;
const offers = new Array<number>(rules.length).fill(0);
for (const l of offersOf) for (const i of l) offers[i]!++;
const costs: number[][] = rules.map(() => []);
let dropped = 0;
let empty = 0;
for (let p = 0; p < passes; p++) {
  const used = new Float64Array(rules.length);
  // The cost of timing nothing, per measurement, in this pass.
  let nothing = 0;
  for (let k = 0; k < 20000; k++) {
    const t0 = process.hrtime.bigint();
    nothing += Number(process.hrtime.bigint() - t0);
  }
  empty = nothing / 20000;
  for (let e = 0; e < events; e++) {
    const ev = all[e]!;
    markPlain(ev.source);
    const l = offersOf[e]!;
    for (let k = 0; k < l.length; k++) {
      const i = l[k]!;
      const t0 = process.hrtime.bigint();
      work(rules[i]!, ev);
      const t = Number(process.hrtime.bigint() - t0);
      if (t > OUTLIER) {
        dropped++;
        used[i]! += (used[i]! / Math.max(1, e)) ; // about its mean so far
      } else used[i]! += t - empty;
    }
  }
  used.forEach((u, i) => costs[i]!.push(u));
}
const cost = costs.map((c) => {
  const t = c.slice(1).sort((a, b) => a - b);
  return Math.max(0, t[t.length >> 1]!);
});
const total = cost.reduce((a, b) => a + b, 0);
console.log(
  `${events} events: ${(offered / events).toFixed(3)} offered per event; the rules' conditions ${(total / events / 1000).toFixed(2)} µs per event in all` +
    ` (median of ${passes - 1} passes after the first; timing nothing ${empty.toFixed(0)} ns, subtracted; ${dropped} times over ${OUTLIER / 1000} µs dropped)`,
);
const pct = (n: number) => ((100 * n) / events).toFixed(2) + '%';
console.log('ns/event\tshare\tns/offer\toffered\tkept\trule');
const order = cost.map((_, i) => i).sort((a, b) => cost[b]! - cost[a]!);
let shown = 0;
for (const i of order.slice(0, top)) {
  shown += cost[i]!;
  console.log(`${(cost[i]! / events).toFixed(1)}\t${((100 * cost[i]!) / total).toFixed(1)}%\t${(cost[i]! / offers[i]!).toFixed(0)}\t${pct(offers[i]!)}\t${pct(kept[i]!)}\t${rules[i]!.rule.name}`);
}
console.log(`top ${top}: ${((100 * shown) / total).toFixed(1)}% of the conditions' cost`);
