// `eqlite convert INPUT…`: every input shape `hunt` reads (EVTX, Windows XML, NXLog JSON, raw
// Winlogbeat/Agent documents, ECS NDJSON/JSON/ES hits, gzip, stdin) written as NDJSON: ECS
// documents (default), Elasticsearch bulk pairs carrying the target index, or with --raw the
// records as read (EVTX and XML events as RawWindowsEvent JSON). Inputs are converted one after
// another in file order. Counts go to stderr so stdout stays pure NDJSON for piping.
import { Writable } from 'node:stream';
import { Command, InvalidArgumentError, Option } from 'commander';
import { formatPosition, openInput } from '../events/inputs.js';
import { expandInputs, InputError, noInputFilesMessage, STDIN_NAME, type InputFile } from '../events/sources.js';
import type { HostAddressBook, WindowsProfile } from '../events/windows/index.js';
import { discoverHostAddresses } from '../events/host-discovery.js';
import { hostIpOption, type HostIpMode } from './threads.js';
import { EvtxError } from '../evtx/index.js';
import { LineStream, NdjsonFile, OutputError, type LineSink } from './sinks.js';
import { handleInterrupts, interruptExitCode, interruptName } from './interrupt.js';

export interface ConvertOptions {
  raw?: boolean;
  profile?: WindowsProfile;
  /** Data stream namespace (integration profile). */
  namespace?: string;
  /** Emit Elasticsearch bulk pairs ({"create":{"_index":…}} then the document). */
  bulk?: boolean;
  /** Stop on the first damaged EVTX record (reader strict mode). */
  strict?: boolean;
  /** Index for documents that carry none (`--index`), used in bulk pairs. */
  index?: string;
  /** host.ip of mapped Windows events from a first pass over the files (`auto` and `on`: yes). */
  hostIp?: HostIpMode;
  /** Ctrl-C or kill: conversion stops before the next batch of documents (counts.interrupted). */
  signal?: AbortSignal;
}

export interface ConvertCounts {
  files: number;
  converted: number;
  /** Items the readers skipped (damaged records, malformed lines) plus documents the mapper could not convert. */
  skipped: number;
  /** Files that could not be read at all. */
  failedFiles: number;
  /** The output was closed early (EPIPE, e.g. piped into `head`); conversion stopped there. */
  outputClosed: boolean;
  /** Stopped by ConvertOptions.signal: what was converted until then is written, whole. */
  interrupted: boolean;
  /**
   * The input that was being converted when the conversion was interrupted, when some of its
   * documents were written (it is counted in `files`), else null.
   */
  partial: string | null;
}

/** Skipped lines and records reported one by one; the summary counts them all. */
const MAX_SKIPS_SHOWN = 20;

/** The reader of the output went away (`| head`): conversion stops there. */
class OutputClosed extends Error {}

/**
 * Converts the inputs in order and writes NDJSON to `out` (a stream, or a LineSink such as an
 * NdjsonFile). Problems are reported through `warn`; an input that cannot be read is counted in
 * failedFiles and the next one is converted. A failed output throws OutputError.
 */
export async function convertFiles(
  paths: readonly string[],
  opts: ConvertOptions,
  out: Writable | LineSink,
  warn: (message: string) => void,
): Promise<ConvertCounts> {
  const counts: ConvertCounts = { files: 0, converted: 0, skipped: 0, failedFiles: 0, outputClosed: false, interrupted: false, partial: null };
  // A read that waits (a quiet stdin) must not keep a signal from stopping the conversion.
  const signal = opts.signal;
  const aborted = signal ? new Promise<null>((resolve) => (signal.aborted ? resolve(null) : signal.addEventListener('abort', () => resolve(null), { once: true }))) : null;
  const sink: LineSink = out instanceof Writable ? new LineStream(out, 'the output') : out;
  let unindexed = 0;
  let skipsShown = 0;
  const write = async (line: string) => {
    sink.write(line);
    if (sink.closed) throw new OutputClosed();
    const full = sink.drain();
    if (full) {
      await full;
      if (sink.closed) throw new OutputClosed();
    }
  };
  let hostAddresses: HostAddressBook | undefined;
  if (!opts.raw && opts.hostIp !== 'off') {
    const all: InputFile[] = [];
    for (const p of paths) all.push(...(await expandInputs([p]).catch(() => [])));
    hostAddresses = (await discoverHostAddresses(all, { profile: opts.profile, namespace: opts.namespace })).book;
  }
  try {
    for (const p of paths) {
      let files: InputFile[];
      try {
        files = await expandInputs([p]);
      } catch (e) {
        counts.failedFiles++;
        warn((e as Error).message);
        continue;
      }
      // A directory without input files is an input that could not be read: reported, exit 2.
      if (files.length === 0) {
        counts.failedFiles++;
        warn(noInputFilesMessage([p]));
        continue;
      }
      for (const f of files) {
        const input = openInput(f, {
          profile: opts.profile,
          namespace: opts.namespace,
          evtx: opts.raw ? 'raw' : 'ecs',
          strict: opts.strict,
          hostAddresses,
          onSkip: (s) => {
            // A binary or foreign file skips every line: the first ones are shown, the rest counted.
            if (++skipsShown <= MAX_SKIPS_SHOWN) warn(`${formatPosition(s.position)}: ${s.reason}`);
            else if (skipsShown === MAX_SKIPS_SHOWN + 1) warn('further skipped items are counted, not shown');
          },
          onWarning: warn,
        });
        const before = counts.converted;
        try {
          const batches = input.batches()[Symbol.asyncIterator]();
          for (;;) {
            const next = aborted ? await Promise.race([batches.next(), aborted]) : await batches.next();
            if (next === null || signal?.aborted) {
              counts.interrupted = true;
              // Documents of this input were written: it counts, as an input converted in part.
              if (counts.converted > before) {
                counts.files++;
                counts.partial = f.path === '-' ? STDIN_NAME : f.path;
              }
              void batches.return?.(undefined)?.catch(() => {});
              break;
            }
            if (next.done) break;
            for (const ev of next.value) {
              let line = JSON.stringify(ev.source);
              if (opts.bulk) {
                const index = ev.index || opts.index;
                if (!index) unindexed++;
                line = JSON.stringify({ create: index ? { _index: index } : {} }) + '\n' + line;
              }
              await write(line);
              counts.converted++;
            }
          }
          // (An interrupted input's skipped items are counted below, before the loop stops.)
          if (!counts.interrupted) counts.files++;
        } catch (e) {
          if (e instanceof OutputClosed || e instanceof OutputError) throw e;
          counts.failedFiles++;
          if (e instanceof EvtxError || e instanceof InputError) warn(e.message.includes(f.path) ? e.message : `${f.path}: ${e.message}`);
          else throw e;
        }
        counts.skipped += input.counts().skipped;
        if (counts.interrupted) break;
      }
      if (counts.interrupted) break;
    }
    if (sink instanceof LineStream) await sink.end();
  } catch (e) {
    if (!(e instanceof OutputClosed)) throw e;
    counts.outputClosed = true;
  }
  if (unindexed > 0) {
    warn(`${unindexed} document(s) carry no index (no _index, data_stream.* or Beats agent fields): their bulk action has none; give --index NAME`);
  }
  return counts;
}

