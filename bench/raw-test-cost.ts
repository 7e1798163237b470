// What deciding from the raw line costs per line, against JSON.parse of the same line: the price
// of a raw-line skip test (issue 13.1). Lines: those of FILE whose text holds MARK (default: the
// Sysmon data stream's, most of which no rule keeps). Needles: group KEY's union-test needles as
// bench/anchor-skip.ts writes them (NEEDLES_OUT). Each test runs over every line, the tests in
// turn, ROUNDS times; printed: the median and range of the rounds (the first left out) in CPU µs
// per line (process CPU time, as other processes share the cores). The needles are also searched
// in a "miss" form (a control character before each, found nowhere): the cost of a line that
// holds none of them, the only line a skip is for. REGEX=1 adds one regular expression of the
// needles (caseless alternatives, as events/prefilter.ts builds it): milliseconds per line with
// hundreds of needles, so only with LINES of a few hundred.
//
//   [LINES=2000] [ROUNDS=9] [REGEX=1] node --import tsx bench/raw-test-cost.ts FILE NEEDLES.json [KEY] [MARK]
//
// Measured (2026-12-07, load average 13-14 on the 2 cores: absolute figures are inflated, compare
// the rows; three runs, medians of their medians and the runs' ranges): 3,000 Sysmon lines of
// /tmp/agent100k.ndjson (3,058 characters on average) and the 761 needles of its process+library
// group: JSON.parse 11.3 µs (10.9–15.8); latin1 view of the bytes 1.0; a JS scanner (the first two
// characters in a bit table, then the needles keyed by them) 3.6 to its first hit and 10.8
// (10.2–14.7) over a line holding no needle; one indexOf finding nothing 0.21; counting the
// quotes with indexOf 3.2; a JS loop that only reads every character 5.3 (5.1–7.9). The regular
// expression (REGEX=1, 200 lines, 613 needles, 3 rounds): 3,200–5,900 µs to its first hit,
// 25,000–30,000 over a line holding none. So any test that looks at each character in JS costs
// about half a parse on every line, parsed or not; only indexOf (about 0.2 µs per needle and
// line) is cheap, which allows a handful of needles, not hundreds.
import { readFileSync } from 'node:fs';

const [file, needlesFile, key = 'logs-windows.sysmon_operational-default|process,library', mark = '"dataset":"windows.sysmon_operational"'] = process.argv.slice(2);
if (!file || !needlesFile) {
  console.error('usage: node --import tsx bench/raw-test-cost.ts FILE NEEDLES.json [KEY] [MARK]');
  process.exit(2);
}
const needles = (JSON.parse(readFileSync(needlesFile, 'utf8')) as Record<string, string[] | null>)[key];
if (!needles) throw new Error(`no needles for ${key}`);
const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.includes(mark)).slice(0, Number(process.env.LINES ?? 2000));
const bytes = lines.map((l) => Buffer.from(l, 'utf8'));
const latin1 = bytes.map((b) => b.toString('latin1'));
const avg = lines.reduce((s, l) => s + l.length, 0) / lines.length;
console.log(`${lines.length} lines, ${avg.toFixed(0)} chars on average, ${needles.length} needles`);

const caseless = (n: string) => [...n].map((c) => (/[a-z]/.test(c) ? `[${c}${c.toUpperCase()}]` : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
const reHit = new RegExp(needles.map(caseless).join('|'));
const reMiss = new RegExp(needles.map((n) => '\\x01' + caseless(n)).join('|'));

/** A scanner: ASCII-folded first two characters in a bit table, then the needles keyed by them. */
function scanner(ns: string[]): (s: string) => boolean {
  const fold = new Uint8Array(128);
  for (let c = 0; c < 128; c++) fold[c] = c >= 65 && c <= 90 ? c + 32 : c;
  const two = new Uint8Array(1 << 14);
  const byTwo = new Map<number, string[]>();
  for (const n of ns) {
    const k = ((n.charCodeAt(0) & 127) << 7) | (n.charCodeAt(1) & 127);
    two[k] = 1;
    const l = byTwo.get(k);
    if (l) l.push(n);
    else byTwo.set(k, [n]);
  }
  return (s: string) => {
    const end = s.length - 1;
    let c1 = fold[s.charCodeAt(0) & 127]!;
    for (let i = 0; i < end; i++) {
      const c0 = c1;
      c1 = fold[s.charCodeAt(i + 1) & 127]!;
      const k = (c0 << 7) | c1;
      if (two[k] === 0) continue;
      for (const n of byTwo.get(k)!) {
        let j = 2;
        while (j < n.length && fold[s.charCodeAt(i + j) & 127] === n.charCodeAt(j)) j++;
        if (j === n.length) return true;
      }
    }
    return false;
  };
}
const scanHit = scanner(needles);
const scanMiss = scanner(needles.map((n) => '\x01' + n));

let sink = 0;
/** A test: its name and one pass over every line. */
type Test = [string, () => void];
const over = (texts: readonly string[], f: (s: string) => number) => () => {
  for (const s of texts) sink += f(s);
};
const tests: Test[] = [
  ['JSON.parse', over(lines, (l) => ((JSON.parse(l) as object) ? 1 : 0))],
  ['Buffer→latin1 view', () => {
    for (const b of bytes) sink += b.toString('latin1').length;
  }],
  // (Hundreds of caseless alternatives: milliseconds per line; only with REGEX=1, on few lines.)
  ...(process.env.REGEX === '1'
    ? ([
        ['regex, first hit', over(latin1, (l) => (reHit.test(l) ? 1 : 0))],
        ['regex, no hit (whole line)', over(latin1, (l) => (reMiss.test(l) ? 1 : 0))],
      ] as Test[])
    : []),
  ['scanner, first hit', over(latin1, (l) => (scanHit(l) ? 1 : 0))],
  ['scanner, no hit (whole line)', over(latin1, (l) => (scanMiss(l) ? 1 : 0))],
  ['one indexOf, no hit', over(latin1, (l) => (l.indexOf('zq\x01') >= 0 ? 1 : 0))],
  ['count quotes (indexOf)', over(latin1, (l) => {
    let n = 0;
    for (let i = l.indexOf('"'); i >= 0; i = l.indexOf('"', i + 1)) n++;
    return n;
  })],
  ['read every char (charCodeAt)', over(latin1, (l) => {
    let h = 0;
    for (let i = 0; i < l.length; i++) h = (h + l.charCodeAt(i)) | 0;
    return h;
  })],
];
const ROUNDS = Number(process.env.ROUNDS ?? 9);
const times = tests.map(() => [] as number[]);
for (let r = 0; r < ROUNDS; r++) {
  tests.forEach(([, f], i) => {
    // CPU time, not wall: other processes share the cores.
    const c0 = process.cpuUsage();
    f();
    const c = process.cpuUsage(c0);
    times[i]!.push((c.user + c.system) / lines.length);
  });
}
for (let i = 0; i < tests.length; i++) {
  const t = times[i]!.slice(1).sort((a, b) => a - b);
  console.log(`${tests[i]![0].padEnd(30)} median ${t[t.length >> 1]!.toFixed(2)} µs/line  (range ${t[0]!.toFixed(2)}–${t[t.length - 1]!.toFixed(2)})`);
}
console.log(`(sink ${sink % 7})`);
