// The hand-off of routed events from an input worker to the main thread, alone: a worker's batch
// building (BatchBuilder.add and take), the postMessage that serialises the batch, and on the
// receiving side its deserialisation and FileChannel's unpacking into events (plus reading what a
// hunt reads of each: time, answers, override values), for this checkout's build and, optionally,
// a reference build, in one process over the same events, routed once with every active Elastic
// EQL rule. Both ends of an in-process MessageChannel run on this thread, so the CPU time of both
// sides is measured (receiveMessageOnPort deserialises synchronously).
//
//   npm run build && npx tsx bench/handoff.ts [--ref <built checkout>] [--events N] [--passes N] FILE
//
// FILE: NDJSON events (e.g. /tmp/agent100k.ndjson); they are read as a part of the file (as the
// workers read, so whole events travel as places in it). A reference without parallel/batch.js
// (before the eighteenth session's packed batches) is driven through its own ForwardedBuilder by
// RefBatch below, a copy of that build's worker-side BatchBuilder.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { abArgs, corpus, root } from './ab-args.js';

const { file, ref, limit, passes } = abArgs('handoff.ts', 7);

type Mod = Record<string, any>;
interface Routed {
  ev: Mod;
  ms: number;
  ns: number;
  routes: number[];
  answers: unknown[];
  fv: unknown[];
}

const load = (await import(path.join(root, 'dist', 'rules', 'load.js'))) as Mod;
const router = (await import(path.join(root, 'dist', 'detect', 'router.js'))) as Mod;
const { timestampOverrides } = (await import(path.join(root, 'dist', 'parallel', 'protocol.js'))) as Mod;
const { fieldAccessor } = (await import(path.join(root, 'dist', 'engine', 'fields.js'))) as Mod;
const rules = load.loadRules([corpus]).rules.filter((r: Mod) => !r.unsupported);
const prepare = { timestampField: '@timestamp', exceptionLists: [], now: Date.parse('2025-06-01T00:00:00Z'), replay: false };
const prepared = rules.map((r: Mod) => router.prepareRule(r, prepare)).filter((p: Mod) => !('skip' in p));
const rr = new router.RuleRouter(prepared);
const overrides = (timestampOverrides(rules) as string[]).map((f) => fieldAccessor(f) as (s: unknown) => unknown);

const { readEvents } = (await import(path.join(root, 'dist', 'events', 'sources.js'))) as Mod;
const events: Routed[] = [];
const reader = readEvents(file, { keepText: true, range: { start: 0, end: statSync(file).size, line: 1, continued: true } });
outer: for await (const batch of reader.batches()) {
  for (const ev of batch) {
    const answers: unknown[] = [];
    const routes = [...(rr.route(ev, answers) as number[])];
    const t = ev.time ?? { ms: Date.parse(ev.source['@timestamp']), ns: 0 };
    events.push({ ev, ms: t.ms, ns: t.ns, routes, answers, fv: overrides.map((g) => g(ev.source)) });
    if (events.length >= limit) break outer;
  }
}
const prefix = (await import(path.join(root, 'dist', 'events', 'sources.js'))).fileIdPrefix(file) as string;

interface Side {
  name: string;
  /** Adds events [from, …) until the batch is full; returns the batch and where it stopped. */
  batch(from: number): { m: Mod; transfer: ArrayBuffer[]; next: number };
  unpack(m: Mod): Mod[];
  worker: number;
  main: number;
  times: number[];
}

const cfgFor = () => ({ route: { kind: 'hunt', rules, prepare }, timestampField: '@timestamp', tiebreakerField: null, batchEvents: 4096, batchForwarded: 256, credits: 4, cloneDepth: 256 });

async function side(dir: string, name: string): Promise<Side> {
  const pool = (await import(path.join(dir, 'dist', 'parallel', 'pool.js'))) as Mod;
  const { port1 } = new MessageChannel();
  const channel = new pool.FileChannel(0, { path: file, kind: 'json' }, port1, cfgFor(), undefined, () => undefined, null);
  const unpack = (m: Mod) => channel.toEvents(m) as Mod[];
  const fields = overrides.length;
  let batch: Side['batch'];
  if (existsSync(path.join(dir, 'dist', 'parallel', 'batch.js'))) {
    const { BatchBuilder } = (await import(path.join(dir, 'dist', 'parallel', 'batch.js'))) as Mod;
    const b = new BatchBuilder({ events: 4096, forwarded: 256, evtx: false, idPrefix: prefix, tiebreakerField: null, answers: true, fields });
    batch = (from) => {
      let i = from;
      for (; i < events.length && !b.full; i++) {
        const e = events[i]!;
        if (e.routes.length === 0) b.add(e.ev, e.ms, e.ns, e.routes, undefined);
        else b.add(e.ev, e.ms, e.ns, e.routes, e.ev.text, e.answers, e.fv);
      }
      const { m, transfer } = b.take(0, 0, i, { bytes: 0, read: i, skipped: 0 });
      return { m, transfer, next: i };
    };
  } else {
    const { ForwardedBuilder } = (await import(path.join(dir, 'dist', 'parallel', 'forwarded.js'))) as Mod;
    batch = (from) => {
      const b = new RefBatch(4096, prefix, new ForwardedBuilder(256, true, fields));
      let i = from;
      for (; i < events.length && b.n < 4096 && !b.fwd.full; i++) {
        const e = events[i]!;
        b.add(e.ev, e.ms, e.ns, e.routes, e.routes.length === 0 ? undefined : e.ev.text, e.answers, e.fv);
      }
      const { m, transfer } = b.send(0, 0, i, { bytes: 0, read: i, skipped: 0 });
      return { m, transfer, next: i };
    };
  }
  return { name, batch, unpack, worker: 0, main: 0, times: [] };
}

