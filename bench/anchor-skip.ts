// Ceiling of a raw-line skip (issue 13.1) built from the router's anchors rather than the queries'
// needles (bench/index-needles.ts measured those: 0.0%). For each line of FILE, the slots it could
// be offered: the terms of the rules whose index patterns match its index, of one of its
// categories or of any category (a rule with event_category_override: all its terms). A slot can
// be offered a line only if, for each of its requirements (engine/anchors.ts Anchor.requirement),
// the line holds a needle of that requirement's anchors (engine/needles.ts needleOf of each value
// and literal piece; a requirement with an anchor that gives none — numbers, presence, pieces
// under 3 characters or outside ASCII — is no test), and one of its gate's values (host.os.type).
// A line no slot can be offered could be skipped unparsed. Three tests, from cheapest to closest
// to the router:
//   union     per (index, categories), one requirement per slot (the one whose needles the first
//             SAMPLE lines hold least often), the line holds none of their union (design (a));
//   values    every requirement and gate of every slot, needles anywhere in the line;
//   keyed     as values, and each anchor also needs every segment of its field written as a key
//             segment in the line (`"parent"`, `.parent"`, …), its needles then being tested
//             per anchor (an anchor without needles passes on its key alone).
// Also printed: lines kept by no rule (route() with answers, as a worker routes); lines dispatched
// to no rule (the router's own anchors, gates and index: what a raw test that read each anchored
// field's value could reach — the rest of the lines kept by none need the rules' whole
// conditions); and lines a test would skip though route() keeps them (must be 0).
//
//   [NEEDLES_OUT=FILE] node --import tsx bench/anchor-skip.ts <built checkout> FILE [SAMPLE]
//
// Measured (2026-12-07, every active Elastic rule, /tmp/agent100k.ndjson = the first 100,000
// events of bench/data/agent-1000000-h500-s7.ndjson): kept by no rule 31.5%, dispatched to no
// rule 22.1% (Sysmon process+library 16,990, Sysmon file 1,796, Sysmon process 1,317, Sysmon
// registry 917, Endpoint security 781, System security 338); skippable: union 0.0%, values 0.0%,
// keyed 0.0%. (A test closer still, with each value needle counted only in a value whose key
// path ends in its field's last two segments, computed from the parsed document in an earlier
// version of this script, reached 0.8%: the 781 Endpoint security lines.) Every Sysmon
// process+library line (29.5% of the lines; 23,777 kept by no rule) holds, in every test, a
// needle that keeps some slot open: `windows` (a windows gate is the only requirement of some slots), values
// that other fields of the line hold (`chrome.exe` as process.name, for process.parent.name
// anchors), and anchors no needle can test (event.code "10", process.name "0.exe", the RTLO
// rule's U+202E, `program files` whose exclusions decide). Telling these lines apart needs each
// anchored field's own value and the anchors' exact semantics and checks: the router itself, run
// on the raw text — and a JS pass that merely reads every character of a line costs about half a
// JSON.parse of it (bench/raw-test-cost.ts), on every line, skipped or not.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { checkoutRulesAndEvents } from './checkout.js';

const [dir, file, sampleArg] = process.argv.slice(2);
if (!dir || !file) {
  console.error('usage: node --import tsx bench/anchor-skip.ts <built checkout> FILE [SAMPLE]');
  process.exit(2);
}
const SAMPLE = Number(sampleArg ?? 3000);
const { load, router, prepared } = await checkoutRulesAndEvents(dir, '/dev/null');
const { inferIndex } = await load('events/sources.js');
const { needleOf } = await load('engine/needles.js');

interface A {
  field: string;
  values: string[];
  prefixes?: string[];
  suffixes?: string[];
  infixes?: string[];
  numeric?: boolean;
  boolean?: boolean;
  range?: unknown;
  exists?: boolean;
  chars?: number[];
  requirement?: number;
}
interface T {
  category: string | null;
  anchors: A[] | null;
  gate?: A[];
}
interface P {
  rule: { name: string; event_category_override?: string };
  matchIndex(i: string): boolean;
  query: { terms: T[] };
}
const rules = prepared as P[];
const r = new router.RuleRouter(prepared);
const answers: unknown[] = [];

/** The needles of anchors (lower-cased, JSON-escaped), or null when one of them gives none. */
function needlesOf(anchors: readonly A[]): string[] | null {
  const out = new Set<string>();
  for (const a of anchors) {
    if (a.numeric || a.boolean || a.range !== undefined || a.exists || (a.chars !== undefined && a.chars.length > 0)) return null;
    const pieces = [...a.values, ...(a.prefixes ?? []), ...(a.suffixes ?? []), ...(a.infixes ?? [])];
    if (pieces.length === 0) return null;
    for (const p of pieces) {
      const n = needleOf(p, false) as string | null;
      if (n === null) return null;
      out.add(n);
    }
  }
  return [...out];
}

/** A slot's anchors by requirement. */
function requirements(t: T): A[][] {
  const byReq = new Map<number, A[]>();
  for (const a of t.anchors ?? []) {
    const k = a.requirement ?? 0;
    let l = byReq.get(k);
    if (!l) byReq.set(k, (l = []));
    l.push(a);
  }
  return [...byReq.values()];
}

/** Per slot: the needle sets of its requirements and gate that give needles. */
const testsMemo = new Map<T, string[][]>();
function needleTests(t: T): string[][] {
  let out = testsMemo.get(t);
  if (out) return out;
  out = [];
  for (const req of requirements(t)) {
    const n = needlesOf(req);
    if (n) out.push(n);
  }
  if (t.gate) {
    const n = needlesOf(t.gate);
    if (n) out.push(n);
  }
  testsMemo.set(t, out);
  return out;
}

