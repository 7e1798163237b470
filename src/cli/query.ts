// `eqlite query QUERY FILE...`: runs one EQL query over files, directories or stdin and prints
// what Elasticsearch's EQL search would return: the `_source` of each event for event queries, and
// `{"join_keys", "events": [{_index,_id,_source} | {missing:true}]}` for sequences and samples.
import { Command, InvalidArgumentError } from 'commander';
import { compile, type QueryResult } from '../engine/index.js';
import { applyMapping, mappingCompileOptions, mergeMappings } from '../engine/mapping.js';
import { readMappingOption } from './mapping-option.js';
import { joinKeyClasses, joinKeysJson, type KeyClass } from '../engine/key-json.js';
import { collectFields, EqlError, parse } from '../eql/index.js';
import { lineColumn } from '../eql/errors.js';
import { ecsFieldType, fieldStatus, suggestField } from '../rules/validate.js';
import { emptyShape, openInput, type OpenedInput } from '../events/inputs.js';
import { shapeWarnings, TimelessCounter } from './diagnose.js';
import type { SkippedItem } from '../events/types.js';
import { expandInputs, noInputFilesMessage } from '../events/sources.js';
import { openFiles } from '../parallel/pool.js';
import { hostIpOption, threadsOption, type HostIpMode } from './threads.js';
import { discoverHostAddresses, mentionsHostIp } from '../events/host-discovery.js';
import type { HostAddressBook } from '../events/windows/index.js';
import { readOrdered } from '../events/ordered.js';
import { DEFAULT_SORT_MEMORY } from '../events/external-sort.js';
import { formatBytes, memoryOption } from './memory.js';
import { documentId } from '../events/ids.js';
import type { EventDoc } from '../events/types.js';
import { SkipReporter, UserError } from './errors.js';
import { escapeControl, escapeJsonControls } from '../util/terminal.js';
import { LineStream, OutputError } from './sinks.js';
import { exitOnInterrupt } from './interrupt.js';