/** The reference's worker-side batch (worker.ts at e7dcb9f), NDJSON without a tiebreaker. */
class RefBatch {
  n = 0;
  ms: Float64Array;
  ns: Float64Array;
  pos: Float64Array;
  ids: string[] = [];
  idAt: Int32Array;
  derived: Uint8Array;
  constructor(
    private readonly cap: number,
    private readonly idPrefix: string,
    readonly fwd: Mod,
  ) {
    this.idAt = new Int32Array(cap);
    this.ms = new Float64Array(cap);
    this.ns = new Float64Array(cap);
    this.pos = new Float64Array(cap);
    this.derived = new Uint8Array(cap);
  }
  add(ev: Mod, ms: number, ns: number, routes: number[], json: string | undefined, answers: unknown[], fv: unknown[]): void {
    const i = this.n++;
    this.ms[i] = ms;
    this.ns[i] = ns;
    this.derived[i] = ev.derivedId ? 1 : 0;
    const line = ev.position?.line;
    this.pos[i] = line ?? Number.NaN;
    const id = ev.id;
    if (!(ev.derivedId === true && line !== undefined && id === `${this.idPrefix}:${line}`)) {
      this.idAt[this.ids.length] = i;
      this.ids.push(id);
    }
    if (routes.length > 0) {
      let place = null;
      if (json !== undefined && json === ev.text && ev.textAt !== undefined) place = { at: ev.textAt, bytes: ev.textBytes, chars: json.length };
      this.fwd.add(i, ev.index, ev.derivedId === true, ev.derivedHostIp === true, routes, answers, fv.slice(), place, json, ev.source);
    }
  }
  send(id: number, b: number, sent: number, counts: object): { m: Mod; transfer: ArrayBuffer[] } {
    const n = this.n;
    const cut = (a: Float64Array) => (n === this.cap ? a : a.slice(0, n));
    const ms = cut(this.ms);
    const ns = cut(this.ns);
    const pos = cut(this.pos);
    const derived = n === this.cap ? this.derived : this.derived.slice(0, n);
    const idAt = this.idAt.slice(0, this.ids.length);
    const transfer = [ms.buffer, ns.buffer, pos.buffer, derived.buffer, idAt.buffer] as ArrayBuffer[];
    const fwd = this.fwd.take(transfer);
    const m = { t: 'batch', id, b, sent, n, ms, ns, ids: this.ids, idAt, idPrefix: this.idPrefix, derived, pos, chunk: null, offset: null, tb: null, fwd, skips: [], ...counts };
    return { m, transfer };
  }
}

const sides = [await side(root, 'this build')];
if (ref) sides.push(await side(path.resolve(ref), 'reference'));

const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
// What a hunt's main thread reads of every event it is given: its time, and of a whole event its
// answers and override values (the merge and the rules' runs).
let sink = 0;
function consume(evs: Mod[]): void {
  for (const ev of evs) {
    sink += ev.time.ms;
    const a = ev.answers;
    if (a !== undefined) for (const x of a) sink += x === null ? 0 : x.mask;
    if (ev.fieldValues !== undefined) sink += ev.fieldValues['event.ingested'] === undefined ? 0 : 1;
  }
}

// Each pass goes over the events batch by batch, each batch through every build in turn (which
// goes first alternates), so both meet the same machine load.
const { port1, port2 } = new MessageChannel();
const ratios: { worker: number; main: number; total: number }[] = [];
for (let p = 0; p < passes; p++) {
  for (const s of sides) s.worker = s.main = 0;
  const next = sides.map(() => 0);
  for (let c = 0; next.some((x) => x < events.length); c++) {
    for (let j = 0; j < sides.length; j++) {
      const si = (c + p) % 2 === 0 ? j : sides.length - 1 - j;
      const s = sides[si]!;
      if (next[si]! >= events.length) continue;
      const t0 = cpu();
      const { m, transfer, next: to } = s.batch(next[si]!);
      port1.postMessage(m, transfer);
      const t1 = cpu();
      const got = receiveMessageOnPort(port2)!.message as Mod;
      consume(s.unpack(got));
      const t2 = cpu();
      s.worker += t1 - t0;
      s.main += t2 - t1;
      next[si] = to;
    }
  }
  for (const s of sides) s.times.push((s.worker + s.main) / events.length);
  if (sides.length === 2) {
    const [a, b] = sides;
    ratios.push({ worker: a!.worker / b!.worker, main: a!.main / b!.main, total: (a!.worker + a!.main) / (b!.worker + b!.main) });
  }
  console.log(`pass ${p}: ` + sides.map((s) => `${s.name} worker ${(s.worker / events.length).toFixed(3)} main ${(s.main / events.length).toFixed(3)} µs/event`).join('; '));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const range = (xs: number[]) => `${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}`;
const whole = events.filter((e) => e.routes.length > 0).length;
for (const s of sides) console.log(`${s.name}: ${events.length} events (${whole} whole), µs of CPU per event (worker + main) median ${median(s.times.slice(1)).toFixed(3)}, range ${range(s.times.slice(1))}`);
if (ratios.length > 1) {
  // The first pass warms both builds up (JIT), so it is left out.
  const r = ratios.slice(1);
  for (const k of ['worker', 'main', 'total'] as const) {
    const xs = r.map((x) => x[k]);
    console.log(`this build / reference, ${k}: median ${median(xs).toFixed(3)}, range ${range(xs)}`);
  }
}
console.log(`load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} (${sink > 0 ? 'read' : 'none read'})`);