const sample: string[] = [];
const freqMemo = new Map<string, number>();
function freq(n: string): number {
  let f = freqMemo.get(n);
  if (f === undefined) {
    f = 0;
    for (const l of sample) if (l.includes(n)) f++;
    freqMemo.set(n, f);
  }
  return f;
}

/** Union test of a group of slots: the needles of each slot's rarest test; null when a slot has none. */
function unionOf(slots: readonly T[]): string[] | null {
  const all = new Set<string>();
  for (const t of slots) {
    let best: string[] | null = null;
    let cost = Infinity;
    for (const n of needleTests(t)) {
      const c = n.reduce((s, x) => s + freq(x), 0);
      if (c < cost) ((best = n), (cost = c));
    }
    if (!best) return null;
    for (const x of best) all.add(x);
  }
  return [...all];
}

const segmentIn = (low: string, seg: string) => low.includes(`"${seg}"`) || low.includes(`"${seg}.`) || low.includes(`.${seg}"`) || low.includes(`.${seg}.`);

/** Whether the slot passes the values test (and, keyed, the keyed test) on the lower-cased line. */
function open(t: T, low: string, keyed: boolean): boolean {
  for (const n of needleTests(t)) if (!n.some((x) => low.includes(x))) return false;
  if (!keyed) return true;
  for (const req of requirements(t)) {
    const any = req.some((a) => {
      if (!a.field.split('.').every((s) => segmentIn(low, s.toLowerCase()))) return false;
      const n = needlesOf([a]);
      return n === null || n.some((x) => low.includes(x));
    });
    if (!any) return false;
  }
  return true;
}

function slotsFor(index: string, cats: readonly string[]): T[] {
  const out: T[] = [];
  for (const p of rules) {
    if (!p.matchIndex(index)) continue;
    for (const t of p.query.terms) {
      if (t.category === null || p.rule.event_category_override !== undefined || cats.includes(t.category)) out.push(t);
    }
  }
  return out;
}

interface Group {
  slots: T[];
  union: string[] | null;
  lines: number;
  keptByNone: number;
  notDispatched: number;
  union0: number;
  values0: number;
  keyed0: number;
}
const groups = new Map<string, Group>();
let unsafe = 0;
const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
for await (const line of lines) {
  if (line === '') continue;
  const low = line.toLowerCase();
  if (sample.length < SAMPLE) sample.push(low);
  const source = JSON.parse(line) as Record<string, unknown>;
  const index = inferIndex(source) as string;
  const ev = { source, index, id: 'x', time: { ms: 0, ns: 0 }, timeField: '@timestamp' };
  answers.length = 0;
  const before = r.counters.unrouted as number;
  const kept = (r.route(ev, answers) as number[]).length > 0;
  const dispatched = r.counters.unrouted === before;
  const ec = (source.event as Record<string, unknown> | undefined)?.category;
  const cats = (Array.isArray(ec) ? ec : ec === undefined ? [] : [ec]).map(String);
  const key = `${index}|${cats.join(',')}`;
  let g = groups.get(key);
  if (!g) {
    const slots = slotsFor(index, cats);
    groups.set(key, (g = { slots, union: null, lines: 0, keptByNone: 0, notDispatched: 0, union0: 0, values0: 0, keyed0: 0 }));
  }
  // The union is chosen once the sample is full (its needles' frequencies are then known).
  if (g.union === null && sample.length >= SAMPLE) g.union = unionOf(g.slots) ?? [];
  g.lines++;
  if (!kept) g.keptByNone++;
  if (!dispatched) g.notDispatched++;
  const u = g.union !== null && g.union.length > 0 && !g.union.some((n) => low.includes(n));
  const v = !g.slots.some((t) => open(t, low, false));
  const k = v || !g.slots.some((t) => open(t, low, true));
  if (u) g.union0++;
  if (v) g.values0++;
  if (k) g.keyed0++;
  if ((u || v || k) && kept) unsafe++;
}
const tot = { lines: 0, keptByNone: 0, notDispatched: 0, union0: 0, values0: 0, keyed0: 0 };
console.log('lines\tkept-by-none\tnot-dispatched\tskip:union\tskip:values\tskip:keyed\tslots\tunion-needles\tindex|categories');
for (const [key, g] of [...groups].sort((a, b) => b[1].lines - a[1].lines)) {
  for (const f of ['lines', 'keptByNone', 'notDispatched', 'union0', 'values0', 'keyed0'] as const) tot[f] += g[f];
  console.log(`${g.lines}\t${g.keptByNone}\t${g.notDispatched}\t${g.union0}\t${g.values0}\t${g.keyed0}\t${g.slots.length}\t${g.union?.length || '-'}\t${key}`);
}
const pc = (n: number) => `${((100 * n) / tot.lines).toFixed(1)}%`;
console.log(
  `total ${tot.lines}: kept by no rule ${pc(tot.keptByNone)}, dispatched to no rule ${pc(tot.notDispatched)}; skippable: union ${pc(tot.union0)}, values ${pc(tot.values0)}, keyed ${pc(tot.keyed0)}; skippable but kept (must be 0): ${unsafe}`,
);
// NEEDLES_OUT=FILE: the union test's needles per group, as JSON (bench/raw-test-cost.ts reads them).
if (process.env.NEEDLES_OUT) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(process.env.NEEDLES_OUT, JSON.stringify(Object.fromEntries([...groups].map(([k, g]) => [k, g.union]))));
}
