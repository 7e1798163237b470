// Would a line filter with needles chosen per index (data stream) pay, where the whole rule set's
// has none (a rule without needles turns it off)? For each line of FILE: the rules whose index
// patterns match its index; when each of them has needles and the line holds none of theirs (and
// passes the line filter's other checks, events/prefilter.ts), the line needs no parse. Also per
// (index, event.category): only the rules whose query can take one of the line's categories.
// Prints per index: lines, lines kept by no rule (route() with answers, as a worker routes), lines
// that could be skipped per index and per index and category, the index's rules, how many of
// those have no needle, and the needles of their union; then per (index, categories) the same.
//
//   node --import tsx bench/index-needles.ts <built checkout> FILE
//
// Measured (2026-12-07, every active Elastic rule, /tmp/agent100k.ndjson = the first 100,000
// events of bench/data/agent-1000000-h500-s7.ndjson): 31.5% of the lines are kept by no rule, but
// 0.0% could be skipped, per index or per index and category. The lines kept by nobody are nearly
// all Sysmon's (30,401 of 31,520), whose data stream 339 rules search, one of them without a
// needle; every other data stream's lines are each kept by some rule, and the needles of the
// rules of an index (89 to 592 rules, 100 to 421 needles) include words every line of it holds
// ("process", "windows", "start", "file", "library", the dataset's own name).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { checkoutRulesAndEvents } from './checkout.js';

const [dir, file] = process.argv.slice(2);
if (!dir || !file) {
  console.error('usage: node --import tsx bench/index-needles.ts <built checkout> FILE');
  process.exit(2);
}
const { load, router, prepared } = await checkoutRulesAndEvents(dir, '/dev/null');
const { inferIndex } = await load('events/sources.js');
const { parseInstant } = await load('events/time.js');
const { LineFilter } = await load('events/prefilter.js');
type P = { rule: { name: string; event_category_override?: string }; matchIndex(i: string): boolean; query: { needles: string[] | null; categories: ReadonlySet<string> | null } };
const rules = prepared as P[];
const r = new router.RuleRouter(prepared);
const answers: unknown[] = [];

interface Key { rules: number; noNeedle: number; needles: string[] | null; filter: unknown }
const byIndex = new Map<string, Key>();
const byIndexCat = new Map<string, Key>();
function keyOf(rs: P[]): Key {
  const set = new Set<string>();
  let no = 0;
  for (const p of rs) {
    if (!p.query.needles) no++;
    else for (const n of p.query.needles) set.add(n);
  }
  const needles = no > 0 ? null : [...set];
  return { rules: rs.length, noNeedle: no, needles, filter: needles ? new LineFilter(needles, '@timestamp') : null };
}
function skippable(k: Key, line: string): boolean {
  if (!k.filter) return false;
  const f = k.filter as { lines: number; skip(t: string, s: number, e: number): unknown };
  f.lines = 0;
  return f.skip(line, 0, line.length) !== null;
}
interface Stat { lines: number; unrouted: number; skipIndex: number; skipCat: number; rules: number; noNeedle: number; needles: number }
const stats = new Map<string, Stat>();
let unsafe = 0;
const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
for await (const line of lines) {
  if (line === '') continue;
  const source = JSON.parse(line) as Record<string, unknown>;
  const t = parseInstant(source['@timestamp']);
  const index = inferIndex(source) as string;
  const ev = { source, index, id: 'x', time: { ms: t.ms as number, ns: t.ns as number }, timeField: '@timestamp' };
  answers.length = 0;
  const out = r.route(ev, answers) as number[];
  let k = byIndex.get(index);
  if (!k) byIndex.set(index, (k = keyOf(rules.filter((p) => p.matchIndex(index)))));
  const ec = (source.event as Record<string, unknown> | undefined)?.category;
  const cats = (Array.isArray(ec) ? ec : ec === undefined ? [] : [ec]).map(String);
  const ck = index + '|' + cats.join(',');
  let kc = byIndexCat.get(ck);
  if (!kc) {
    kc = keyOf(rules.filter((p) => p.matchIndex(index) && (p.rule.event_category_override !== undefined || p.query.categories === null || cats.some((c) => p.query.categories!.has(c)))));
    byIndexCat.set(ck, kc);
  }
  let s = stats.get(index);
  if (!s) stats.set(index, (s = { lines: 0, unrouted: 0, skipIndex: 0, skipCat: 0, rules: k.rules, noNeedle: k.noNeedle, needles: k.needles?.length ?? -1 }));
  s.lines++;
  if (out.length === 0) s.unrouted++;
  const si = skippable(k, line);
  const sc = skippable(kc, line);
  if (si) s.skipIndex++;
  if (sc) s.skipCat++;
  if ((si || sc) && out.length > 0) unsafe++;
}
const tot = { lines: 0, unrouted: 0, skipIndex: 0, skipCat: 0 };
const rows = [...stats.entries()].sort((a, b) => b[1].lines - a[1].lines);
console.log('lines\tkept by none\tskip/index\tskip/index+cat\trules\tno-needle\tneedles\tindex');
for (const [i, s] of rows) {
  tot.lines += s.lines; tot.unrouted += s.unrouted; tot.skipIndex += s.skipIndex; tot.skipCat += s.skipCat;
  console.log(`${s.lines}\t${s.unrouted}\t${s.skipIndex}\t${s.skipCat}\t${s.rules}\t${s.noNeedle}\t${s.needles}\t${i}`);
}
const pc = (n: number) => ((100 * n) / tot.lines).toFixed(1) + '%';
console.log(`total ${tot.lines}: kept by no rule ${pc(tot.unrouted)}, skippable per index ${pc(tot.skipIndex)}, per index+category ${pc(tot.skipCat)}; skippable but routed (must be 0): ${unsafe}`);
const catRows = [...byIndexCat.entries()].map(([k, v]) => `${k}\trules ${v.rules}\tno-needle ${v.noNeedle}\tneedles ${v.needles?.length ?? '-'}`);
console.log(catRows.join('\n'));
