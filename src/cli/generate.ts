// `eqlite generate`: writes seeded, realistic Windows telemetry (Elastic Defend, Winlogbeat and
// Elastic Agent shapes mixed across hosts) with planted detections of the seed rule and near-misses.
// The summary goes to stderr; the data goes to --out (gzip when it ends in .gz).
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { SHAPES, writeGenerated, type GenerateResult, type Shape } from '../generate/index.js';
import { UserError } from './errors.js';
import { ioReason, readerGone } from '../util/files.js';

function intArg(min: number): (value: string) => number {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return n;
  };
}

function rateArg(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number > 0');
  return n;
}

interface GenerateCliOptions {
  events: number;
  hosts: number;
  seed: string;
  out: string;
  start?: string;
  rate: number;
  positives: number;
  nearMisses: boolean;
  detail: 'full' | 'lean';
  shapes?: Shape[];
}

function shapesArg(value: string): Shape[] {
  const list = value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const bad = list.filter((s) => !(SHAPES as readonly string[]).includes(s));
  if (list.length === 0 || bad.length > 0) throw new InvalidArgumentError(`expected a comma-separated list of ${SHAPES.join(', ')}`);
  return list as Shape[];
}

/** The stderr summary: totals, then planted positives and near-misses per shape. */
export function formatSummary(out: string, r: GenerateResult, ms: number): string {
  const lines = [
    `eqlite generate: ${r.events} events, ${r.bytes} bytes${r.bytes !== r.ndjsonBytes ? ` (${r.ndjsonBytes} uncompressed)` : ''} to ${out} in ${(ms / 1000).toFixed(2)} s`,
  ];
  for (const shape of SHAPES) {
    lines.push(`  ${shape.padEnd(10)} planted positives: ${r.planted.positives[shape]}, near-misses: ${r.planted.nearMisses[shape]}`);
  }
  return lines.join('\n') + '\n';
}

/** Why OUT cannot be written (a missing directory, a directory), or null. */
function outputProblem(out: string): string | null {
  if (!existsSync(path.dirname(path.resolve(out)))) return `directory ${path.dirname(out)} does not exist`;
  try {
    if (statSync(out).isDirectory()) return 'is a directory';
  } catch {
    // no such file yet: it is created
  }
  return null;
}

/** `--start`: refused as a usage error (with --help's pointer), as the other options' bad values are. */
function startArg(v: string): string {
  if (!Number.isFinite(Date.parse(v))) throw new InvalidArgumentError('expected an ISO 8601 time such as 2025-03-10T08:00:00Z');
  return v;
}

/** Adds the `generate` command to the CLI program. */
export function registerGenerate(program: Command): Command {
  return program
    .command('generate')
    .description('write realistic, seeded Windows ECS telemetry (NDJSON) with planted seed-rule attacks and near-misses')
    .option('--events <n>', 'total number of events', intArg(0), 10_000)
    .option('--hosts <n>', 'number of hosts (shapes rotate Defend, Winlogbeat, Agent)', intArg(1), 20)
    .option('--seed <seed>', 'PRNG seed; the same seed gives identical output', '1')
    .requiredOption('--out <file>', 'output file (.ndjson, or .gz for gzip)')
    .option('--start <time>', 'start of the time window (ISO 8601; default 2025-03-10T08:00:00Z)', startArg)
    .option('--rate <n>', 'background activities per host per second', rateArg, 0.5)
    .option('--positives <n>', 'planted true positives of the seed rule per shape', intArg(0), 3)
    .option('--no-near-misses', 'do not plant the near-miss scenarios')
    .option('--shapes <list>', 'producers to simulate, e.g. defend,agent for Elastic Agent data only (default: defend,winlogbeat,agent)', shapesArg)
    .addOption(new Option('--detail <level>', 'full documents, or lean ones for small fixtures').choices(['full', 'lean']).default('full'))
    .action(async (o: GenerateCliOptions) => {
      // The output is checked before anything is generated, with hunt's and convert's words.
      const problem = outputProblem(o.out);
      if (problem !== null) {
        process.stderr.write(`error: cannot write ${o.out}: ${problem}\n`);
        process.exitCode = 2;
        return;
      }
      const began = Date.now();
      let result: GenerateResult;
      try {
        result = await writeGenerated({
          out: o.out,
          events: o.events,
          hosts: o.hosts,
          // A purely numeric seed is used as a number so `--seed 7` equals generateEvents({ seed: 7 }).
          seed: /^\d+$/.test(o.seed) ? Number(o.seed) : o.seed,
          start: o.start,
          activityRate: o.rate,
          positivesPerShape: o.positives,
          nearMisses: o.nearMisses,
          detail: o.detail,
          shapes: o.shapes,
        });
      } catch (err) {
        if (err instanceof RangeError) throw new UserError(err.message, 2);
        const code = (err as NodeJS.ErrnoException).code;
        // `generate --out /dev/stdout | head`: the reader has what it wanted; end quietly.
        if (readerGone(err)) return;
        if (code) {
          process.stderr.write(`error: cannot write ${o.out}: ${ioReason(err)}\n`);
          process.exitCode = 2;
          return;
        }
        throw err;
      }
      process.stderr.write(formatSummary(o.out, result, Date.now() - began));
    });
}
