// The streaming generator: background activities and planted scenarios are merged through a small
// time-ordered queue and formatted as they leave it, so output is in @timestamp order and memory
// stays bounded by the number of pending (future) events, not by the file size.
import { createWriteStream, renameSync, statSync, unlinkSync } from 'node:fs';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { Formatter, indexFor } from './formats.js';
import { SHAPES, type Shape, type SimEvent } from './model.js';
import { Rng } from './prng.js';
import { Planter, planScenarios, type PlantedScenario, type ScenarioPlan } from './scenarios.js';
import { World, shapeOfHost } from './world.js';
import { Heap } from '../util/heap.js';
import { drained } from '../util/drained.js';

export interface GenerateOptions {
  /** Total number of events (background plus planted). Default 10000. */
  events?: number;
  /** Number of hosts; host i uses shape i mod 3 (Defend, Winlogbeat, Agent). Default 20. */
  hosts?: number;
  /** PRNG seed; the same seed and options give byte-identical output. Default 1. */
  seed?: number | string;
  /** Start of the time window (ISO 8601 or epoch ms). Default 2025-03-10T08:00:00Z. */
  start?: string | number;
  /** Background activities per host per second (each is 1 to ~12 events). Default 0.5. */
  activityRate?: number;
  /** Planted true positives of the seed rule per shape. Default 3. */
  positivesPerShape?: number;
  /** Plant the near-miss scenarios. Default true. */
  nearMisses?: boolean;
  /**
   * 'full' (default): documents as the producers write them. 'lean': the same shapes without
   * hashes, version resources, signatures, leftover event_data and related.* (small fixtures).
   */
  detail?: 'full' | 'lean';
  /**
   * Producers to simulate, rotated over the hosts (default all three). `['defend', 'agent']` gives
   * Elastic Agent data only: every document carries its data stream (`data_stream.*`).
   */
  shapes?: readonly Shape[];
}

export interface PlantedSummary {
  positives: Record<Shape, number>;
  nearMisses: Record<Shape, number>;
  scenarios: PlantedScenario[];
}

export interface GenerateResult {
  events: number;
  /** Bytes written to the file (compressed size for .gz). */
  bytes: number;
  /** Size of the NDJSON text before compression. */
  ndjsonBytes: number;
  planted: PlantedSummary;
}

const DEFAULT_START = Date.UTC(2025, 2, 10, 8, 0, 0);

interface Pending {
  t: number;
  seq: number;
  ev: SimEvent;
}

/** (t, seq) order: seq keeps insertion order for equal times, so output is deterministic. */
function less(x: Pending, y: Pending): boolean {
  return x.t < y.t || (x.t === y.t && x.seq < y.seq);
}

function parseStart(start: string | number | undefined): number {
  if (start === undefined) return DEFAULT_START;
  const ms = typeof start === 'number' ? start : Date.parse(start);
  if (!Number.isFinite(ms)) throw new RangeError(`invalid start time: ${String(start)}`);
  return ms;
}

