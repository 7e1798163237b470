// `eqlite convert FILE.evtx…`: EVTX records to NDJSON, as ECS documents (default), as ES bulk
// pairs carrying the target index, or as RawWindowsEvent JSON (--raw). Counts go to stderr so
// stdout stays pure NDJSON for piping.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { Command, InvalidArgumentError, Option } from 'commander';
import { readEvtx } from '../evtx/index.js';
import { mapRawWindowsEvent, type WindowsProfile } from '../events/windows/index.js';

export interface ConvertOptions {
  raw?: boolean;
  profile?: WindowsProfile;
  /** Data stream namespace (integration profile). */
  namespace?: string;
  /** Emit Elasticsearch bulk pairs ({"create":{"_index":…}} then the document). */
  bulk?: boolean;
  /** Stop on the first damaged record (reader strict mode). */
  strict?: boolean;
}

export interface ConvertCounts {
  files: number;
  converted: number;
  /** Records the reader skipped (damaged) plus records the mapper could not convert. */
  skipped: number;
  /** Files that could not be read at all. */
  failedFiles: number;
  /** The output was closed early (EPIPE, e.g. piped into `head`); conversion stopped there. */
  outputClosed: boolean;
}

/** Writes a line, honouring backpressure so large files stream in constant memory. */
async function writeLine(out: Writable, line: string): Promise<void> {
  if (!out.write(line + '\n')) await once(out, 'drain');
}

/**
 * Converts the files in order and writes NDJSON to `out`. Problems are reported through `warn`;
 * a file that cannot be opened is counted in failedFiles and the next file is processed.
 */
export async function convertFiles(
  paths: readonly string[],
  opts: ConvertOptions,
  out: Writable,
  warn: (message: string) => void,
): Promise<ConvertCounts> {
  const counts: ConvertCounts = { files: 0, converted: 0, skipped: 0, failedFiles: 0, outputClosed: false };
  for (const path of paths) {
    const reader = readEvtx(path, {
      strict: opts.strict ?? false,
      onWarning: (w) => warn(w.message),
    });
    let mapFailures = 0;
    try {
      for await (const record of reader) {
        let line: string;
        try {
          const raw = record.toRaw();
          if (opts.raw) {
            line = JSON.stringify(raw);
          } else {
            const { source, index } = mapRawWindowsEvent(raw, { profile: opts.profile, namespace: opts.namespace });
            line = opts.bulk ? JSON.stringify({ create: { _index: index } }) + '\n' + JSON.stringify(source) : JSON.stringify(source);
          }
        } catch (e) {
          mapFailures++;
          warn(`${path}: record ${record.recordId} at offset ${record.offset}: ${(e as Error).message}`);
          continue;
        }
        await writeLine(out, line);
        counts.converted++;
      }
      counts.files++;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EPIPE') {
        counts.outputClosed = true;
        break;
      }
      counts.failedFiles++;
      const message = (e as Error).message;
      warn(message.includes(path) ? message : `${path}: ${message}`);
    }
    counts.skipped += reader.stats.recordsSkipped + mapFailures;
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
    .description('convert .evtx files to NDJSON: ECS documents (default) or RawWindowsEvent JSON (--raw)')
    .argument('<files...>', '.evtx files, converted in the order given')
    .option('--raw', 'write RawWindowsEvent JSON (System + EventData as Windows renders them) instead of ECS')
    .addOption(
      new Option('--profile <profile>', 'ECS shape: integration (Elastic Agent) or winlogbeat (Winlogbeat module)')
        .argParser(parseProfile)
        .default('integration'),
    )
    .option('--namespace <namespace>', 'data stream namespace of the integration indexes', 'default')
    .option('--bulk', 'write Elasticsearch _bulk pairs (create action with the target index, then the document)')
    .option('--strict', 'stop at the first damaged chunk or record')
    .option('-o, --out <file>', 'write to FILE instead of stdout')
    .action(async (files: string[], o: ConvertOptions & { out?: string }) => {
      const out: Writable = o.out ? createWriteStream(o.out) : process.stdout;
      // A closed pipe is reported by convertFiles; without a listener Node would throw it again.
      out.on('error', () => {});
      const counts = await convertFiles(files, o, out, (m) => process.stderr.write(`warning: ${m}\n`));
      if (o.out) {
        out.end();
        await once(out, 'finish');
      }
      process.stderr.write(
        `converted ${counts.converted} records from ${counts.files} file(s); skipped ${counts.skipped}` +
          (counts.failedFiles > 0 ? `; ${counts.failedFiles} file(s) could not be read` : '') +
          '\n',
      );
      if (counts.failedFiles > 0) process.exitCode = 1;
    });
}