function parseProfile(v: string): WindowsProfile {
  if (v === 'integration' || v === 'winlogbeat') return v;
  throw new InvalidArgumentError('expected "integration" or "winlogbeat"');
}

/** Adds the `convert` command to the CLI program. */
export function registerConvert(program: Command): Command {
  return program
    .command('convert')
    .description('convert any input hunt reads (EVTX, Windows XML, NXLog JSON, Winlogbeat documents, NDJSON, .gz, stdin) to ECS NDJSON')
    .argument('<inputs...>', 'files or directories, converted in the order given; "-" for stdin')
    .option('--raw', 'write EVTX and XML events as RawWindowsEvent JSON (System + EventData as Windows renders them), other documents as read')
    .addOption(
      new Option('--profile <profile>', 'ECS shape: integration (Elastic Agent) or winlogbeat (Winlogbeat module)')
        .argParser(parseProfile)
        .default('integration'),
    )
    .option('--namespace <namespace>', 'data stream namespace of the integration indexes', 'default')
    .option('--bulk', 'write Elasticsearch _bulk pairs (create action with the target index, then the document)')
    .option('--index <name>', 'index for documents that carry none (bulk actions)')
    .addOption(hostIpOption('on, except with --raw'))
    .option('--strict', 'stop at the first damaged EVTX chunk or record')
    .option('-o, --out <file>', 'write to FILE instead of stdout')
    .action(async (inputs: string[], o: ConvertOptions & { out?: string }) => {
      // Ctrl-C or kill: conversion stops at its next batch, FILE gets the whole lines converted so
      // far (renamed from FILE.partial), the counts are printed and the exit status is 130 (SIGINT)
      // or 143 (SIGTERM). A second signal ends the process at once.
      const stop = handleInterrupts();
      const interruptedExit = () => {
        process.stderr.write(`interrupted (${interruptName(stop.signal)}): the documents converted until then were written${o.out ? ` to ${o.out}` : ''}; rerun to convert everything\n`);
        // An abandoned read (a quiet stdin) would keep the process alive.
        process.exit(interruptExitCode(stop.signal));
      };
      // -o FILE is created (as FILE.partial) before any input is read, renamed when done.
      let file: NdjsonFile | null = null;
      let counts: ConvertCounts;
      try {
        if (o.out) file = NdjsonFile.open(o.out);
        counts = await convertFiles(inputs, { ...o, signal: stop.signal }, file ?? new LineStream(process.stdout), (m) => process.stderr.write(`warning: ${m}\n`));
      } catch (e) {
        if (!(e instanceof OutputError)) throw e;
        process.stderr.write(`error: ${e.message}\n`);
        if (file) {
          file.close();
          process.stderr.write(`${file.lines} whole line(s) kept in ${o.out}\n`);
        }
        process.exitCode = 2;
        return;
      } finally {
        stop.dispose();
      }
      const failed = file?.close();
      if (failed) {
        process.stderr.write(`error: ${failed.message}\n`);
        process.exitCode = 2;
        return;
      }
      // `convert … | head`: the reader stopped; a count of what was written would mislead.
      if (counts.outputClosed) return;
      process.stderr.write(
        `converted ${counts.converted} document(s) from ${counts.files} input(s)${counts.partial !== null ? `, the last (${counts.partial}) only in part` : ''}; skipped ${counts.skipped}` +
          (counts.failedFiles > 0 ? `; ${counts.failedFiles} input(s) could not be read` : '') +
          '\n',
      );
      if (counts.interrupted) interruptedExit();
      if (counts.failedFiles > 0) process.exitCode = 2;
    });
}