function positiveInt(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

/**
 * One generation run. `lines()` yields NDJSON lines (without newline); `planted` is complete once
 * the iteration has finished.
 */
export class Generation {
  readonly events: number;
  readonly hostCount: number;
  readonly plans: ScenarioPlan[];
  readonly planted: PlantedSummary = {
    positives: { defend: 0, winlogbeat: 0, agent: 0 },
    nearMisses: { defend: 0, winlogbeat: 0, agent: 0 },
    scenarios: [],
  };
  private readonly seed: number | string;
  private readonly startUs: number;
  private readonly activityRate: number;
  private readonly lean: boolean;
  private readonly shapes: readonly Shape[];

  constructor(opts: GenerateOptions = {}) {
    this.events = positiveInt('events', opts.events ?? 10_000, 0);
    this.hostCount = positiveInt('hosts', opts.hosts ?? 20, 1);
    this.seed = opts.seed ?? 1;
    this.startUs = parseStart(opts.start) * 1000;
    this.activityRate = opts.activityRate ?? 0.5;
    if (opts.detail !== undefined && opts.detail !== 'full' && opts.detail !== 'lean') throw new RangeError(`detail must be 'full' or 'lean', got ${String(opts.detail)}`);
    this.lean = opts.detail === 'lean';
    if (!(this.activityRate > 0)) throw new RangeError('activityRate must be > 0');
    const positives = positiveInt('positivesPerShape', opts.positivesPerShape ?? 3, 0);
    const wanted = opts.shapes ?? SHAPES;
    if (wanted.length === 0 || wanted.some((s) => !SHAPES.includes(s))) throw new RangeError(`shapes must be a non-empty list of ${SHAPES.join(', ')}`);
    // Canonical order, duplicates dropped: the same set of shapes always gives the same hosts.
    this.shapes = SHAPES.filter((s) => wanted.includes(s));
    const shapes = SHAPES.filter((s) => Array.from({ length: this.hostCount }, (_, i) => shapeOfHost(i, this.shapes)).includes(s));
    this.plans = planScenarios(shapes, positives, opts.nearMisses ?? true, this.hostCount);
    const planted = this.plans.reduce((n, p) => n + p.events, 0);
    if (planted > this.events) {
      throw new RangeError(`${this.events} events cannot hold the ${planted} planted events; ask for more events or plant fewer scenarios`);
    }
  }

  *lines(): Generator<string> {
    const rng = new Rng(`eqlite-generate:${String(this.seed)}`);
    const queue = new Heap<Pending>(less);
    let seq = 0;
    const sink = (ev: SimEvent): void => queue.push({ t: ev.t, seq: seq++, ev });
    const world = new World(rng.fork('world'), this.hostCount, this.startUs, sink, this.shapes);
    const planter = new Planter(world, rng.fork('planter'), sink);
    const formatter = new Formatter(rng.fork('format'), this.lean);
    const actRng = rng.fork('clock');

    const total = this.events;
    const plans = this.plans;
    let pendingPlanted = plans.reduce((n, p) => n + p.events, 0);
    const background = total - pendingPlanted;
    // Scenario k is planted once k+1 parts of the background (of K+1 equal parts) have been written.
    const positions = plans.map((_, k) => Math.floor(((k + 1) * background) / (plans.length + 1)));
    let planIdx = 0;
    let emitted = 0;
    let bgEmitted = 0;
    let bgBlocked = background === 0;
    let lastT = this.startUs;
    const meanGap = 1_000_000 / (this.hostCount * this.activityRate);
    let nextAct = this.startUs + Math.round(actRng.exp(meanGap));

    while (emitted < total) {
      while (planIdx < plans.length && (bgBlocked || bgEmitted >= positions[planIdx]!)) {
        const plan = plans[planIdx++]!;
        const rec = planter.plant(plan, lastT + 250_000);
        this.planted.scenarios.push(rec);
        if (rec.positive) this.planted.positives[rec.shape]++;
        else this.planted.nearMisses[rec.shape]++;
      }
      const top = queue.peek();
      if (!bgBlocked && (top === undefined || top.t > nextAct)) {
        world.activity(nextAct);
        nextAct += Math.max(1, Math.round(actRng.exp(meanGap)));
        continue;
      }
      if (top === undefined) break;
      queue.pop();
      const ev = top.ev;
      if (ev.label) {
        pendingPlanted--;
      } else {
        // Background stops where the rest of the budget is needed for planted events.
        if (bgBlocked || emitted + pendingPlanted >= total) {
          bgBlocked = true;
          continue;
        }
        bgEmitted++;
      }
      emitted++;
      lastT = ev.t;
      yield formatter.format(ev);
    }
  }
}

/** Index of a generated document, derived the way a reader routes it (data_stream, else Winlogbeat's version). */
export function routeIndex(doc: Record<string, unknown>): string {
  const ds = doc['data_stream'] as { type?: string; dataset?: string; namespace?: string } | undefined;
  if (ds && ds.type && ds.dataset && ds.namespace) return `${ds.type}-${ds.dataset}-${ds.namespace}`;
  const agent = doc['agent'] as { type?: string; version?: string } | undefined;
  if (agent?.type === 'winlogbeat' && agent.version) return `winlogbeat-${agent.version}`;
  return '';
}

export { indexFor };

/** Yields the generated events as objects (parsed from the exact lines `writeGenerated` writes). */
export function* generateEvents(opts: GenerateOptions = {}): Generator<Record<string, unknown>> {
  for (const line of new Generation(opts).lines()) yield JSON.parse(line) as Record<string, unknown>;
}

export interface WriteOptions extends GenerateOptions {
  /** Output path; a name ending in .gz is gzip-compressed. */
  out: string;
}

const CHUNK = 4 * 1024 * 1024;

/** Streams the generated NDJSON to `opts.out` in large chunks, honouring back-pressure. */
/** Where to write `out`: FILE.partial beside a regular file (renamed at the end), else `out` itself (a FIFO, /dev/stdout). */
function partialPath(out: string): string | null {
  try {
    return statSync(out).isFile() ? `${out}.partial` : null;
  } catch {
    return `${out}.partial`; // does not exist yet
  }
}

/**
 * Writes the generated events to `opts.out`. A regular file is written as FILE.partial and renamed
 * when complete, so an interrupted or failed run never leaves a file that looks whole.
 */
export async function writeGenerated(opts: WriteOptions): Promise<GenerateResult> {
  const gen = new Generation(opts);
  const partial = partialPath(opts.out);
  try {
    const r = await writeTo(gen, opts.out, partial ?? opts.out);
    if (partial) renameSync(partial, opts.out);
    return r;
  } catch (e) {
    if (partial) {
      try {
        unlinkSync(partial);
      } catch {
        /* never created */
      }
    }
    throw e;
  }
}

async function writeTo(gen: Generation, out: string, path: string): Promise<GenerateResult> {
  const file = createWriteStream(path);
  const gzip = out.endsWith('.gz') ? createGzip({ level: 4 }) : null;
  const sink = gzip ?? file;
  if (gzip) gzip.pipe(file);
  let failure: Error | null = null;
  const onError = (e: Error): void => {
    failure ??= e;
  };
  file.on('error', onError);
  gzip?.on('error', onError);

  let ndjsonBytes = 0;
  let events = 0;
  // Lines are encoded straight into a large buffer: encoding each (small) line is much cheaper
  // than concatenating megabytes of strings and encoding the resulting rope in one go.
  let buf = Buffer.allocUnsafe(CHUNK);
  let off = 0;
  const flush = async (): Promise<void> => {
    if (off === 0) return;
    const chunk = buf.subarray(0, off);
    ndjsonBytes += off;
    // The stream keeps `chunk` until it is written, so the next lines go to a fresh buffer.
    buf = Buffer.allocUnsafe(CHUNK);
    off = 0;
    if (!sink.write(chunk) && !failure) await drained(sink);
    if (failure) throw failure;
  };
  for (const line of gen.lines()) {
    // UTF-8 needs at most 3 bytes per UTF-16 code unit; a line longer than a chunk gets its own buffer.
    const need = line.length * 3 + 1;
    if (off + need > buf.length) {
      await flush();
      if (need > buf.length) buf = Buffer.allocUnsafe(need);
    }
    off += buf.write(line, off, 'utf8');
    buf[off++] = 0x0a;
    events++;
  }
  await flush();
  sink.end();
  await once(file, 'close');
  if (failure) throw failure;
  return { events, bytes: file.bytesWritten, ndjsonBytes, planted: gen.planted };
}