export interface QueryCommandOptions {
  timestampField: string;
  tiebreakerField?: string;
  eventCategoryField: string;
  size?: number;
  resultPosition?: 'head' | 'tail';
  fetchSize?: number;
  mapping?: string;
  index?: string;
  reorderWindow?: number;
  memory?: number;
  maxSamplesPerKey?: number;
  threads?: number;
  hostIp?: HostIpMode;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

function positiveFetch(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer (Elasticsearch: fetch size must be greater than 0)');
  return n;
}

/** Elasticsearch's default `size` for an EQL search. */
export const DEFAULT_QUERY_SIZE = 10;

function resultPosition(v: string): 'head' | 'tail' {
  if (v === 'head' || v === 'tail') return v;
  throw new InvalidArgumentError('expected head or tail');
}

function hit(ev: EventDoc): Record<string, unknown> {
  return { _index: ev.index, _id: documentId(ev), _source: ev.source };
}

/**
 * Renders one result as Elasticsearch's EQL response would carry it; `keyClasses` (key-json.ts)
 * print numeric join keys by their Java class.
 */
export function formatResult(r: QueryResult, keyClasses: readonly KeyClass[] = []): string {
  // JSON.stringify leaves DEL, C1 controls and bidi overrides raw: escape them for the terminal.
  if (r.kind === 'event') return escapeJsonControls(JSON.stringify(r.event.source));
  const events = JSON.stringify(r.events.map((e) => (e ? hit(e) : { missing: true })));
  return escapeJsonControls(`{"join_keys":${joinKeysJson(r.joinKeys, keyClasses)},"events":${events}}`);
}

export async function runQueryCommand(query: string, paths: string[], opts: QueryCommandOptions): Promise<number> {
  let compiled;
  let keyClasses: KeyClass[] = [];
  const size = opts.size ?? DEFAULT_QUERY_SIZE;
  const position = opts.resultPosition ?? 'tail';
  // The query searches every index of the file: their mappings merged.
  const mapping = opts.mapping === undefined ? null : mergeMappings(readMappingOption(opts.mapping).indices.map((i) => i.mapping));
  try {
    // Argument types are checked against the mapping, else against ECS (as for Elastic's rules).
    const stmt = parse(query, mapping ? mappingCompileOptions(mapping) : { fieldType: ecsFieldType });
    if (mapping) applyMapping(stmt, mapping);
    keyClasses = joinKeyClasses(stmt, mapping ? mappingCompileOptions(mapping).fieldType : undefined);
    compiled = compile(stmt, {
      timestampField: opts.timestampField,
      tiebreakerField: opts.tiebreakerField ?? null,
      eventCategoryField: opts.eventCategoryField,
      size,
      resultPosition: position,
      fetchSize: opts.fetchSize,
      maxSamplesPerKey: opts.maxSamplesPerKey,
      ...(mapping ? mappingCompileOptions(mapping) : {}),
    });
  } catch (err) {
    if (err instanceof EqlError) {
      process.stderr.write(err.format('query') + '\n');
      return 2;
    }
    throw err;
  }
  // With a mapping, unknown fields were errors already; without one, near-misses of ECS names warn.
  if (!mapping) for (const w of misspelledFields(query)) process.stderr.write(w + '\n');
  const skips = new SkipReporter();
  const timeless = new TimelessCounter();
  const onSkip = (item: SkippedItem) => {
    timeless.add(item);
    skips.add(item);
  };
  const onWarning = (m: string) => process.stderr.write(`warning: ${escapeControl(m)}\n`);
  if (paths.length === 0 && process.stdin.isTTY) {
    throw new UserError('no input: give files or directories, or pipe events into stdin', 2);
  }
  const files = await expandInputs(paths.length ? paths : ['-'], { onWarning });
  if (files.length === 0) throw new UserError(noInputFilesMessage(paths), 2);
  // host.ip of Windows events mapped on read: a first pass over the files when the query uses it.
  let hostAddresses: HostAddressBook | undefined;
  const hostIp = opts.hostIp ?? 'auto';
  if (hostIp === 'on' || (hostIp === 'auto' && mentionsHostIp(query))) {
    hostAddresses = (await discoverHostAddresses(files)).book;
  }
  // `query … | head`: a closed pipe stops the query quietly; other write errors are one line.
  const out = new LineStream(process.stdout);
  // The inputs in order (events/ordered.ts): merged as read, or sorted when out of order beyond
  // the reorder window. Results are printed once the order is known to be right: a first attempt
  // that has to give way to a sort is discarded.
  let run = compiled.createRun();
  let inputs: OpenedInput[] = [];
  const report = await readOrdered(
    {
      readsStdin: files.some((f) => f.path === '-'),
      timestampField: opts.timestampField,
      tiebreakerField: opts.tiebreakerField ?? null,
      reorderWindow: opts.reorderWindow,
      memory: opts.memory,
      onSkip,
      onWarning,
      // Files (not stdin) may be read and filtered on worker threads; see src/parallel.
      open: (attempt, io) => {
        const opened = openFiles(files, {
          threads: opts.threads,
          route: { kind: 'query', query, timestampField: opts.timestampField, tiebreakerField: opts.tiebreakerField ?? null, eventCategoryField: opts.eventCategoryField },
          timestampField: opts.timestampField,
          tiebreakerField: opts.tiebreakerField ?? null,
          index: opts.index,
          hostAddresses,
          onSkip: io.onSkip,
          onWarning: io.onWarning,
          // Lines holding none of the query's needles are read unparsed (stubs carry no tiebreaker;
          // the sorting attempt parses every line).
          local: (f) =>
            openInput(f, {
              index: opts.index,
              hostAddresses,
              onSkip: io.onSkip,
              onWarning: io.onWarning,
              stdin: io.stdin,
              needles: attempt === 'stream' && !opts.tiebreakerField ? compiled.needles : null,
              timestampField: opts.timestampField,
            }),
        });
        inputs = opened.inputs;
        return opened;
      },
    },
    (attempt) => {
      const r = compiled.createRun();
      run = r;
      return {
        push(batch) {
          if (r.done) return;
          // Events from worker threads come with the verdict of the query's filters.
          for (const ev of batch) {
            if (ev.routed === undefined || ev.routed.length > 0) r.push(ev);
            if (r.done) break;
          }
        },
        // A head that is full may stop reading once the order is certain (sorted input); while
        // merging as read, the rest must still be read to know that no earlier event follows.
        get stopped() {
          return out.closed || (attempt === 'sort' && r.done);
        },
      };
    },
  );
  let shown = 0;
  try {
    for (const r of run.finish()) {
      shown++;
      out.write(formatResult(r, keyClasses));
      const full = out.drain();
      if (full) await full;
      if (out.closed) break;
    }
    await out.end();
  } catch (e) {
    if (!(e instanceof OutputError)) throw e;
    process.stderr.write(`error: ${escapeControl(e.message)}\n`);
    return 2;
  }
  if (out.closed) return 0;
  if (report.attempt === 'sort') {
    const x = report.sort!;
    process.stderr.write(
      `eqlite: ${report.reason}; sorted ${x.events} events ${x.runs === 0 ? 'in memory' : `through ${x.runs} temporary file(s), ${formatBytes(x.spilledBytes)} written`} (memory budget ${formatBytes(opts.memory ?? DEFAULT_SORT_MEMORY)})\n`,
    );
  }
  // Results beyond --size are dropped as Elasticsearch drops them; say so, since a search that
  // returned exactly `size` results is otherwise indistinguishable from a complete one.
  if (shown === size && run.found > shown) {
    // A tail (and the sample collector) saw every result; a head stopped one past its limit.
    const counted = position === 'tail' || compiled.type === 'sample';
    const which = counted ? `${compiled.type === 'sample' ? 'first' : 'last'} ${shown} of ${run.found} results` : `first ${shown} result${shown === 1 ? '' : 's'}; more matched`;
    process.stderr.write(`eqlite: showing the ${which} (--size ${size}, --result-position ${position}); raise --size to see more\n`);
  }
  for (const w of run.warnings()) onWarning(w);
  let read = 0;
  for (const i of inputs) read += i.counts().read;
  for (const w of shapeWarnings(inputs.map((i) => ({ file: i.file, shape: i.shape?.() ?? emptyShape() })), timeless, opts.timestampField)) {
    process.stderr.write(`warning: ${w}\n`);
  }
  const summary = skips.summary();
  if (summary) process.stderr.write(`eqlite: read ${read} event(s); ${escapeControl(summary)}\n`);
  return 0;
}

/**
 * Warnings for fields that are neither ECS nor a known data-source field but are one edit away from
 * one ("proces.name" → process.name), as `validate` reports them. Fields of the user's own data
 * that resemble nothing known are not reported.
 */

export function misspelledFields(query: string): string[] {
  let refs;
  try {
    refs = collectFields(parse(query));
  } catch {
    return [];
  }
  const out: string[] = [];
  const seen = new Set<string>();
  for (const ref of refs) {
    if (ref.optional || seen.has(ref.name)) continue;
    seen.add(ref.name);
    if (fieldStatus(ref.name).known) continue;
    const near = suggestField(ref.name);
    if (!near) continue;
    const { line, column } = lineColumn(query, ref.span.start);
    const text = query.split('\n')[line - 1] ?? '';
    const caret = ' '.repeat(column - 1) + '^'.repeat(Math.max(1, Math.min(ref.span.end - ref.span.start, text.length - column + 1)));
    out.push(`query:${line}:${column}: warning: unknown field ${ref.name}: not in ECS nor a known data-source field family\n  ${text}\n  ${caret}\nhint: did you mean ${near}?`);
  }
  return out;
}

export function registerQuery(program: Command): Command {
  return program
    .command('query')
    .description('run one EQL query over any input hunt reads: files or directories of NDJSON, JSON, Elasticsearch hits, EVTX, Windows XML or NXLog JSON (optionally .gz), or stdin (-)')
    .argument('<query>', 'the EQL query')
    .argument('[files...]', 'files or directories (see Inputs in the README); "-" or none reads stdin')
    .option('--timestamp-field <field>', 'field holding the event time', '@timestamp')
    .option('--tiebreaker-field <field>', 'field ordering events with equal timestamps')
    .option('--event-category-field <field>', 'field holding the event category', 'event.category')
    .option('--size <n>', `maximum number of results (events, sequences or samples; default ${DEFAULT_QUERY_SIZE}, as Elasticsearch)`, positiveInt)
    .option('--result-position <pos>', 'which results --size keeps: tail (default, the most recent, as Elasticsearch) or head (the earliest)', resultPosition)
    .option('--fetch-size <n>', "page size of Elasticsearch's sequence executor (default 1000): decides which sequences a tail --size keeps", positiveFetch)
    .option('--max-samples-per-key <n>', 'samples returned per join key (default 1)', positiveInt)
    .option('--mapping <file>', "the index mapping (the JSON of Elasticsearch's GET <index>/_mapping): unknown fields are errors, ?field of an unmapped field is null, field types come from it")
    .option('--index <name>', 'index name for events that carry none')
    .option('--reorder-window <n>', 'events held to repair out-of-order input (default: adaptive, 256 per input growing to 4000 at the first out-of-order event; 0: no reordering)', positiveInt)
    .addOption(memoryOption())
    .addOption(threadsOption('query'))
    .addOption(hostIpOption('when the query uses host.ip'))
    .action(async (query: string, files: string[], opts: QueryCommandOptions) => {
      const off = exitOnInterrupt((name) => `eqlite: interrupted (${name}): no results were printed (they are printed when every input has been read)`);
      try {
        process.exitCode = await runQueryCommand(query, files, opts);
      } finally {
        off();
      }
    });
}
