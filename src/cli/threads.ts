// `--threads N`, shared by the commands that read files (hunt, query).
import { InvalidArgumentError, Option } from 'commander';

export function threadsOption(): Option {
  return new Option(
    '--threads <n>',
    'worker threads that read, map and filter the input files (0: main thread only; default: one per core when two or more files of 8 MiB or more hold 64 MiB together, else 0; at most 8)',
  ).argParser((v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
    return n;
  });
}
